//! The resources section: the data directory and its managed areas, cleanup ages, sizes
//! and intervals, and the memory and disk thresholds.

use super::resolver::Resolver;
use super::values::parse_areas;
use crate::types::{Problem, ResourceSettings};

/// Default data directory.
pub const DEFAULT_DATA_DIR: &str = "data";
/// Default managed areas.
pub const DEFAULT_AREAS: &str = "temp,cache,output";
/// The area for temporary files, which `BACHATA_AREAS` must always include.
pub const TEMP_AREA: &str = "temp";

/// Resolves the resource settings; `MEMORY_CRITICAL_THRESHOLD` below
/// `MEMORY_WARNING_THRESHOLD` is a problem.
pub(super) fn resolve(r: &mut Resolver<'_>) -> ResourceSettings {
    let data_dir = r.text("BACHATA_DATA_DIR", DEFAULT_DATA_DIR);
    let areas = r.typed(
        "BACHATA_AREAS",
        DEFAULT_AREAS.to_string(),
        "comma-separated distinct names of a-z, 0-9, `_` and `-`, including `temp`",
        parse_areas,
    );
    let max_temp_age_hours = r.number(
        "MAX_TEMP_AGE_HOURS",
        24.0,
        (0.0, true),
        876_000.0,
        "a number of hours from 0 to 876000 (100 years)",
    );
    let max_cache_size_gb = r.number(
        "MAX_CACHE_SIZE_GB",
        5.0,
        (0.0, false),
        1_048_576.0,
        "a number of GiB above 0 and at most 1048576 (1 PiB)",
    );
    let cache_low_water_ratio = r.ratio("CACHE_LOW_WATER_RATIO", 0.8);
    let memory_warning_threshold = r.ratio("MEMORY_WARNING_THRESHOLD", 0.85);
    let disk_warning_threshold = r.ratio("DISK_WARNING_THRESHOLD", 0.90);
    let memory_critical_threshold = r.ratio("MEMORY_CRITICAL_THRESHOLD", 0.90);
    // Compared only when both thresholds are valid (a rejected one stands in as its default).
    if memory_critical_threshold < memory_warning_threshold
        && !r.rejected("MEMORY_WARNING_THRESHOLD")
        && !r.rejected("MEMORY_CRITICAL_THRESHOLD")
    {
        let expected =
            format!("a ratio not below MEMORY_WARNING_THRESHOLD ({memory_warning_threshold})");
        match r.raw("MEMORY_CRITICAL_THRESHOLD") {
            Some(raw) => r.problem("MEMORY_CRITICAL_THRESHOLD", Some(&raw), &expected),
            None => r.problems.push(Problem {
                variable: "MEMORY_CRITICAL_THRESHOLD".to_string(),
                value: None,
                message: format!(
                    "MEMORY_CRITICAL_THRESHOLD is unset and its default \
                     {memory_critical_threshold} is below MEMORY_WARNING_THRESHOLD \
                     ({memory_warning_threshold}): set it to {expected}"
                ),
                expected,
            }),
        }
    }
    let monitor_interval_secs = r.whole(
        "MONITOR_INTERVAL_SECS",
        300u64,
        1..=31_536_000,
        "a whole number of seconds from 1 to 31536000 (1 year)",
    );
    let cleanup_interval_hours = r.number(
        "CLEANUP_INTERVAL_HOURS",
        6.0,
        (1.0 / 3600.0, true),
        8760.0,
        "a number of hours from 0.000278 (1 second) to 8760 (1 year)",
    );
    ResourceSettings {
        data_dir,
        areas: areas.split(',').map(str::to_string).collect(),
        max_temp_age_hours,
        max_cache_size_gb,
        cache_low_water_ratio,
        memory_warning_threshold,
        disk_warning_threshold,
        memory_critical_threshold,
        monitor_interval_secs,
        cleanup_interval_hours,
    }
}
