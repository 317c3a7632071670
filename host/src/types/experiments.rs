//! A/B experiments as plain data: a definition as its owner writes it, an assignment, the sums
//! the host aggregates for the analysis, and the analysis the policy answers with
//! (`wit/experiments.wit`).

use std::collections::BTreeMap;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::dates::{end_date, start_date};
use super::error::AppError;
use super::monitor::invalid;

/// The default minimum sample size per variation.
pub const DEFAULT_MINIMUM_SAMPLE_SIZE: u64 = 150;
/// The default hash version (GrowthBook's current one).
pub const DEFAULT_HASH_VERSION: u32 = 2;
pub use super::units::{MAX_ASSIGN_BATCH, MAX_UNIT_CHARS, check_unit, check_units};

/// A slice `[start, end)` of namespace `id`, written `["id", start, end]` as GrowthBook does.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(from = "(String, f64, f64)", into = "(String, f64, f64)")]
pub struct Namespace {
    /// The namespace.
    pub id: String,
    /// The slice's start, in [0, 1].
    pub start: f64,
    /// The slice's end, in (start, 1].
    pub end: f64,
}

impl From<(String, f64, f64)> for Namespace {
    fn from((id, start, end): (String, f64, f64)) -> Self {
        Self { id, start, end }
    }
}

impl From<Namespace> for (String, f64, f64) {
    fn from(namespace: Namespace) -> Self {
        (namespace.id, namespace.start, namespace.end)
    }
}

/// The p-value adjustment across an analysis's comparisons.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Correction {
    /// None (the default).
    #[default]
    None,
    /// Holm–Bonferroni: the family-wise error rate.
    HolmBonferroni,
    /// Benjamini–Hochberg: the false discovery rate.
    BenjaminiHochberg,
}

impl Correction {
    /// The accepted spellings.
    pub const EXPECTED: &str = "none, holm_bonferroni or benjamini_hochberg";

    /// The name, as JSON spells it.
    pub fn name(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::HolmBonferroni => "holm_bonferroni",
            Self::BenjaminiHochberg => "benjamini_hochberg",
        }
    }
}

impl FromStr for Correction {
    type Err = String;

    /// `none`, `holm_bonferroni` or `benjamini_hochberg` (`-` for `_` and any case accepted).
    fn from_str(text: &str) -> Result<Self, String> {
        match text.trim().to_ascii_lowercase().replace('-', "_").as_str() {
            "none" | "off" => Ok(Self::None),
            "holm_bonferroni" | "holm" => Ok(Self::HolmBonferroni),
            "benjamini_hochberg" | "bh" => Ok(Self::BenjaminiHochberg),
            _ => Err(format!("expected {}", Self::EXPECTED)),
        }
    }
}

fn full_coverage() -> f64 {
    1.0
}

fn default_minimum() -> u64 {
    DEFAULT_MINIMUM_SAMPLE_SIZE
}

fn default_hash_version() -> u32 {
    DEFAULT_HASH_VERSION
}

/// An experiment's definition (JSON field names as written here).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Definition {
    /// The key.
    pub test_id: String,
    /// A name for people.
    pub test_name: String,
    /// Units are assigned from then on (`YYYY-MM-DD`: that day's start, UTC).
    #[serde(deserialize_with = "start_date")]
    pub start_date: DateTime<Utc>,
    /// ... and before then (`YYYY-MM-DD`: through that day, UTC).
    #[serde(deserialize_with = "end_date")]
    pub end_date: DateTime<Utc>,
    /// The versions compared; the first is the control.
    pub algorithm_versions: Vec<String>,
    /// Version → weight (≥ 0, summing to 1 ± 0.01).
    pub traffic_split: BTreeMap<String, f64>,
    /// The share of units in the experiment (default 1).
    #[serde(default = "full_coverage")]
    pub coverage: f64,
    /// The hash seed (default: the key).
    #[serde(default)]
    pub seed: Option<String>,
    /// GrowthBook's hash version, 1 or 2 (default 2).
    #[serde(default = "default_hash_version")]
    pub hash_version: u32,
    /// Metric names (see `Policy::experiment_metrics`).
    pub success_metrics: Vec<String>,
    /// Units per variation before a verdict (default 150).
    #[serde(default = "default_minimum")]
    pub minimum_sample_size: u64,
    /// Mutual exclusion: `["namespace", start, end]`.
    #[serde(default)]
    pub namespace: Option<Namespace>,
    /// Always-valid (sequential) inference.
    #[serde(default)]
    pub sequential: bool,
    /// The p-value adjustment across metrics × variations (default none).
    #[serde(default)]
    pub correction: Correction,
}

impl Definition {
    /// A definition from JSON; an error names the field at fault (`body` for the whole).
    pub fn from_json(text: &str) -> Result<Self, AppError> {
        // A definition is an object: serde would also read its fields from an array.
        if !text.trim_start().starts_with('{') {
            return Err(invalid(
                "body",
                None,
                "an experiment definition must be a JSON object",
            ));
        }
        let mut deserializer = serde_json::Deserializer::from_str(text);
        let definition = serde_path_to_error::deserialize(&mut deserializer).map_err(|error| {
            let path = error.path().to_string();
            let field = if path == "." {
                "body".to_string()
            } else {
                path
            };
            invalid(&field, None, format!("{field}: {}", error.inner()))
        })?;
        // Text after the definition (a second one) is refused, not ignored.
        deserializer.end().map_err(|error| {
            invalid(
                "body",
                None,
                format!("body: text follows the definition: {error}"),
            )
        })?;
        Ok(definition)
    }

    /// The seed the hash uses: the given one, or the key.
    pub fn seed(&self) -> &str {
        self.seed.as_deref().unwrap_or(&self.test_id)
    }

    /// The weights in the order of the versions (0 for a version the split leaves out).
    pub fn weights(&self) -> Vec<f64> {
        self.algorithm_versions
            .iter()
            .map(|version| self.traffic_split.get(version).copied().unwrap_or(0.0))
            .collect()
    }
}

/// Why a unit got its variation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AssignmentReason {
    /// In the experiment.
    Assigned,
    /// No unit id.
    NoUnit,
    /// Before the start.
    NotStarted,
    /// After the end.
    Ended,
    /// Outside the namespace slice.
    NotInNamespace,
    /// Outside the coverage.
    NotInCoverage,
}

impl AssignmentReason {
    /// The name, as JSON spells it.
    pub fn name(self) -> &'static str {
        match self {
            Self::Assigned => "assigned",
            Self::NoUnit => "no_unit",
            Self::NotStarted => "not_started",
            Self::Ended => "ended",
            Self::NotInNamespace => "not_in_namespace",
            Self::NotInCoverage => "not_in_coverage",
        }
    }
}

/// The variation a unit is served.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Assignment {
    /// The experiment.
    pub test_id: String,
    /// The unit.
    pub unit: String,
    /// Index into the versions (0 when not in the experiment).
    pub variation: u32,
    /// The algorithm version served.
    pub version: String,
    /// Whether the unit is counted (its exposure logged).
    pub in_experiment: bool,
    /// Its hash, when computed.
    pub bucket: Option<f64>,
    /// Why.
    pub reason: AssignmentReason,
}

/// A per-unit quantity summed from the monitor's events.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Quantity {
    /// Decisions.
    Decisions,
    /// Their processing times, in milliseconds.
    ProcessingMs,
    /// Likes.
    Likes,
    /// Dislikes.
    Dislikes,
    /// Skips.
    Skips,
    /// Uses.
    Uses,
    /// Ratings with a value.
    Ratings,
    /// The sum of their values.
    RatingSum,
    /// Likes + uses + Σ (rating − 1)/4.
    Satisfied,
    /// Likes + uses + dislikes + skips + ratings.
    Judged,
}

/// A metric an experiment can be judged on.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Metric {
    /// Its name.
    pub name: String,
    /// What it measures.
    pub description: String,
    /// Summed on top.
    pub numerator: Quantity,
    /// Summed below (ratio metrics).
    pub denominator: Option<Quantity>,
    /// Whether larger is better.
    pub higher_is_better: bool,
}

/// Σx and Σx² over units.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Sums {
    /// Σx.
    pub sum: f64,
    /// Σx².
    pub sum_squares: f64,
}

/// One metric's sums over one variation's units.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MetricSums {
    /// Of the numerator.
    pub numerator: Sums,
    /// Of the denominator (ratio metrics).
    pub denominator: Option<Sums>,
    /// Σ numerator × denominator.
    pub sum_products: f64,
}

/// One variation's data.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Arm {
    /// Units exposed to it only.
    pub units: u64,
    /// Per success metric, in the definition's order.
    pub metrics: Vec<MetricSums>,
}

/// An effect and its uncertainty.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Estimate {
    /// The effect.
    pub effect: f64,
    /// Its standard error.
    pub standard_error: f64,
    /// 95 % interval, lower bound.
    pub ci_lower: f64,
    /// 95 % interval, upper bound.
    pub ci_upper: f64,
    /// Two-sided p-value.
    pub p_value: f64,
    /// Welch–Satterthwaite degrees of freedom.
    pub degrees_of_freedom: f64,
}

/// The flat-prior Bayesian summary of the relative effect.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Bayesian {
    /// Probability the variation beats the control.
    pub chance_to_win: f64,
    /// 95 % credible interval, lower bound.
    pub ci_lower: f64,
    /// 95 % credible interval, upper bound.
    pub ci_upper: f64,
}

/// A comparison's outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Significantly better.
    Better,
    /// Significantly worse.
    Worse,
    /// Neither.
    Inconclusive,
}

/// One variation against the control on one metric.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Comparison {
    /// The metric.
    pub metric: String,
    /// The variation's version.
    pub version: String,
    /// The control's value.
    pub control_mean: f64,
    /// The variation's value.
    pub mean: f64,
    /// Absolute effect.
    pub absolute: Option<Estimate>,
    /// Relative effect.
    pub relative: Option<Estimate>,
    /// Bayesian summary.
    pub bayesian: Option<Bayesian>,
    /// The p-value the outcome reads (the relative effect's, else the absolute one's), after
    /// the correction.
    pub adjusted_p_value: Option<f64>,
    /// The outcome.
    pub outcome: Outcome,
    /// Why an effect is missing.
    pub problem: Option<String>,
}

/// One variation's traffic.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ArmSummary {
    /// The version.
    pub version: String,
    /// Units.
    pub units: u64,
    /// Share of the units.
    pub observed_share: f64,
    /// Share in the split.
    pub expected_share: f64,
}

/// The sample-ratio check.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct SampleRatio {
    /// Whether every variation has 8 units or more.
    pub enough_traffic: bool,
    /// The chi-square p-value.
    pub p_value: Option<f64>,
    /// p < 0.001.
    pub mismatch: bool,
}

/// The kind of verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum VerdictKind {
    /// Below the minimum sample size.
    NotEnoughData,
    /// The split is broken.
    SampleRatioMismatch,
    /// Nothing significant.
    NoSignificantDifference,
    /// Wins, no losses.
    Wins,
    /// Losses, no wins.
    Loses,
    /// Both.
    Mixed,
}

/// The verdict.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Verdict {
    /// Its kind.
    pub kind: VerdictKind,
    /// One line.
    pub headline: String,
    /// The numbers behind it.
    pub reasons: Vec<String>,
}

/// An experiment's results.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Analysis {
    /// The experiment.
    pub test_id: String,
    /// Whether intervals are confidence sequences.
    pub sequential: bool,
    /// The p-value adjustment.
    pub correction: Correction,
    /// Per variation.
    pub arms: Vec<ArmSummary>,
    /// Units exposed to more than one variation (left out).
    pub multi_exposed: u64,
    /// The sample-ratio check.
    pub sample_ratio: SampleRatio,
    /// Every metric × variation.
    pub comparisons: Vec<Comparison>,
    /// The verdict.
    pub verdict: Verdict,
}

/// An experiment's part of a report: its analysis, or why it could not be computed (one
/// experiment never fails a whole report).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum ReportedExperiment {
    /// The analysis.
    Analyzed(Analysis),
    /// The analysis failed.
    Failed {
        /// The experiment.
        test_id: String,
        /// `could not be computed: <why>`.
        error: String,
    },
}

impl ReportedExperiment {
    /// The experiment's id.
    pub fn test_id(&self) -> &str {
        match self {
            Self::Analyzed(analysis) => &analysis.test_id,
            Self::Failed { test_id, .. } => test_id,
        }
    }
}

/// A stored experiment.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Experiment {
    /// Its definition.
    #[serde(flatten)]
    pub definition: Definition,
    /// When it was first stored.
    pub created_at: DateTime<Utc>,
    /// When its definition last changed.
    pub updated_at: DateTime<Utc>,
}
