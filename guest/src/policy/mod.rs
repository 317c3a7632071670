//! The component's exports, and the kit for writing another policy.
//!
//! [`Policy`] has one method per exported function, each defaulting to the stock decision;
//! [`export_policy!`](crate::export_policy) exports a type implementing it as the component.
//! The stock component is `export_policy!(Stock)`; a policy that only changes cache eviction
//! overrides [`Policy::cleanup_run`] and keeps everything else:
//!
//! ```ignore
//! use bachata_common_policy::cleanup;
//! use bachata_common_policy::policy::{HostFs, Policy};
//! use bachata_common_policy::types::{AppError, CleanupReport, CleanupSettings, Entry, RunOptions};
//!
//! struct LargestFirst;
//!
//! impl Policy for LargestFirst {
//!     fn cleanup_run(s: CleanupSettings, options: RunOptions)
//!         -> Result<CleanupReport, AppError> {
//!         // The smallest key goes first: here the largest file.
//!         cleanup::run_with(&HostFs, &s, &options, |entry: &Entry| u64::MAX - entry.size)
//!     }
//! }
//!
//! bachata_common_policy::export_policy!(LargestFirst);
//! ```
//!
//! Build such a crate as a `cdylib` for `wasm32-wasip2`, depending on this crate with
//! `default-features = false` (the `export` feature exports the stock policy).

use crate::catalog;
pub use crate::host::{HostFs, HostPose, HostSecrets};
use crate::types::{
    Analysis, AnalysisInput, AppError, Assessment, Assignment, CatalogEntry, Category,
    CleanupReport, CleanupSettings, Clip, ConfigError, Correction, DayMetrics, DayTotals,
    Definition, DetectionRate, ErrorKind, EventDecision, EventFeedback, FeedbackTotals, FrameRoles,
    Instant, JudgedDecision, Metric, Namespace, Operational, Person, Placement, PoseFrame,
    RankingMetrics, RankingTotals, Refusal, ResolvedConfig, Roles, RunOptions, SystemResources,
    TrackBox, TrackerConfig, TrackerState, WindowTotals, YoloConfig,
};

/// A policy: every exported function of the `common` world, each defaulting to the stock
/// decision. Override what the policy changes; export it with
/// [`export_policy!`](crate::export_policy).
#[allow(
    clippy::result_large_err,
    reason = "the error types are fixed by the WIT contract"
)]
pub trait Policy {
    /// `errors.make-error`.
    fn make_error(kind: ErrorKind, message: String, details: Vec<(String, String)>) -> AppError {
        catalog::make_error(kind, message, details)
    }

    /// `errors.code-of`.
    fn code_of(kind: ErrorKind) -> String {
        catalog::code_of(&kind).to_string()
    }

    /// `errors.user-friendly-message`.
    fn user_friendly_message(error_code: String, error_type: String) -> String {
        catalog::user_friendly_message(&error_code, &error_type)
    }

    /// `errors.catalog`.
    fn catalog() -> Vec<CatalogEntry> {
        catalog::catalog()
    }

    /// `errors.http-status`.
    fn http_status(error_code: String) -> u16 {
        catalog::http_status(&error_code)
    }

    /// `errors.problem-json`.
    fn problem_json(
        error: AppError,
        error_type: Option<String>,
        instance: Option<String>,
    ) -> String {
        catalog::problem_json(&error, error_type.as_deref(), instance.as_deref())
    }

    /// `config.load`.
    fn config_load(
        env: Vec<(String, String)>,
        dotenv: Option<String>,
    ) -> Result<ResolvedConfig, ConfigError> {
        crate::config::load(&env, dotenv.as_deref(), &HostSecrets)
    }

    /// `config.dotenv-variables`.
    fn config_dotenv_variables(dotenv: String) -> Result<Vec<(String, String)>, ConfigError> {
        crate::config::dotenv_variables(&dotenv)
    }

    /// `cleanup.run`.
    fn cleanup_run(
        settings: CleanupSettings,
        options: RunOptions,
    ) -> Result<CleanupReport, AppError> {
        crate::cleanup::run(&HostFs, &settings, &options)
    }

    /// `cleanup.assess`.
    fn cleanup_assess(settings: CleanupSettings, snapshot: SystemResources) -> Assessment {
        crate::cleanup::assess(&settings, &snapshot)
    }

    /// `pose.detect`.
    fn pose_detect(frames: Vec<PoseFrame>, cfg: YoloConfig) -> Result<Vec<Vec<Person>>, AppError> {
        crate::pose::detect(&HostPose, &frames, &cfg)
    }

    /// `couple.update`.
    fn couple_update(
        state: TrackerState,
        frames: Vec<Vec<TrackBox>>,
        cfg: TrackerConfig,
    ) -> Result<(TrackerState, Vec<FrameRoles>), AppError> {
        crate::couple::update(state, &frames, &cfg)
    }

    /// `couple.lead-follow`.
    fn couple_lead_follow(boxes: Vec<TrackBox>) -> Result<Roles, AppError> {
        crate::couple::lead_follow(&boxes)
    }

    /// `couple.iou`.
    fn couple_iou(a: TrackBox, b: TrackBox) -> f64 {
        crate::couple::iou(&a, &b)
    }

    /// `couple.rate`.
    fn couple_rate(processed: u64, both: u64) -> DetectionRate {
        crate::couple::rate(processed, both)
    }

    /// `monitor.satisfaction`.
    fn monitor_satisfaction(feedback: Vec<FeedbackTotals>) -> f64 {
        crate::monitor::satisfaction(&feedback)
    }

    /// `monitor.summarize`.
    fn monitor_summarize(window: WindowTotals, top: u32) -> Operational {
        crate::monitor::summarize(&window, top)
    }

    /// `monitor.relevance`.
    fn monitor_relevance(feedback_type: String, value: Option<f64>) -> Option<bool> {
        crate::monitor::relevance(&feedback_type, value)
    }

    /// `monitor.rank`.
    fn monitor_rank(k: u32, totals: RankingTotals, page: Vec<JudgedDecision>) -> RankingTotals {
        crate::monitor::rank(k, totals, &page)
    }

    /// `monitor.combine`.
    fn monitor_combine(a: RankingTotals, b: RankingTotals) -> RankingTotals {
        crate::monitor::combine(&a, &b)
    }

    /// `monitor.ranking`.
    fn monitor_ranking(k: u32, totals: RankingTotals) -> RankingMetrics {
        crate::monitor::ranking(k, &totals)
    }

    /// `monitor.daily`.
    fn monitor_daily(days: Vec<DayTotals>) -> Vec<DayMetrics> {
        crate::monitor::daily(&days)
    }

    /// `events.check-decisions`.
    fn events_check_decisions(
        events: Vec<EventDecision>,
        now: Instant,
        batch_start: Option<u32>,
    ) -> Result<Vec<EventDecision>, AppError> {
        crate::events::check_decisions(events, now, batch_start)
    }

    /// `events.check-feedback`.
    fn events_check_feedback(
        events: Vec<EventFeedback>,
        now: Instant,
        batch_start: Option<u32>,
    ) -> Result<Vec<EventFeedback>, AppError> {
        crate::events::check_feedback(events, now, batch_start)
    }

    /// `events.refused`.
    fn events_refused(refusal: Refusal, index: Option<u32>) -> AppError {
        crate::events::refused(refusal, index)
    }

    /// `experiments.check`.
    fn experiments_check(definition: Definition) -> Result<(), AppError> {
        crate::experiments::check(&definition)
    }

    /// `experiments.hash`.
    fn experiments_hash(seed: String, value: String, version: u32) -> Option<f64> {
        crate::experiments::hash::hash(&seed, &value, version)
    }

    /// `experiments.equal-weights`.
    fn experiments_equal_weights(count: i32) -> Vec<f64> {
        crate::experiments::equal_weights(count)
    }

    /// `experiments.bucket-ranges`.
    fn experiments_bucket_ranges(
        count: i32,
        coverage: f64,
        weights: Option<Vec<f64>>,
    ) -> Vec<(f64, f64)> {
        crate::experiments::bucket_ranges(count, coverage, weights.as_deref())
    }

    /// `experiments.choose-variation`.
    fn experiments_choose_variation(n: f64, ranges: Vec<(f64, f64)>) -> i32 {
        crate::experiments::choose_variation(n, &ranges)
    }

    /// `experiments.in-namespace`.
    fn experiments_in_namespace(unit: String, namespace: Namespace) -> bool {
        crate::experiments::in_namespace(&unit, &namespace)
    }

    /// `experiments.assign`.
    fn experiments_assign(
        definition: Definition,
        unit: String,
        now_ms: i64,
    ) -> Result<Assignment, AppError> {
        crate::experiments::assign(&definition, &unit, now_ms)
    }

    /// `experiments.metrics`.
    fn experiments_metrics() -> Vec<Metric> {
        crate::experiments::metrics()
    }

    /// `experiments.analyze`.
    fn experiments_analyze(input: AnalysisInput) -> Result<Analysis, AppError> {
        crate::experiments::analyze(&input)
    }

    /// `experiments.sample-ratio-p`.
    fn experiments_sample_ratio_p(units: Vec<u64>, weights: Vec<f64>) -> Option<f64> {
        crate::experiments::stats::sample_ratio_p(&units, &weights)
    }

    /// `experiments.adjust`.
    fn experiments_adjust(p_values: Vec<f64>, correction: Correction) -> Vec<f64> {
        crate::experiments::stats::adjust(&p_values, correction)
    }

    /// `organizer.stock-mapping`.
    fn organizer_stock_mapping() -> Vec<Category> {
        crate::organizer::stock_mapping()
    }

    /// `organizer.normalize-label`.
    fn organizer_normalize_label(label: String) -> String {
        crate::organizer::normalize_label(&label)
    }

    /// `organizer.check-mapping`.
    fn organizer_check_mapping(mapping: Vec<Category>) -> Result<(), AppError> {
        crate::organizer::check_mapping(&mapping)
    }

    /// `organizer.categorize`.
    fn organizer_categorize(
        label: String,
        mapping: Vec<Category>,
        default_category: Option<String>,
    ) -> Option<(String, String)> {
        crate::organizer::categorize(&label, &mapping, default_category.as_deref())
    }

    /// `organizer.plan`.
    fn organizer_plan(
        clips: Vec<Clip>,
        mapping: Vec<Category>,
        default_category: Option<String>,
    ) -> Result<Vec<Placement>, AppError> {
        crate::organizer::plan(&clips, &mapping, default_category.as_deref())
    }
}

/// The stock policy: every decision as documented in `wit/`.
pub struct Stock;

impl Policy for Stock {}

mod export;

#[cfg(feature = "export")]
crate::export_policy!(Stock);
