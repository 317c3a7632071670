//! Cleanup settings, reports and resource assessments as the host sees them (the policy
//! decides; these are the plain Rust shapes of its answers).

use serde::Serialize;

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

impl Default for CleanupSettings {
    /// The documented defaults (those of an empty configuration).
    fn default() -> Self {
        Self {
            max_temp_age_hours: 24.0,
            max_cache_size_gb: 5.0,
            cache_low_water_ratio: 0.8,
            memory_warning_threshold: 0.85,
            disk_warning_threshold: 0.90,
            memory_critical_threshold: 0.90,
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
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct CleanupProblem {
    /// Area name.
    pub area: String,
    /// Path relative to the area.
    pub path: String,
    /// Why.
    pub reason: String,
}

/// What a cleanup did in one area.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct AreaReport {
    /// Area name.
    pub area: String,
    /// Entries listed by the scans of the area.
    pub entries_scanned: u64,
    /// Age-based cleanup of the area.
    pub temporary_files: PhaseReport,
    /// Cache cap (the `cache` area only).
    pub cache_cleanup: PhaseReport,
}

/// What a cleanup did: totals, and at most a configured number of sample removals and
/// problems (the complete list of removals goes to a removals log when asked for).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct CleanupReport {
    /// Age-based cleanup.
    pub temporary_files: PhaseReport,
    /// Cache cap.
    pub cache_cleanup: PhaseReport,
    /// Per area, in the order cleaned.
    pub areas: Vec<AreaReport>,
    /// Areas scanned.
    pub directories_processed: u64,
    /// Files skipped because they are in use.
    pub skipped_in_use: u64,
    /// Files gone between scan and removal.
    pub vanished: u64,
    /// The first problems, with paths.
    pub errors: Vec<CleanupProblem>,
    /// How many problems there were in all.
    pub error_count: u64,
    /// Whether nothing was removed.
    pub dry_run: bool,
    /// The first removals, done or (dry run) planned, in the order made.
    pub removals: Vec<PlannedRemoval>,
}

impl CleanupReport {
    /// Files removed by both phases.
    pub fn total_files_removed(&self) -> u64 {
        self.temporary_files
            .files_removed
            .saturating_add(self.cache_cleanup.files_removed)
    }

    /// Bytes freed by both phases.
    pub fn total_bytes_freed(&self) -> u64 {
        self.temporary_files
            .bytes_freed
            .saturating_add(self.cache_cleanup.bytes_freed)
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

impl Assessment {
    /// Checks that every warning names a resource and carries ratios between 0 and 1.
    pub fn check(&self) -> Result<(), String> {
        for warning in &self.warnings {
            if warning.resource.trim().is_empty() {
                return Err("a warning names no resource".to_string());
            }
            for (what, ratio) in [("value", warning.value), ("threshold", warning.threshold)] {
                if !(0.0..=1.0).contains(&ratio) {
                    return Err(format!(
                        "the {} warning has {what} {ratio}, not a ratio between 0 and 1",
                        warning.resource
                    ));
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn assessments_need_ratios() {
        let warning = |value: f64| ResourceWarning {
            resource: "memory".to_string(),
            level: Level::Warning,
            value,
            threshold: 0.85,
            message: String::new(),
        };
        let good = Assessment {
            warnings: vec![warning(0.9)],
            emergency_cleanup: false,
        };
        assert_eq!(good.check(), Ok(()));
        for bad in [-0.5, 1.5, f64::NAN, f64::INFINITY] {
            let assessment = Assessment {
                warnings: vec![warning(bad)],
                emergency_cleanup: false,
            };
            assert!(assessment.check().is_err(), "{bad}");
        }
    }
}
