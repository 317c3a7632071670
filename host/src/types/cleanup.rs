//! Cleanup settings, reports and resource assessments as the host sees them (the policy
//! decides; these are the plain Rust shapes of its answers).

use std::collections::{HashMap, HashSet};

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

/// What the host removed during one call: area, then path, to the bytes freed.
pub type Removed = HashMap<String, HashMap<String, u64>>;

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

    /// Checks that the report is one a policy could honestly give: it says whether it was a
    /// dry run as asked; no path is listed twice; the phase totals add up to the removals;
    /// and, outside a dry run, every removal listed is one the host made (`removed`: area and
    /// path to bytes freed), with the bytes the host freed.
    pub fn check(&self, dry_run: bool, removed: &Removed) -> Result<(), String> {
        if self.dry_run != dry_run {
            return Err(format!(
                "the report says dry_run={} for a call with dry_run={dry_run}",
                self.dry_run
            ));
        }
        let mut seen = HashSet::with_capacity(self.removals.len());
        let mut listed_bytes: u64 = 0;
        for removal in &self.removals {
            if !seen.insert((removal.area.as_str(), removal.path.as_str())) {
                return Err(format!(
                    "`{}` in area `{}` is listed twice",
                    removal.path, removal.area
                ));
            }
            listed_bytes = listed_bytes
                .checked_add(removal.bytes)
                .ok_or_else(|| "the bytes of the removals add up to more than 2^64".to_string())?;
            if dry_run {
                continue;
            }
            let freed = removed
                .get(&removal.area)
                .and_then(|paths| paths.get(&removal.path));
            match freed {
                None => {
                    return Err(format!(
                        "`{}` in area `{}` is listed as removed, but the host did not remove it",
                        removal.path, removal.area
                    ));
                }
                Some(&bytes) if bytes != removal.bytes => {
                    return Err(format!(
                        "`{}` in area `{}` is listed with {} bytes; the host freed {bytes}",
                        removal.path, removal.area, removal.bytes
                    ));
                }
                Some(_) => {}
            }
        }
        let phases = [&self.temporary_files, &self.cache_cleanup];
        let counted = phases.iter().try_fold(0u64, |sum, phase| {
            sum.checked_add(phase.files_removed)?
                .checked_add(phase.directories_removed)
        });
        if counted != Some(self.removals.len() as u64) {
            return Err(format!(
                "the phase totals count {} removal(s) but {} are listed",
                counted.map_or_else(|| "more than 2^64".to_string(), |n| n.to_string()),
                self.removals.len()
            ));
        }
        let freed = phases
            .iter()
            .try_fold(0u64, |sum, phase| sum.checked_add(phase.bytes_freed));
        if freed != Some(listed_bytes) {
            return Err(format!(
                "the phase totals free {} bytes but the removals listed add up to {listed_bytes}",
                freed.map_or_else(|| "more than 2^64".to_string(), |n| n.to_string()),
            ));
        }
        Ok(())
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

    fn removal(area: &str, path: &str, bytes: u64) -> PlannedRemoval {
        PlannedRemoval {
            area: area.to_string(),
            path: path.to_string(),
            bytes,
            reason: "age".to_string(),
        }
    }

    fn report(removals: Vec<PlannedRemoval>, dry_run: bool) -> CleanupReport {
        let bytes = removals
            .iter()
            .fold(0u64, |sum, r| sum.saturating_add(r.bytes));
        CleanupReport {
            temporary_files: PhaseReport {
                files_removed: removals.len() as u64,
                bytes_freed: bytes,
                directories_removed: 0,
            },
            cache_cleanup: PhaseReport::default(),
            directories_processed: 1,
            skipped_in_use: 0,
            vanished: 0,
            errors: Vec::new(),
            dry_run,
            removals,
        }
    }

    fn done(pairs: &[(&str, &str, u64)]) -> Removed {
        let mut removed = Removed::new();
        for (area, path, bytes) in pairs {
            removed
                .entry(area.to_string())
                .or_default()
                .insert(path.to_string(), *bytes);
        }
        removed
    }

    #[test]
    fn an_honest_report_passes() {
        let honest = report(
            vec![removal("temp", "a", 3), removal("cache", "a", 4)],
            false,
        );
        let removed = done(&[("temp", "a", 3), ("cache", "a", 4), ("temp", "extra", 1)]);
        assert_eq!(honest.check(false, &removed), Ok(()));
        let planned = report(vec![removal("temp", "a", 3)], true);
        assert_eq!(planned.check(true, &Removed::new()), Ok(()));
    }

    #[test]
    fn impossible_reports_are_named() {
        let removed = done(&[("temp", "a", 3)]);
        let cases = [
            (
                report(vec![removal("temp", "a", 3)], true),
                false,
                "dry_run=true",
            ),
            (
                report(
                    vec![removal("temp", "a", 3), removal("temp", "a", 3)],
                    false,
                ),
                false,
                "listed twice",
            ),
            (
                report(vec![removal("temp", "b", 3)], false),
                false,
                "did not remove",
            ),
            (
                report(vec![removal("temp", "a", 9)], false),
                false,
                "the host freed 3",
            ),
            (
                report(
                    vec![removal("temp", "a", u64::MAX), removal("temp", "b", 1)],
                    true,
                ),
                true,
                "2^64",
            ),
        ];
        for (bad, dry_run, needle) in cases {
            let reason = bad.check(dry_run, &removed).expect_err(needle);
            assert!(reason.contains(needle), "{reason}");
        }
        let mut miscounted = report(vec![removal("temp", "a", 3)], false);
        miscounted.temporary_files.files_removed = 7;
        let reason = miscounted.check(false, &removed).expect_err("count");
        assert!(reason.contains("count 7 removal(s) but 1"), "{reason}");
        let mut inflated = report(vec![removal("temp", "a", 3)], false);
        inflated.cache_cleanup.bytes_freed = u64::MAX;
        let reason = inflated.check(false, &removed).expect_err("bytes");
        assert!(reason.contains("more than 2^64"), "{reason}");
    }

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
