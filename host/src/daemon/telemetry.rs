//! Prometheus metrics of the daemon (prefix `bachata_common_`, base units: bytes, seconds,
//! ratios 0–1; counters end in `_total`).

use std::sync::atomic::AtomicU64;

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::{Registry, Unit};

use crate::capabilities::metrics::SystemResources;
use crate::runtime::{Concern, Policy};
use crate::types::cleanup::{Assessment, CleanupReport, Level};

type Labels = Vec<(String, String)>;
type FloatGauge = Gauge<f64, AtomicU64>;

/// The daemon's metrics.
pub struct Telemetry {
    registry: Registry,
    memory_total: Gauge,
    memory_available: Gauge,
    memory_used: Gauge,
    memory_used_ratio: FloatGauge,
    disk_total: Gauge,
    disk_free: Gauge,
    disk_used: Gauge,
    disk_used_ratio: FloatGauge,
    cpu_used_ratio: FloatGauge,
    load_average: Family<Labels, FloatGauge>,
    area_size: Family<Labels, Gauge>,
    area_files: Family<Labels, Gauge>,
    cleanup_runs: Family<Labels, Counter>,
    removed_files: Counter,
    removed_bytes: Counter,
    warnings: Family<Labels, Counter>,
    policy_call_errors: Counter,
    policy_info: Family<Labels, Gauge>,
    policy_reloads: Family<Labels, Counter>,
    decisions: Family<Labels, Counter>,
    feedback: Family<Labels, Counter>,
    /// The label values of `decisions` and `feedback` seen so far, bounded.
    event_labels: std::sync::Mutex<std::collections::HashSet<String>>,
    decision_processing: Histogram,
}

impl std::fmt::Debug for Telemetry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Telemetry").finish_non_exhaustive()
    }
}

impl Telemetry {
    /// Registers every metric; `policy` is described by an info metric.
    pub fn new(policy: &Policy) -> Self {
        let mut telemetry = Self {
            memory_total: Gauge::default(),
            memory_available: Gauge::default(),
            memory_used: Gauge::default(),
            memory_used_ratio: FloatGauge::default(),
            disk_total: Gauge::default(),
            disk_free: Gauge::default(),
            disk_used: Gauge::default(),
            disk_used_ratio: FloatGauge::default(),
            cpu_used_ratio: FloatGauge::default(),
            load_average: Family::default(),
            area_size: Family::default(),
            area_files: Family::default(),
            cleanup_runs: Family::default(),
            removed_files: Counter::default(),
            removed_bytes: Counter::default(),
            warnings: Family::default(),
            policy_call_errors: Counter::default(),
            policy_info: Family::default(),
            policy_reloads: Family::default(),
            decisions: Family::default(),
            feedback: Family::default(),
            event_labels: std::sync::Mutex::default(),
            // 1 ms to about 33 s.
            decision_processing: Histogram::new(exponential_buckets(0.001, 2.0, 16)),
            registry: Registry::with_prefix("bachata_common"),
        };
        let registry = &mut telemetry.registry;
        let bytes = Unit::Bytes;
        registry.register_with_unit(
            "memory_total",
            "Memory available to the service (container limit when lower)",
            bytes.clone(),
            telemetry.memory_total.clone(),
        );
        registry.register_with_unit(
            "memory_available",
            "Memory still available",
            bytes.clone(),
            telemetry.memory_available.clone(),
        );
        registry.register_with_unit(
            "memory_used",
            "Memory in use",
            bytes.clone(),
            telemetry.memory_used.clone(),
        );
        registry.register_with_unit(
            "memory_used",
            "Memory in use as a ratio of the total",
            Unit::Other("ratio".to_string()),
            telemetry.memory_used_ratio.clone(),
        );
        registry.register_with_unit(
            "disk_total",
            "Size of the data directory's filesystem",
            bytes.clone(),
            telemetry.disk_total.clone(),
        );
        registry.register_with_unit(
            "disk_free",
            "Free space on the data directory's filesystem",
            bytes.clone(),
            telemetry.disk_free.clone(),
        );
        registry.register_with_unit(
            "disk_used",
            "Used space on the data directory's filesystem",
            bytes.clone(),
            telemetry.disk_used.clone(),
        );
        registry.register_with_unit(
            "disk_used",
            "Used space as a ratio of the filesystem",
            Unit::Other("ratio".to_string()),
            telemetry.disk_used_ratio.clone(),
        );
        registry.register_with_unit(
            "cpu_used",
            "CPU use over the last sampling interval, ratio of all cores",
            Unit::Other("ratio".to_string()),
            telemetry.cpu_used_ratio.clone(),
        );
        registry.register(
            "load_average",
            "System load average by window",
            telemetry.load_average.clone(),
        );
        registry.register_with_unit(
            "area_size",
            "Bytes in the files of a managed area",
            bytes.clone(),
            telemetry.area_size.clone(),
        );
        registry.register(
            "area_files",
            "Number of files in a managed area",
            telemetry.area_files.clone(),
        );
        registry.register(
            "cleanup_runs",
            "Cleanup runs by trigger",
            telemetry.cleanup_runs.clone(),
        );
        registry.register(
            "cleanup_removed_files",
            "Files removed by cleanups",
            telemetry.removed_files.clone(),
        );
        registry.register_with_unit(
            "cleanup_removed",
            "Bytes freed by cleanups",
            bytes,
            telemetry.removed_bytes.clone(),
        );
        registry.register(
            "resource_warnings",
            "Resource warnings raised",
            telemetry.warnings.clone(),
        );
        registry.register(
            "policy_call_errors",
            "Failed calls into the policy component",
            telemetry.policy_call_errors.clone(),
        );
        registry.register(
            "policy_info",
            "Per concern, the component of the active policy set answering it (value 1; origin, sha256 and contract as labels)",
            telemetry.policy_info.clone(),
        );
        registry.register(
            "policy_reloads",
            "Policy reloads by result (success, failure)",
            telemetry.policy_reloads.clone(),
        );
        registry.register(
            "decisions",
            "Recommendation decisions stored through this daemon, by algorithm version",
            telemetry.decisions.clone(),
        );
        registry.register(
            "feedback",
            "User feedback stored through this daemon, by type",
            telemetry.feedback.clone(),
        );
        registry.register_with_unit(
            "decision_processing",
            "Processing time of the recommendation decisions stored through this daemon",
            Unit::Seconds,
            telemetry.decision_processing.clone(),
        );
        telemetry.policy_active(policy);
        telemetry
    }

    /// Records a decision stored (not a retried one).
    pub fn decision_stored(&self, algorithm_version: &str, processing_time_ms: f64) {
        let version = self.event_label("algorithm_version", algorithm_version);
        self.decisions
            .get_or_create(&vec![("algorithm_version".to_string(), version)])
            .inc();
        self.decision_processing
            .observe(processing_time_ms / 1000.0);
    }

    /// Records feedback stored (not a retried one).
    pub fn feedback_stored(&self, feedback_type: &str) {
        let kind = self.event_label("type", feedback_type);
        self.feedback
            .get_or_create(&vec![("type".to_string(), kind)])
            .inc();
    }

    /// An event's label value, escaped; past [`MAX_EVENT_LABELS`] distinct values (the
    /// policy decides what versions and types are accepted), `other`, so the series stay
    /// bounded.
    fn event_label(&self, name: &str, value: &str) -> String {
        let key = format!("{name}={value}");
        let mut seen = self
            .event_labels
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if seen.contains(&key) || seen.len() < MAX_EVENT_LABELS {
            seen.insert(key);
            label_value(value)
        } else {
            "other".to_string()
        }
    }

    /// Records `policy` as the active policy set (replacing the previous one's info labels):
    /// one series per concern, naming the component that answers it.
    pub fn policy_active(&self, policy: &Policy) {
        self.policy_info.clear();
        for concern in Concern::ALL {
            let (origin, sha256, contract) = policy.source(concern);
            let labels = vec![
                ("concern".to_string(), concern.name().to_string()),
                ("origin".to_string(), label_value(&origin.to_string())),
                ("sha256".to_string(), sha256.to_string()),
                ("contract".to_string(), contract.to_string()),
            ];
            self.policy_info.get_or_create(&labels).set(1);
        }
    }

    /// Records a reload attempt.
    pub fn policy_reloaded(&self, success: bool) {
        let result = if success { "success" } else { "failure" };
        self.policy_reloads
            .get_or_create(&vec![("result".to_string(), result.to_string())])
            .inc();
    }

    /// Records that a policy file is gone (its last good component keeps serving):
    /// `policy_reloads_total{result="gone"}`.
    pub fn policy_file_gone(&self) {
        self.policy_reloads
            .get_or_create(&vec![("result".to_string(), "gone".to_string())])
            .inc();
    }

    /// Records a snapshot.
    pub fn observe(&self, snapshot: &SystemResources) {
        let gauge = |value: u64| i64::try_from(value).unwrap_or(i64::MAX);
        self.memory_total.set(gauge(snapshot.memory.total));
        self.memory_available.set(gauge(snapshot.memory.available));
        self.memory_used.set(gauge(snapshot.memory.used));
        self.memory_used_ratio.set(snapshot.memory.used_ratio);
        self.disk_total.set(gauge(snapshot.disk.total));
        self.disk_free.set(gauge(snapshot.disk.free));
        self.disk_used.set(gauge(snapshot.disk.used));
        self.disk_used_ratio.set(snapshot.disk.used_ratio);
        self.cpu_used_ratio.set(snapshot.cpu_ratio);
        let (one, five, fifteen) = snapshot.load_average;
        for (window, value) in [("1m", one), ("5m", five), ("15m", fifteen)] {
            self.load_average
                .get_or_create(&vec![("window".to_string(), window.to_string())])
                .set(value);
        }
        for area in &snapshot.areas {
            let labels = vec![("area".to_string(), area.name.clone())];
            self.area_size.get_or_create(&labels).set(gauge(area.size));
            self.area_files
                .get_or_create(&labels)
                .set(gauge(area.file_count));
        }
    }

    /// Records a finished cleanup run.
    pub fn cleanup_done(&self, trigger: &str, report: &CleanupReport) {
        self.cleanup_runs
            .get_or_create(&vec![("trigger".to_string(), trigger.to_string())])
            .inc();
        if !report.dry_run {
            self.removed_files.inc_by(report.total_files_removed());
            self.removed_bytes.inc_by(report.total_bytes_freed());
        }
    }

    /// Records an assessment's warnings.
    pub fn assessed(&self, assessment: &Assessment) {
        for warning in &assessment.warnings {
            let level = match warning.level {
                Level::Warning => "warning",
                Level::Critical => "critical",
            };
            self.warnings
                .get_or_create(&vec![
                    ("resource".to_string(), warning.resource.clone()),
                    ("level".to_string(), level.to_string()),
                ])
                .inc();
        }
    }

    /// Records a failed policy call.
    pub fn policy_error(&self) {
        self.policy_call_errors.inc();
    }

    /// The metrics in Prometheus text format.
    pub fn encode(&self) -> String {
        let mut text = String::new();
        if let Err(error) = encode(&mut text, &self.registry) {
            tracing::error!(%error, "cannot encode metrics");
        }
        text
    }
}

/// A label value as the text exposition format writes it: backslash, double quote and line
/// feed escaped (a policy file's name may hold any of them).
/// The most distinct algorithm versions and feedback types labelled, together.
pub const MAX_EVENT_LABELS: usize = 256;

fn label_value(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            other => out.push(other),
        }
    }
    out
}

#[cfg(test)]
mod label_tests {
    use super::{MAX_EVENT_LABELS, Telemetry, label_value};

    #[test]
    fn label_values_escape_what_would_break_the_exposition() {
        assert_eq!(label_value("plain/path.wasm"), "plain/path.wasm");
        assert_eq!(label_value("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }

    #[test]
    fn event_labels_are_escaped_and_bounded() {
        let policy = crate::runtime::Policy::shared().expect("policy");
        let telemetry = Telemetry::new(policy);
        assert_eq!(telemetry.event_label("algorithm_version", "v\n2"), "v\\n2");
        for i in 0..MAX_EVENT_LABELS * 2 {
            telemetry.decision_stored(&format!("v{i}"), 1.0);
        }
        assert_eq!(telemetry.event_label("algorithm_version", "new"), "other");
        // A value seen before keeps its own series.
        assert_eq!(telemetry.event_label("algorithm_version", "v\n2"), "v\\n2");
    }
}
