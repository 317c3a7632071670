//! The cleanup policy: which files to remove from the managed areas, and which resource
//! warnings to raise.
//!
//! - Age: in every area, files, links and other entries (FIFOs, sockets, devices) strictly
//!   older than `max_temp_age_hours` (by modification time) are removed, then directories left
//!   empty that are themselves that old. `force` treats everything as old.
//! - Cache cap: when the `cache` area holds more than `max_cache_size_gb` GiB, its oldest files
//!   (or, with [`run_with`], files in another [`Eviction`] order) go first until it is at or
//!   below `cache_low_water_ratio` of the cap. Only regular files count and go.
//! - Locks: a file locked by a process is never planned for removal (and the host refuses it
//!   anyway); each one skipped counts in `skipped_in_use`. A locked directory is never planned
//!   for removal, nor is anything below it, by age or by the cache cap; it counts once in
//!   `skipped_in_use` when it keeps back anything that would otherwise go (itself included),
//!   and what lies below it is not counted again.
//!
//! The host is reached through [`Filesystem`]: one scan per area and one removal batch per phase.

use std::collections::{HashMap, HashSet};

use crate::catalog;
use crate::types::{
    AppError, Assessment, CleanupProblem, CleanupReport, CleanupSettings, Entry, EntryKind,
    ErrorKind, FsError, Level, PhaseReport, PlannedRemoval, Removal, RemovalStatus,
    ResourceWarning, ScanResult, SystemResources, ValidationContext,
};

/// Most paths sent to the host in one removal batch (the host's limit).
pub const MAX_BATCH: usize = 65_536;

/// The area whose size is capped.
pub const CACHE_AREA: &str = "cache";
const GIB: f64 = 1024.0 * 1024.0 * 1024.0;

/// The host's filesystem capability as the policy sees it.
pub trait Filesystem {
    /// The managed areas.
    fn areas(&self) -> Vec<String>;
    /// Every entry below `area`.
    fn scan(&self, area: &str) -> Result<ScanResult, FsError>;
    /// Removes `paths` in order; one outcome per path.
    fn remove(&self, area: &str, paths: &[String]) -> Vec<Removal>;
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

/// Running totals of one run.
struct Tally<'a> {
    report: CleanupReport,
    dry_run: bool,
    fs: &'a dyn Filesystem,
}

impl Tally<'_> {
    fn problem(&mut self, area: &str, path: &str, reason: String) {
        self.report.errors.push(CleanupProblem {
            area: area.to_string(),
            path: path.to_string(),
            reason,
        });
    }

    /// Removes `planned` (or records them in a dry run); returns the paths actually gone.
    fn remove(
        &mut self,
        area: &str,
        planned: Vec<(&Entry, &'static str)>,
        cache: bool,
    ) -> HashSet<String> {
        let mut gone = HashSet::new();
        if planned.is_empty() {
            return gone;
        }
        let outcomes: Vec<Removal> = if self.dry_run {
            planned
                .iter()
                .map(|(entry, _)| Removal {
                    path: entry.path.clone(),
                    status: RemovalStatus::Removed,
                    bytes: entry.size,
                    reason: None,
                })
                .collect()
        } else {
            let paths: Vec<String> = planned
                .iter()
                .map(|(entry, _)| entry.path.clone())
                .collect();
            paths
                .chunks(MAX_BATCH)
                .flat_map(|batch| self.fs.remove(area, batch))
                .collect()
        };
        for ((entry, why), outcome) in planned.iter().zip(outcomes) {
            if outcome.path != entry.path {
                self.problem(
                    area,
                    &entry.path,
                    "the host answered for another path".to_string(),
                );
                continue;
            }
            match outcome.status {
                RemovalStatus::Removed => {
                    let phase = if cache {
                        &mut self.report.cache_cleanup
                    } else {
                        &mut self.report.temporary_files
                    };
                    // What the host freed counts whatever the entry turned out to be (a
                    // directory swapped for a link since the scan frees the link's bytes).
                    if entry.kind == EntryKind::Directory {
                        phase.directories_removed += 1;
                    } else {
                        phase.files_removed += 1;
                    }
                    phase.bytes_freed += outcome.bytes;
                    self.report.removals.push(PlannedRemoval {
                        area: area.to_string(),
                        path: entry.path.clone(),
                        bytes: outcome.bytes,
                        reason: (*why).to_string(),
                    });
                    gone.insert(entry.path.clone());
                }
                RemovalStatus::Vanished => {
                    self.report.vanished += 1;
                    gone.insert(entry.path.clone());
                }
                RemovalStatus::InUse => self.report.skipped_in_use += 1,
                RemovalStatus::Refused | RemovalStatus::Failed => {
                    let reason = outcome.reason.unwrap_or_else(|| "not removed".to_string());
                    self.problem(area, &entry.path, reason);
                }
            }
        }
        gone
    }
}

fn empty_phase() -> PhaseReport {
    PhaseReport {
        files_removed: 0,
        bytes_freed: 0,
        directories_removed: 0,
    }
}

fn parent_of(path: &str) -> &str {
    path.rsplit_once('/').map_or("", |(parent, _)| parent)
}

/// The directories of one scan that a process holds a lock on.
struct LockedDirectories<'a>(HashSet<&'a str>);

impl<'a> LockedDirectories<'a> {
    fn new(entries: &'a [Entry]) -> Self {
        Self(
            entries
                .iter()
                .filter(|entry| entry.locked && entry.kind == EntryKind::Directory)
                .map(|entry| entry.path.as_str())
                .collect(),
        )
    }

    /// The outermost locked directory that is `path` or holds it, if any: one lookup per
    /// ancestor, so `dir10/x` is never taken to be below `dir1`.
    fn holding(&self, path: &'a str) -> Option<&'a str> {
        if self.0.is_empty() {
            return None;
        }
        let mut holder = self.0.contains(path).then_some(path);
        let mut rest = path;
        while let Some((parent, _)) = rest.rsplit_once('/') {
            if self.0.contains(parent) {
                holder = Some(parent);
            }
            rest = parent;
        }
        holder
    }
}

/// The order in which the cache cap evicts files: the first file in this order goes first.
pub type Eviction = fn(&Entry, &Entry) -> std::cmp::Ordering;

/// The stock eviction order: oldest modification time first (then by path, for a stable order).
pub fn oldest_first(a: &Entry, b: &Entry) -> std::cmp::Ordering {
    a.mtime.cmp(&b.mtime).then_with(|| a.path.cmp(&b.path))
}

/// Cleans every area through `fs`, evicting the oldest cache files first. `now` is seconds
/// since the epoch.
pub fn run(
    fs: &dyn Filesystem,
    settings: &CleanupSettings,
    now: u64,
    force: bool,
    dry_run: bool,
) -> Result<CleanupReport, AppError> {
    run_with(fs, settings, now, force, dry_run, oldest_first)
}

/// Cleans every area through `fs` like [`run`], with the cache cap evicting files in the
/// order `eviction` gives.
pub fn run_with(
    fs: &dyn Filesystem,
    settings: &CleanupSettings,
    now: u64,
    force: bool,
    dry_run: bool,
    eviction: Eviction,
) -> Result<CleanupReport, AppError> {
    check(settings)?;
    let max_age_secs = settings.max_temp_age_hours * 3600.0;
    let is_old = |mtime: u64| force || (now.saturating_sub(mtime) as f64) > max_age_secs;
    let mut tally = Tally {
        report: CleanupReport {
            temporary_files: empty_phase(),
            cache_cleanup: empty_phase(),
            directories_processed: 0,
            skipped_in_use: 0,
            vanished: 0,
            errors: Vec::new(),
            dry_run,
            removals: Vec::new(),
        },
        dry_run,
        fs,
    };
    for area in fs.areas() {
        let scan = match fs.scan(&area) {
            Ok(scan) => scan,
            Err(FsError::UnknownArea(name)) => {
                tally.problem(&area, "", format!("unknown area `{name}`"));
                continue;
            }
            Err(FsError::Io(reason)) => {
                tally.problem(&area, "", reason);
                continue;
            }
        };
        tally.report.directories_processed += 1;
        for problem in &scan.problems {
            tally.problem(&area, &problem.path, problem.reason.clone());
        }
        let entries = &scan.entries;
        // A locked directory keeps everything below it; it is counted once in
        // `skipped_in_use` when it keeps back anything (itself included) that would go.
        let locked = LockedDirectories::new(entries);
        let mut held: HashSet<&str> = HashSet::new();

        // Age: everything but directories first (files, links, FIFOs, sockets, devices).
        let mut planned = Vec::new();
        for entry in entries {
            if entry.kind == EntryKind::Directory || !is_old(entry.mtime) {
                continue;
            }
            if let Some(directory) = locked.holding(&entry.path) {
                held.insert(directory);
            } else if entry.locked {
                tally.report.skipped_in_use += 1;
            } else {
                planned.push((entry, "age"));
            }
        }
        let mut gone = tally.remove(&area, planned, false);

        // Then directories left empty, deepest first, so parents can follow their children.
        let mut children: HashMap<&str, Vec<&Entry>> = HashMap::new();
        for entry in entries {
            children
                .entry(parent_of(&entry.path))
                .or_default()
                .push(entry);
        }
        let mut directories: Vec<&Entry> = entries
            .iter()
            .filter(|entry| entry.kind == EntryKind::Directory)
            .collect();
        directories.sort_by_key(|entry| std::cmp::Reverse(entry.path.matches('/').count()));
        let mut empty: HashSet<&str> = HashSet::new();
        let mut planned_dirs = Vec::new();
        for directory in directories {
            if let Some(holder) = locked.holding(&directory.path) {
                if is_old(directory.mtime) {
                    held.insert(holder);
                }
                continue;
            }
            let all_gone = children.get(directory.path.as_str()).is_none_or(|kids| {
                kids.iter().all(|kid| {
                    gone.contains(&kid.path)
                        || (kid.kind == EntryKind::Directory && empty.contains(kid.path.as_str()))
                })
            });
            if all_gone && is_old(directory.mtime) {
                empty.insert(&directory.path);
                planned_dirs.push((directory, "age"));
            }
        }
        gone.extend(tally.remove(&area, planned_dirs, false));

        // Cache cap: in eviction order down to the low-water mark.
        if area == CACHE_AREA {
            let mut remaining: Vec<&Entry> = entries
                .iter()
                .filter(|entry| entry.kind == EntryKind::File && !gone.contains(&entry.path))
                .collect();
            let mut total: u64 = remaining.iter().map(|entry| entry.size).sum();
            let cap = settings.max_cache_size_gb * GIB;
            if total as f64 > cap {
                let target = cap * settings.cache_low_water_ratio;
                remaining.sort_by(|a, b| eviction(a, b));
                let mut planned = Vec::new();
                for entry in remaining {
                    if total as f64 <= target {
                        break;
                    }
                    if let Some(directory) = locked.holding(&entry.path) {
                        held.insert(directory);
                        continue;
                    }
                    if entry.locked {
                        tally.report.skipped_in_use += 1;
                        continue;
                    }
                    total = total.saturating_sub(entry.size);
                    planned.push((entry, "cache-cap"));
                }
                tally.remove(&area, planned, true);
            }
        }
        tally.report.skipped_in_use += held.len() as u64;
    }
    Ok(tally.report)
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
