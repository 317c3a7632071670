//! A/B experiments on the recommender, stored beside the monitor's events: definitions checked
//! by the policy, GrowthBook-compatible assignment with each unit's exposure logged once, and
//! the analysis the policy computes from sums aggregated in SQL.
//!
//! ```no_run
//! # fn main() -> Result<(), bachata_common::Error> {
//! use std::sync::Arc;
//! use bachata_common::config::{Database, MonitorSettings};
//! use bachata_common::experiments::{Definition, Experiments};
//! use bachata_common::monitor::Monitor;
//! use bachata_common::Policy;
//!
//! let policy = Policy::embedded()?;
//! let monitor = Arc::new(Monitor::open(&MonitorSettings {
//!     database: Database::new("data/monitor.sqlite3"),
//!     retention_days: 90,
//! })?);
//! let experiments = Experiments::new(monitor);
//! let definition: Definition = serde_json::from_str(r#"{
//!     "test_id": "ranker-v2", "test_name": "New ranker",
//!     "start_date": "2026-12-01", "end_date": "2026-12-31",
//!     "algorithm_versions": ["1.0", "2.0"], "traffic_split": {"1.0": 0.5, "2.0": 0.5},
//!     "success_metrics": ["like_rate", "user_satisfaction"]
//! }"#).expect("a definition");
//! experiments.create(&policy, definition)?;
//! let assignment = experiments.assign(&policy, "ranker-v2", "user-42")?;
//! println!("serve algorithm {}", assignment.version);
//! let analysis = experiments.analyze(&policy, "ranker-v2", None)?;
//! println!("{}", analysis.verdict.headline);
//! # Ok(()) }
//! ```

use std::sync::Arc;

use chrono::{DateTime, TimeZone, Utc};

use super::monitor::{Monitor, Report};
use crate::capabilities::store::StoreError;
use crate::capabilities::store::experiments::{self as stored, StoredDefinition};
use crate::capabilities::store::sql::Tx;
use crate::runtime::Policy;
use crate::types::error::{AppError, Error};
use crate::types::experiments::{
    Analysis, Assignment, Correction, Definition, Experiment, ReportedExperiment, check_unit,
    check_units,
};
use crate::types::monitor::invalid;

/// The most experiments one report analyzes (the most recently started); the others are
/// counted in `experiments_omitted` (each has its own analysis endpoint).
pub const MAX_REPORTED: usize = 50;

/// Experiments in the monitor's store.
#[derive(Debug, Clone)]
pub struct Experiments {
    monitor: Arc<Monitor>,
}

fn time(ms: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(ms).single().unwrap_or_default()
}

/// A stored definition back as an experiment.
fn experiment(stored: StoredDefinition) -> Result<Experiment, StoreError> {
    let definition: Definition = serde_json::from_str(&stored.json).map_err(|error| {
        StoreError::Database(format!(
            "a stored experiment definition is unreadable: {error}"
        ))
    })?;
    Ok(Experiment {
        definition,
        created_at: time(stored.created_at_ms),
        updated_at: time(stored.updated_at_ms),
    })
}

fn unknown(test_id: &str) -> StoreError {
    StoreError::NotFound(invalid(
        "test_id",
        Some(test_id.to_string()),
        format!("there is no experiment {test_id:?}"),
    ))
}

/// Times an assignment is tried when the definition changes under it.
const ASSIGN_ATTEMPTS: usize = 3;

fn load(tx: &mut dyn Tx, test_id: &str) -> Result<Experiment, StoreError> {
    experiment(stored::get(tx, test_id)?.ok_or_else(|| unknown(test_id))?)
}

fn to_json(definition: &Definition) -> Result<String, Error> {
    serde_json::to_string(definition).map_err(|error| {
        Error::App(AppError::Generation {
            message: format!("the definition could not be written as JSON: {error}"),
            details: Vec::new(),
        })
    })
}

impl Experiments {
    /// Experiments stored beside `monitor`'s events.
    pub fn new(monitor: Arc<Monitor>) -> Self {
        Self { monitor }
    }

    /// The definition as stored: checked by the policy, the seed made explicit.
    fn prepare(policy: &Policy, mut definition: Definition) -> Result<(Definition, String), Error> {
        if definition.seed.is_none() {
            definition.seed = Some(definition.test_id.clone());
        }
        // The policy refuses this too; here the message can show the dates.
        if definition.end_date <= definition.start_date {
            return Err(invalid(
                "end_date",
                Some(definition.end_date.to_rfc3339()),
                format!(
                    "end_date ({}) must be after start_date ({})",
                    definition.end_date.to_rfc3339(),
                    definition.start_date.to_rfc3339()
                ),
            )
            .into());
        }
        policy.check_experiment(&definition)?;
        let json = to_json(&definition)?;
        Ok((definition, json))
    }

    /// Stores a new experiment. Creating one again with the same definition changes nothing;
    /// with another definition it is an error (see [`Experiments::replace`]).
    pub fn create(&self, policy: &Policy, definition: Definition) -> Result<Experiment, Error> {
        self.create_reporting(policy, definition)
            .map(|(experiment, _)| experiment)
    }

    /// [`Experiments::create`], saying whether this call stored it (`true`) or found it
    /// stored already (`false`): of concurrent identical creations, exactly one says `true`.
    pub fn create_reporting(
        &self,
        policy: &Policy,
        definition: Definition,
    ) -> Result<(Experiment, bool), Error> {
        let (definition, json) = Self::prepare(policy, definition)?;
        let now = Utc::now().timestamp_millis();
        self.monitor.write(|tx| {
            if let Some(existing) = stored::get(tx, &definition.test_id)? {
                let existing = experiment(existing)?;
                if existing.definition == definition {
                    return Ok((existing, false));
                }
                return Err(StoreError::Conflict(invalid(
                    "test_id",
                    Some(definition.test_id.clone()),
                    format!(
                        "experiment {:?} exists with another definition: replace it explicitly",
                        definition.test_id
                    ),
                )));
            }
            stored::insert(tx, &definition.test_id, &json, now)?;
            tracing::info!(test_id = %definition.test_id, "experiment created");
            Ok((load(tx, &definition.test_id)?, true))
        })
    }

    /// Replaces an experiment's definition (its exposures stay: units whose variation changes
    /// are then exposed to two and left out of the analysis). Once units are exposed, the
    /// versions and their order cannot change.
    pub fn replace(&self, policy: &Policy, definition: Definition) -> Result<Experiment, Error> {
        let (definition, json) = Self::prepare(policy, definition)?;
        let now = Utc::now().timestamp_millis();
        self.monitor.write(|tx| {
            let existing = load(tx, &definition.test_id)?;
            // Exposures name variations by their place in the list: once units are exposed,
            // the versions and their order stay.
            if existing.definition.algorithm_versions != definition.algorithm_versions
                && stored::has_exposures(tx, &definition.test_id)?
            {
                return Err(StoreError::Invalid(invalid(
                    "algorithm_versions",
                    Some(definition.algorithm_versions.join(", ")),
                    format!(
                        "experiment {:?} has exposures: its versions cannot change (they are {}); \
                         define a new experiment",
                        definition.test_id,
                        existing.definition.algorithm_versions.join(", ")
                    ),
                )));
            }
            stored::update(tx, &definition.test_id, &json, now)?;
            tracing::info!(test_id = %definition.test_id, "experiment replaced");
            load(tx, &definition.test_id)
        })
    }

    /// Every experiment, by key.
    pub fn list(&self) -> Result<Vec<Experiment>, Error> {
        self.monitor
            .read(|tx| stored::list(tx)?.into_iter().map(experiment).collect())
    }

    /// One experiment.
    pub fn get(&self, test_id: &str) -> Result<Experiment, Error> {
        self.monitor.read(|tx| load(tx, test_id))
    }

    /// The variation `unit` is served now; its exposure is logged the first time.
    pub fn assign(&self, policy: &Policy, test_id: &str, unit: &str) -> Result<Assignment, Error> {
        self.assign_at(policy, test_id, unit, Utc::now())
    }

    /// [`Experiments::assign`] at `now`.
    pub fn assign_at(
        &self,
        policy: &Policy,
        test_id: &str,
        unit: &str,
        now: DateTime<Utc>,
    ) -> Result<Assignment, Error> {
        check_unit(unit)?;
        let mut assignments = self.assign_checked(policy, test_id, &[unit], now)?;
        Ok(assignments.remove(0))
    }

    /// The variation each of `units` is served, in their order: the definition read once,
    /// the policy asked per unit, and the exposures of the units in the experiment logged
    /// (each unit's first) in one transaction. A unit at fault ([`check_units`]: 1 to
    /// [`crate::experiments::MAX_ASSIGN_BATCH`] units) refuses the whole batch before anything
    /// is logged.
    pub fn assign_many<S: AsRef<str>>(
        &self,
        policy: &Policy,
        test_id: &str,
        units: &[S],
    ) -> Result<Vec<Assignment>, Error> {
        self.assign_many_at(policy, test_id, units, Utc::now())
    }

    /// [`Experiments::assign_many`] at `now`.
    pub fn assign_many_at<S: AsRef<str>>(
        &self,
        policy: &Policy,
        test_id: &str,
        units: &[S],
        now: DateTime<Utc>,
    ) -> Result<Vec<Assignment>, Error> {
        check_units(units)?;
        self.assign_checked(policy, test_id, units, now)
    }

    /// Reads the definition, asks the policy, and logs the exposures in a transaction that
    /// first checks the definition is still the one the policy was asked about: a definition
    /// replaced meanwhile (its versions reordered, say) would give the stored variation indices
    /// another meaning, so the batch is assigned again under the new one (up to
    /// [`ASSIGN_ATTEMPTS`] times, then a conflict).
    fn assign_checked<S: AsRef<str>>(
        &self,
        policy: &Policy,
        test_id: &str,
        units: &[S],
        now: DateTime<Utc>,
    ) -> Result<Vec<Assignment>, Error> {
        let now_ms = now.timestamp_millis();
        for _ in 0..ASSIGN_ATTEMPTS {
            let experiment = self.get(test_id)?;
            let assignments = policy.assign_many(&experiment.definition, units, now_ms)?;
            let mut exposed: Vec<(&str, u32)> = units
                .iter()
                .zip(&assignments)
                .filter(|(_, assignment)| assignment.in_experiment)
                .map(|(unit, assignment)| (unit.as_ref(), assignment.variation))
                .collect();
            if exposed.is_empty() {
                return Ok(assignments);
            }
            // One order for every writer: concurrent batches lock rows in the same order.
            exposed.sort_unstable();
            let logged = self.monitor.write(|tx| {
                if load(tx, test_id)? != experiment {
                    return Ok(None);
                }
                stored::expose(tx, test_id, &exposed, now_ms).map(Some)
            })?;
            if let Some(first) = logged {
                if first > 0 {
                    tracing::debug!(test_id, exposures = first, "exposures logged");
                }
                return Ok(assignments);
            }
            tracing::debug!(
                test_id,
                "the definition changed during an assignment; again"
            );
        }
        Err(Error::Conflict(invalid(
            "test_id",
            Some(test_id.to_string()),
            format!(
                "the definition of experiment {test_id:?} changed during each of \
                 {ASSIGN_ATTEMPTS} attempts to assign; try again"
            ),
        )))
    }

    /// The analysis of an experiment from its exposures and the monitor's events, its
    /// p-values adjusted by `correction` (default: the definition's).
    pub fn analyze(
        &self,
        policy: &Policy,
        test_id: &str,
        correction: Option<Correction>,
    ) -> Result<Analysis, Error> {
        let metrics = policy.experiment_metrics()?;
        let (experiment, arms, multi_exposed) = self.monitor.read(|tx| {
            let experiment = load(tx, test_id)?;
            let d = &experiment.definition;
            let pairs = d
                .success_metrics
                .iter()
                .map(|name| {
                    metrics
                        .iter()
                        .find(|metric| &metric.name == name)
                        .map(|metric| (metric.numerator, metric.denominator))
                        .ok_or_else(|| {
                            StoreError::Invalid(invalid(
                                "success_metrics",
                                Some(name.clone()),
                                format!("the policy knows no metric {name:?}"),
                            ))
                        })
                })
                .collect::<Result<Vec<_>, _>>()?;
            let arms = stored::arms(
                tx,
                test_id,
                d.end_date.timestamp_millis(),
                d.algorithm_versions.len(),
                &pairs,
            )?;
            let multi = stored::multi_exposed(tx, test_id)?;
            Ok((experiment, arms, multi))
        })?;
        let correction = correction.unwrap_or(experiment.definition.correction);
        policy.analyze(&experiment.definition, &arms, multi_exposed, correction)
    }

    /// The monitor's report of the last `days` UTC days, with the analysis of every
    /// experiment that ran in them (started, and not ended before the period).
    pub fn report(&self, policy: &Policy, days: u32) -> Result<Report, Error> {
        let now = Utc::now();
        let mut report = self.monitor.report_at(policy, days, now)?;
        let since = now - chrono::Duration::days(i64::from(days));
        let mut running: Vec<Experiment> = self
            .list()?
            .into_iter()
            .filter(|e| e.definition.start_date <= now && e.definition.end_date >= since)
            .collect();
        // The most recently started first; a report shows a bounded number.
        running.sort_by(|a, b| {
            (b.definition.start_date, &a.definition.test_id)
                .cmp(&(a.definition.start_date, &b.definition.test_id))
        });
        report.experiments_omitted = running.len().saturating_sub(MAX_REPORTED) as u64;
        for experiment in running.iter().take(MAX_REPORTED) {
            let d = &experiment.definition;
            let section = match self.analyze(policy, &d.test_id, None) {
                Ok(analysis) => ReportedExperiment::Analyzed(analysis),
                Err(error) => {
                    tracing::warn!(test_id = %d.test_id, %error, "an experiment of the report could not be analyzed");
                    ReportedExperiment::Failed {
                        test_id: d.test_id.clone(),
                        error: format!("could not be computed: {error}"),
                    }
                }
            };
            report.experiments.push(section);
        }
        Ok(report)
    }
}
