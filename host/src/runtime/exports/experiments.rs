//! `experiments`: GrowthBook-compatible assignment and the analysis of results, as the policy
//! decides them.

use super::super::Policy;
use super::super::bindings::wit::experiments as wit;
use crate::types::error::Error;
use crate::types::experiments::{
    Analysis, Arm, Assignment, Correction, Definition, Metric, Namespace,
};

/// Most units one `experiments.assign` call of [`Policy::assign_many`] is asked about.
pub const ASSIGN_PER_CALL: usize = 1024;

impl Policy {
    /// Checks a definition against every rule of the policy.
    pub fn check_experiment(&self, definition: &Definition) -> Result<(), Error> {
        let definition = wit::Definition::from(definition);
        self.call("experiments.check", |exports, store| {
            exports
                .experiments(&mut *store)?
                .call_check(store, &definition)
        })?
        .map_err(|error| Error::App(error.into()))
    }

    /// The variation of `unit` at `now_ms` (milliseconds since the epoch).
    pub fn assign(
        &self,
        definition: &Definition,
        unit: &str,
        now_ms: i64,
    ) -> Result<Assignment, Error> {
        let wit_definition = wit::Definition::from(definition);
        let assignment = self
            .call("experiments.assign", |exports, store| {
                exports
                    .experiments(&mut *store)?
                    .call_assign(store, &wit_definition, unit, now_ms)
            })?
            .map_err(|error| Error::App(error.into()))?;
        Ok(Assignment {
            test_id: definition.test_id.clone(),
            unit: unit.to_string(),
            variation: assignment.variation,
            version: assignment.version,
            in_experiment: assignment.in_experiment,
            bucket: assignment.bucket,
            reason: assignment.reason.into(),
        })
    }

    /// The variation of each of `units` at `now_ms`, in their order: the definition converted
    /// once, `assign` asked per unit in calls of at most [`ASSIGN_PER_CALL`] units (each call
    /// with its own deadline, so a large batch on a busy machine is not cut short).
    pub fn assign_many<S: AsRef<str>>(
        &self,
        definition: &Definition,
        units: &[S],
        now_ms: i64,
    ) -> Result<Vec<Assignment>, Error> {
        let wit_definition = wit::Definition::from(definition);
        let mut assignments = Vec::with_capacity(units.len());
        for chunk in units.chunks(ASSIGN_PER_CALL) {
            let answers = self.call("experiments.assign", |exports, store| {
                let experiments = exports.experiments(&mut *store)?;
                chunk
                    .iter()
                    .map(|unit| {
                        experiments.call_assign(&mut *store, &wit_definition, unit.as_ref(), now_ms)
                    })
                    .collect::<wasmtime::Result<Vec<_>>>()
            })?;
            for (unit, answer) in chunk.iter().zip(answers) {
                let assignment = answer.map_err(|error| Error::App(error.into()))?;
                assignments.push(Assignment {
                    test_id: definition.test_id.clone(),
                    unit: unit.as_ref().to_string(),
                    variation: assignment.variation,
                    version: assignment.version,
                    in_experiment: assignment.in_experiment,
                    bucket: assignment.bucket,
                    reason: assignment.reason.into(),
                });
            }
        }
        Ok(assignments)
    }

    /// The metrics experiments can be judged on.
    pub fn experiment_metrics(&self) -> Result<Vec<Metric>, Error> {
        let metrics = self.call("experiments.metrics", |exports, store| {
            exports.experiments(&mut *store)?.call_metrics(store)
        })?;
        Ok(metrics.into_iter().map(Into::into).collect())
    }

    /// Analyzes an experiment from its per-variation sums.
    pub fn analyze(
        &self,
        definition: &Definition,
        arms: &[Arm],
        multi_exposed: u64,
        correction: Correction,
    ) -> Result<Analysis, Error> {
        let input = wit::AnalysisInput {
            definition: definition.into(),
            arms: arms.iter().map(Into::into).collect(),
            multi_exposed,
            correction: correction.into(),
        };
        let analysis = self
            .call("experiments.analyze", |exports, store| {
                exports
                    .experiments(&mut *store)?
                    .call_analyze(store, &input)
            })?
            .map_err(|error| Error::App(error.into()))?;
        Ok(analysis.into())
    }

    /// GrowthBook's hash of `value` under `seed` (`None` for an unknown version).
    pub fn experiment_hash(
        &self,
        seed: &str,
        value: &str,
        version: u32,
    ) -> Result<Option<f64>, Error> {
        self.call("experiments.hash", |exports, store| {
            exports
                .experiments(&mut *store)?
                .call_hash(store, seed, value, version)
        })
    }

    /// `count` equal weights.
    pub fn equal_weights(&self, count: i32) -> Result<Vec<f64>, Error> {
        self.call("experiments.equal-weights", |exports, store| {
            exports
                .experiments(&mut *store)?
                .call_equal_weights(store, count)
        })
    }

    /// GrowthBook's bucket ranges.
    pub fn bucket_ranges(
        &self,
        count: i32,
        coverage: f64,
        weights: Option<&[f64]>,
    ) -> Result<Vec<(f64, f64)>, Error> {
        self.call("experiments.bucket-ranges", |exports, store| {
            exports
                .experiments(&mut *store)?
                .call_bucket_ranges(store, count, coverage, weights)
        })
    }

    /// The variation whose range holds `n`, or −1.
    pub fn choose_variation(&self, n: f64, ranges: &[(f64, f64)]) -> Result<i32, Error> {
        self.call("experiments.choose-variation", |exports, store| {
            exports
                .experiments(&mut *store)?
                .call_choose_variation(store, n, ranges)
        })
    }

    /// Whether `unit` falls in the namespace's slice.
    pub fn in_namespace(&self, unit: &str, namespace: &Namespace) -> Result<bool, Error> {
        let namespace = wit::Namespace::from(namespace);
        self.call("experiments.in-namespace", |exports, store| {
            exports
                .experiments(&mut *store)?
                .call_in_namespace(store, unit, &namespace)
        })
    }

    /// The sample-ratio p-value of `units` against `weights`.
    pub fn sample_ratio_p(&self, units: &[u64], weights: &[f64]) -> Result<Option<f64>, Error> {
        self.call("experiments.sample-ratio-p", |exports, store| {
            exports
                .experiments(&mut *store)?
                .call_sample_ratio_p(store, units, weights)
        })
    }

    /// `p_values` adjusted by `correction`.
    pub fn adjust(&self, p_values: &[f64], correction: Correction) -> Result<Vec<f64>, Error> {
        self.call("experiments.adjust", |exports, store| {
            exports
                .experiments(&mut *store)?
                .call_adjust(store, p_values, correction.into())
        })
    }
}
