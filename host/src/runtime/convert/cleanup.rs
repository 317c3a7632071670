//! Cleanup settings, reports and assessments.

use super::super::bindings::wit::cleanup as wit;
use crate::types::cleanup::{
    AreaReport, Assessment, CleanupProblem, CleanupReport, CleanupSettings, Level, PhaseReport,
    PlannedRemoval, ResourceWarning,
};

/// The WIT form of cleanup settings.
pub(crate) fn cleanup_settings(settings: CleanupSettings) -> wit::CleanupSettings {
    wit::CleanupSettings {
        max_temp_age_hours: settings.max_temp_age_hours,
        max_cache_size_gb: settings.max_cache_size_gb,
        cache_low_water_ratio: settings.cache_low_water_ratio,
        memory_warning_threshold: settings.memory_warning_threshold,
        disk_warning_threshold: settings.disk_warning_threshold,
        memory_critical_threshold: settings.memory_critical_threshold,
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
            areas: report
                .areas
                .into_iter()
                .map(|area| AreaReport {
                    area: area.area,
                    entries_scanned: area.entries_scanned,
                    temporary_files: phase(area.temporary_files),
                    cache_cleanup: phase(area.cache_cleanup),
                })
                .collect(),
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
            error_count: report.error_count,
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
