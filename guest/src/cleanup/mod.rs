//! The cleanup policy: which files to remove from the managed areas, and which resource
//! warnings to raise. Memory does not grow with the areas: the host lists an area a page at a
//! time and removals go in batches of at most [`BATCH`] paths as they are decided.
//!
//! - Age: in every area, files, links and other entries (FIFOs, sockets, devices) strictly
//!   older than `max_temp_age_hours` (by modification time) are removed as they are listed,
//!   then directories left empty that are themselves that old, each as soon as everything
//!   below it has been seen. `force` treats everything as old.
//! - Cache cap: when the `cache` area holds more than `max_cache_size_gb` GiB after the age
//!   rule, its oldest files (or, with [`run_with`], files in another [`Eviction`] order) go
//!   first until it is at or below `cache_low_water_ratio` of the cap. Only regular files
//!   count and go. The cut-off is found in bounded memory (see [`cap`]).
//! - Locks: a file locked by a process is never planned for removal (and the host refuses it
//!   anyway); each one skipped counts in `skipped_in_use`. A locked directory is never planned
//!   for removal, nor is anything below it, by age or by the cache cap; it counts once in
//!   `skipped_in_use` when it keeps back anything that would otherwise go (itself included),
//!   and what lies below it is not counted again.

mod age;
pub mod cap;
pub mod histogram;
mod tally;
mod walk;

use crate::catalog;
use crate::types::{
    AppError, Assessment, CleanupReport, CleanupSettings, ErrorKind, FsError, Level, RemovalReason,
    ResourceWarning, RunOptions, ScanProblem, SystemResources, ValidationContext,
};

pub use cap::Eviction;
pub use tally::{BATCH, empty_report};
pub use walk::PAGE;

/// The area whose size is capped.
pub const CACHE_AREA: &str = "cache";
const GIB: f64 = 1024.0 * 1024.0 * 1024.0;

/// What an entry is (symbolic links are reported as links, never followed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryKind {
    /// A regular file.
    File,
    /// A directory.
    Directory,
    /// A symbolic link (its target is never looked at).
    Symlink,
    /// Anything else (socket, FIFO, device).
    Other,
}

/// What happened to one path of a removal batch (see `remove` in `wit/host-fs.wit`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RemovalStatus {
    /// Removed (in a dry run: would be removed).
    Removed,
    /// Already gone: nothing to do.
    Vanished,
    /// Skipped: a process holds a lock on it, or on a directory above it.
    InUse,
    /// A directory that is not empty: kept, not an error.
    NotEmpty,
    /// Refused by the host.
    Refused,
    /// The operating system refused.
    Failed,
}

/// One entry found by a scan (what a page carries, packed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Path relative to the area root, `/`-separated, in the host's form of names.
    pub path: String,
    /// What the entry is.
    pub kind: EntryKind,
    /// Size in bytes (0 for directories).
    pub size: u64,
    /// Last modification, whole seconds since the Unix epoch.
    pub mtime: u64,
    /// The sub-second part of the last modification, in nanoseconds.
    pub mtime_nanos: u32,
    /// Whether a process holds a lock on this entry itself.
    pub locked: bool,
}

/// The outcome for one path of a removal batch (`host-fs`'s `removal`, carried packed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Removal {
    /// What happened.
    pub status: RemovalStatus,
    /// Bytes freed.
    pub bytes: u64,
    /// Why, when not removed.
    pub reason: Option<String>,
}

/// One page of a scan, its entries unpacked (`host-fs` carries them packed).
#[derive(Debug, Clone, Default)]
pub struct Page {
    /// The next entries of the walk, in order.
    pub entries: Vec<Entry>,
    /// Places that could not be read since the last page.
    pub problems: Vec<ScanProblem>,
    /// Whether the walk is over.
    pub done: bool,
}

/// The host's filesystem capability as the policy sees it.
pub trait Filesystem {
    /// An open walk of an area.
    type Scan;
    /// The managed areas.
    fn areas(&self) -> Vec<String>;
    /// Starts a walk of `area`.
    fn open_scan(&self, area: &str) -> Result<Self::Scan, FsError>;
    /// The next at most `max` entries of a walk.
    fn next(scan: &Self::Scan, max: u32) -> Page;
    /// Removes `paths` in order, for `reason`; one outcome per path.
    fn remove(&self, area: &str, reason: RemovalReason, paths: &[String]) -> Vec<Removal>;
}

fn invalid(field: &str, value: f64, expected: &str) -> AppError {
    catalog::make_error(
        ErrorKind::Validation(ValidationContext {
            field: Some(field.to_string()),
            value: Some(value.to_string()),
        }),
        format!("cleanup setting {field}={value} is invalid: expected {expected}"),
        Vec::new(),
    )
}

/// Rejects settings no configuration would produce (a policy must not trust its caller).
fn check(settings: &CleanupSettings) -> Result<(), AppError> {
    let CleanupSettings {
        max_temp_age_hours,
        max_cache_size_gb,
        cache_low_water_ratio,
        ..
    } = *settings;
    if !(max_temp_age_hours.is_finite() && max_temp_age_hours >= 0.0) {
        return Err(invalid(
            "max_temp_age_hours",
            max_temp_age_hours,
            "a number ≥ 0",
        ));
    }
    if !(max_cache_size_gb.is_finite() && max_cache_size_gb > 0.0) {
        return Err(invalid(
            "max_cache_size_gb",
            max_cache_size_gb,
            "a number > 0",
        ));
    }
    if !(cache_low_water_ratio > 0.0 && cache_low_water_ratio <= 1.0) {
        return Err(invalid(
            "cache_low_water_ratio",
            cache_low_water_ratio,
            "a ratio in (0, 1]",
        ));
    }
    Ok(())
}

/// The stock eviction order: oldest modification time first, to the nanosecond.
pub fn oldest_first(entry: &Entry) -> u64 {
    entry
        .mtime
        .saturating_mul(1_000_000_000)
        .saturating_add(u64::from(entry.mtime_nanos))
}

/// Cleans every area through `fs`, evicting the oldest cache files first.
pub fn run<F: Filesystem>(
    fs: &F,
    settings: &CleanupSettings,
    options: &RunOptions,
) -> Result<CleanupReport, AppError> {
    run_with(fs, settings, options, oldest_first)
}

/// Cleans every area through `fs` like [`run`], with the cache cap evicting files with the
/// smallest `eviction` key first.
pub fn run_with<F: Filesystem>(
    fs: &F,
    settings: &CleanupSettings,
    options: &RunOptions,
    eviction: Eviction,
) -> Result<CleanupReport, AppError> {
    check(settings)?;
    let rules = age::Rules {
        now: options.now,
        max_age_secs: settings.max_temp_age_hours * 3600.0,
        force: options.force,
    };
    let mut tally = tally::Tally::new(fs, options.dry_run, options.max_samples);
    for area in fs.areas() {
        tally.begin_area(&area);
        let mut counted = age::Counted::default();
        let mut count = (area == CACHE_AREA).then(|| cap::Count::new(eviction));
        let mut pass = age::AgePass {
            rules,
            counted: &mut counted,
            count: count.as_mut(),
        };
        if let walk::Walked::Failed = walk::walk(&mut tally, &mut pass) {
            tally.end_area();
            continue;
        }
        tally.processed();
        if let Some(mut count) = count {
            count.total = count.total.saturating_add(tally.take_kept_bytes());
            let cap = settings.max_cache_size_gb * GIB;
            if count.total as f64 > cap {
                let target = cap * settings.cache_low_water_ratio;
                let need = (count.total as f64 - target).ceil() as u64;
                let key = count.key;
                if let Some(cut) = cap::find_cut(&mut tally, &rules, count, need) {
                    let mut evict = cap::Evict {
                        rules,
                        key,
                        cut,
                        taken: 0,
                        counted: &mut counted,
                    };
                    walk::walk(&mut tally, &mut evict);
                }
            }
        }
        tally.end_area();
    }
    Ok(tally.finish())
}

fn percent(ratio: f64) -> String {
    format!("{:.1}%", ratio * 100.0)
}

fn gib(bytes: u64) -> String {
    format!("{:.1} GiB", bytes as f64 / GIB)
}

/// Judges a snapshot against the thresholds.
pub fn assess(settings: &CleanupSettings, snapshot: &SystemResources) -> Assessment {
    let mut warnings = Vec::new();
    let memory = &snapshot.memory;
    let memory_critical = memory.used_ratio > settings.memory_critical_threshold;
    if memory.used_ratio > settings.memory_warning_threshold {
        let (level, threshold) = if memory_critical {
            (Level::Critical, settings.memory_critical_threshold)
        } else {
            (Level::Warning, settings.memory_warning_threshold)
        };
        warnings.push(ResourceWarning {
            resource: "memory".to_string(),
            level,
            value: memory.used_ratio,
            threshold,
            message: format!(
                "memory use {} ({} of {}) is above the {} threshold of {}",
                percent(memory.used_ratio),
                gib(memory.used),
                gib(memory.total),
                if memory_critical {
                    "critical"
                } else {
                    "warning"
                },
                percent(threshold)
            ),
        });
    }
    let disk = &snapshot.disk;
    if disk.used_ratio > settings.disk_warning_threshold {
        warnings.push(ResourceWarning {
            resource: "disk".to_string(),
            level: Level::Warning,
            value: disk.used_ratio,
            threshold: settings.disk_warning_threshold,
            message: format!(
                "disk use {} ({} free of {}) is above the warning threshold of {}",
                percent(disk.used_ratio),
                gib(disk.free),
                gib(disk.total),
                percent(settings.disk_warning_threshold)
            ),
        });
    }
    Assessment {
        warnings,
        emergency_cleanup: memory_critical,
    }
}

#[cfg(test)]
mod tests;
