//! [`export_policy!`](crate::export_policy): a type implementing [`Policy`](super::Policy)
//! exported as the component, one WIT function to one trait method.

/// Exports `$policy`, a type (named by a plain identifier, in scope) implementing [`Policy`](crate::policy::Policy), as the component's `common` world.
/// Invoke it once, in the crate that builds the component.
#[macro_export]
macro_rules! export_policy {
    ($policy:ident) => {
        const _: () = {
            use $crate::bindings::exports::bachata::common::{
                cleanup, config, couple, errors, events, experiments, monitor, organizer, pose,
            };
            use $crate::types::*;

            impl errors::Guest for $policy {
                fn make_error(
                    kind: ErrorKind,
                    message: String,
                    details: Vec<(String, String)>,
                ) -> AppError {
                    <$policy as $crate::policy::Policy>::make_error(kind, message, details)
                }
                fn code_of(kind: ErrorKind) -> String {
                    <$policy as $crate::policy::Policy>::code_of(kind)
                }
                fn user_friendly_message(error_code: String, error_type: String) -> String {
                    <$policy as $crate::policy::Policy>::user_friendly_message(
                        error_code, error_type,
                    )
                }
                fn catalog() -> Vec<CatalogEntry> {
                    <$policy as $crate::policy::Policy>::catalog()
                }
                fn http_status(error_code: String) -> u16 {
                    <$policy as $crate::policy::Policy>::http_status(error_code)
                }
                fn problem_json(
                    error: AppError,
                    error_type: Option<String>,
                    instance: Option<String>,
                ) -> String {
                    <$policy as $crate::policy::Policy>::problem_json(error, error_type, instance)
                }
            }

            impl config::Guest for $policy {
                fn load(
                    env: Vec<(String, String)>,
                    dotenv: Option<String>,
                ) -> Result<ResolvedConfig, ConfigError> {
                    <$policy as $crate::policy::Policy>::config_load(env, dotenv)
                }
                fn dotenv_variables(dotenv: String) -> Result<Vec<(String, String)>, ConfigError> {
                    <$policy as $crate::policy::Policy>::config_dotenv_variables(dotenv)
                }
            }

            impl cleanup::Guest for $policy {
                fn run(
                    settings: CleanupSettings,
                    options: RunOptions,
                ) -> Result<CleanupReport, AppError> {
                    <$policy as $crate::policy::Policy>::cleanup_run(settings, options)
                }
                fn assess(settings: CleanupSettings, snapshot: SystemResources) -> Assessment {
                    <$policy as $crate::policy::Policy>::cleanup_assess(settings, snapshot)
                }
            }

            impl pose::Guest for $policy {
                fn detect(
                    frames: Vec<PoseFrame>,
                    cfg: YoloConfig,
                ) -> Result<Vec<Vec<Person>>, AppError> {
                    <$policy as $crate::policy::Policy>::pose_detect(frames, cfg)
                }
            }

            impl couple::Guest for $policy {
                fn update(
                    state: TrackerState,
                    frames: Vec<Vec<TrackBox>>,
                    cfg: TrackerConfig,
                ) -> Result<(TrackerState, Vec<FrameRoles>), AppError> {
                    <$policy as $crate::policy::Policy>::couple_update(state, frames, cfg)
                }
                fn lead_follow(boxes: Vec<TrackBox>) -> Result<Roles, AppError> {
                    <$policy as $crate::policy::Policy>::couple_lead_follow(boxes)
                }
                fn iou(a: TrackBox, b: TrackBox) -> f64 {
                    <$policy as $crate::policy::Policy>::couple_iou(a, b)
                }
                fn rate(processed: u64, both: u64) -> DetectionRate {
                    <$policy as $crate::policy::Policy>::couple_rate(processed, both)
                }
            }

            impl monitor::Guest for $policy {
                fn satisfaction(feedback: Vec<FeedbackTotals>) -> f64 {
                    <$policy as $crate::policy::Policy>::monitor_satisfaction(feedback)
                }
                fn summarize(window: WindowTotals, top: u32) -> Operational {
                    <$policy as $crate::policy::Policy>::monitor_summarize(window, top)
                }
                fn relevance(feedback_type: String, value: Option<f64>) -> Option<bool> {
                    <$policy as $crate::policy::Policy>::monitor_relevance(feedback_type, value)
                }
                fn rank(k: u32, totals: RankingTotals, page: Vec<JudgedDecision>) -> RankingTotals {
                    <$policy as $crate::policy::Policy>::monitor_rank(k, totals, page)
                }
                fn combine(a: RankingTotals, b: RankingTotals) -> RankingTotals {
                    <$policy as $crate::policy::Policy>::monitor_combine(a, b)
                }
                fn ranking(k: u32, totals: RankingTotals) -> RankingMetrics {
                    <$policy as $crate::policy::Policy>::monitor_ranking(k, totals)
                }
                fn daily(days: Vec<DayTotals>) -> Vec<DayMetrics> {
                    <$policy as $crate::policy::Policy>::monitor_daily(days)
                }
            }

            impl events::Guest for $policy {
                fn check_decisions(
                    events: Vec<EventDecision>,
                    now: Instant,
                    batch_start: Option<u32>,
                ) -> Result<Vec<EventDecision>, AppError> {
                    <$policy as $crate::policy::Policy>::events_check_decisions(
                        events,
                        now,
                        batch_start,
                    )
                }
                fn check_feedback(
                    events: Vec<EventFeedback>,
                    now: Instant,
                    batch_start: Option<u32>,
                ) -> Result<Vec<EventFeedback>, AppError> {
                    <$policy as $crate::policy::Policy>::events_check_feedback(
                        events,
                        now,
                        batch_start,
                    )
                }
                fn refused(refusal: Refusal, index: Option<u32>) -> AppError {
                    <$policy as $crate::policy::Policy>::events_refused(refusal, index)
                }
            }

            impl experiments::Guest for $policy {
                fn check(definition: Definition) -> Result<(), AppError> {
                    <$policy as $crate::policy::Policy>::experiments_check(definition)
                }
                fn hash(seed: String, value: String, version: u32) -> Option<f64> {
                    <$policy as $crate::policy::Policy>::experiments_hash(seed, value, version)
                }
                fn equal_weights(count: i32) -> Vec<f64> {
                    <$policy as $crate::policy::Policy>::experiments_equal_weights(count)
                }
                fn bucket_ranges(
                    count: i32,
                    coverage: f64,
                    weights: Option<Vec<f64>>,
                ) -> Vec<(f64, f64)> {
                    <$policy as $crate::policy::Policy>::experiments_bucket_ranges(
                        count, coverage, weights,
                    )
                }
                fn choose_variation(n: f64, ranges: Vec<(f64, f64)>) -> i32 {
                    <$policy as $crate::policy::Policy>::experiments_choose_variation(n, ranges)
                }
                fn in_namespace(unit: String, namespace: Namespace) -> bool {
                    <$policy as $crate::policy::Policy>::experiments_in_namespace(unit, namespace)
                }
                fn assign(
                    definition: Definition,
                    unit: String,
                    now_ms: i64,
                ) -> Result<Assignment, AppError> {
                    <$policy as $crate::policy::Policy>::experiments_assign(
                        definition, unit, now_ms,
                    )
                }
                fn metrics() -> Vec<Metric> {
                    <$policy as $crate::policy::Policy>::experiments_metrics()
                }
                fn analyze(input: AnalysisInput) -> Result<Analysis, AppError> {
                    <$policy as $crate::policy::Policy>::experiments_analyze(input)
                }
                fn sample_ratio_p(units: Vec<u64>, weights: Vec<f64>) -> Option<f64> {
                    <$policy as $crate::policy::Policy>::experiments_sample_ratio_p(units, weights)
                }
                fn adjust(p_values: Vec<f64>, correction: Correction) -> Vec<f64> {
                    <$policy as $crate::policy::Policy>::experiments_adjust(p_values, correction)
                }
            }

            impl organizer::Guest for $policy {
                fn stock_mapping() -> Vec<Category> {
                    <$policy as $crate::policy::Policy>::organizer_stock_mapping()
                }
                fn normalize_label(label: String) -> String {
                    <$policy as $crate::policy::Policy>::organizer_normalize_label(label)
                }
                fn check_mapping(mapping: Vec<Category>) -> Result<(), AppError> {
                    <$policy as $crate::policy::Policy>::organizer_check_mapping(mapping)
                }
                fn categorize(
                    label: String,
                    mapping: Vec<Category>,
                    default_category: Option<String>,
                ) -> Option<(String, String)> {
                    <$policy as $crate::policy::Policy>::organizer_categorize(
                        label,
                        mapping,
                        default_category,
                    )
                }
                fn plan(
                    clips: Vec<Clip>,
                    mapping: Vec<Category>,
                    default_category: Option<String>,
                ) -> Result<Vec<Placement>, AppError> {
                    <$policy as $crate::policy::Policy>::organizer_plan(
                        clips,
                        mapping,
                        default_category,
                    )
                }
            }

    $crate::bindings::export_common!($policy with_types_in $crate::bindings);
        };
    };
}
