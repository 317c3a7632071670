//! Cleanup settings, reports and resource assessments as the host sees them (the policy
//! decides; these are the plain Rust shapes of its answers).

use serde::Serialize;

use crate::policy::wit::cleanup as wit;

/// Settings of the cleanup policy.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct CleanupSettings {
    /// Files older than this many hours are removed.
    pub max_temp_age_hours: f64,
    /// Cap of the `cache` area in GiB.
    pub max_cache_size_gb: f64,
    /// Trimming goes down to this fraction of the cap.
    pub cache_low_water_ratio: f64,
    /// Memory warning ratio.
    pub memory_warning_threshold: f64,
    /// Disk warning ratio.
    pub disk_warning_threshold: f64,
    /// Memory ratio that triggers an emergency cleanup.
    pub memory_critical_threshold: f64,
}

impl CleanupSettings {
    pub(crate) fn to_wit(self) -> wit::CleanupSettings {
        wit::CleanupSettings {
            max_temp_age_hours: self.max_temp_age_hours,
            max_cache_size_gb: self.max_cache_size_gb,
            cache_low_water_ratio: self.cache_low_water_ratio,
            memory_warning_threshold: self.memory_warning_threshold,
            disk_warning_threshold: self.disk_warning_threshold,
            memory_critical_threshold: self.memory_critical_threshold,
        }
    }
}

/// Totals of one cleanup phase.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct PhaseReport {
    /// Files (and links) removed.
    pub files_removed: u64,
    /// Bytes freed.
    pub bytes_freed: u64,
    /// Empty directories removed.
    pub directories_removed: u64,
}

/// One removal, done or planned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlannedRemoval {
    /// Area name.
    pub area: String,
    /// Path relative to the area.
    pub path: String,
    /// Size in bytes.
    pub bytes: u64,
    /// `age` or `cache-cap`.
    pub reason: String,
}

/// A path that could not be removed or read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CleanupProblem {
    /// Area name.
    pub area: String,
    /// Path relative to the area.
    pub path: String,
    /// Why.
    pub reason: String,
}

/// What a cleanup did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct CleanupReport {
    /// Age-based cleanup.
    pub temporary_files: PhaseReport,
    /// Cache cap.
    pub cache_cleanup: PhaseReport,
    /// Areas scanned.
    pub directories_processed: u64,
    /// Files skipped because they are in use.
    pub skipped_in_use: u64,
    /// Files gone between scan and removal.
    pub vanished: u64,
    /// Problems, with paths.
    pub errors: Vec<CleanupProblem>,
    /// Whether nothing was removed.
    pub dry_run: bool,
    /// Every removal, done or (dry run) planned.
    pub removals: Vec<PlannedRemoval>,
}

impl CleanupReport {
    /// Files removed by both phases.
    pub fn total_files_removed(&self) -> u64 {
        self.temporary_files.files_removed + self.cache_cleanup.files_removed
    }

    /// Bytes freed by both phases.
    pub fn total_bytes_freed(&self) -> u64 {
        self.temporary_files.bytes_freed + self.cache_cleanup.bytes_freed
    }
}

fn phase(report: wit::PhaseReport) -> PhaseReport {
    PhaseReport {
        files_removed: report.files_removed,
        bytes_freed: report.bytes_freed,
        directories_removed: report.directories_removed,
    }
}

impl From<wit::CleanupReport> for CleanupReport {
    fn from(report: wit::CleanupReport) -> Self {
        Self {
            temporary_files: phase(report.temporary_files),
            cache_cleanup: phase(report.cache_cleanup),
            directories_processed: report.directories_processed,
            skipped_in_use: report.skipped_in_use,
            vanished: report.vanished,
            errors: report
                .errors
                .into_iter()
                .map(|problem| CleanupProblem {
                    area: problem.area,
                    path: problem.path,
                    reason: problem.reason,
                })
                .collect(),
            dry_run: report.dry_run,
            removals: report
                .removals
                .into_iter()
                .map(|removal| PlannedRemoval {
                    area: removal.area,
                    path: removal.path,
                    bytes: removal.bytes,
                    reason: removal.reason,
                })
                .collect(),
        }
    }
}

/// How serious a warning is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    /// Above the warning threshold.
    Warning,
    /// Above the critical threshold.
    Critical,
}

/// One resource warning.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ResourceWarning {
    /// `memory` or `disk`.
    pub resource: String,
    /// How serious.
    pub level: Level,
    /// Measured ratio.
    pub value: f64,
    /// Threshold crossed.
    pub threshold: f64,
    /// A sentence with the figures.
    pub message: String,
}

/// The verdict on a snapshot.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Assessment {
    /// Warnings to log.
    pub warnings: Vec<ResourceWarning>,
    /// Whether an emergency cleanup should run now.
    pub emergency_cleanup: bool,
}

impl From<wit::Assessment> for Assessment {
    fn from(assessment: wit::Assessment) -> Self {
        Self {
            warnings: assessment
                .warnings
                .into_iter()
                .map(|warning| ResourceWarning {
                    resource: warning.resource,
                    level: match warning.level {
                        wit::Level::Warning => Level::Warning,
                        wit::Level::Critical => Level::Critical,
                    },
                    value: warning.value,
                    threshold: warning.threshold,
                    message: warning.message,
                })
                .collect(),
            emergency_cleanup: assessment.emergency_cleanup,
        }
    }
}
