//! `size-first`: a bachata-common cleanup policy whose cache cap evicts the **largest** files
//! first (the stock policy evicts the oldest). Big renders and downloads go before the many
//! small analysis files that are cheap to keep and costly to recompute.
//!
//! It targets the world `cleanup-policy` of `wit/world.wit` and exports only `cleanup`: the
//! host takes every other concern (configuration, the error catalog, pose, …) from the stock
//! policy. Its rules, the stock policy's but for the eviction order:
//!
//! - Age, in every area: files, links and other entries strictly older than
//!   `max-temp-age-hours` (by modification time, at `options.now`) are removed as they are
//!   listed, then directories left empty that are old themselves; `force` treats everything
//!   as old.
//! - Cache cap: when the regular files left in the `cache` area add up to more than
//!   `max-cache-size-gb` GiB, the LARGEST go first (equal sizes in walk order) until the area
//!   is at or below `cache-low-water-ratio` of the cap. The cut-off is found in bounded memory
//!   ([`kit::find_cut`]).
//! - Locks: a locked file, and everything in a locked directory, is kept; each counts in
//!   `skipped-in-use` (a locked directory once) when it keeps back what would otherwise go.
//! - `assess` warns when memory or disk use is above its threshold and asks for an emergency
//!   cleanup above the critical memory threshold.
//!
//! Dry runs, batching and the report are the kit's (`src/kit.rs`). Build it with
//! `cargo build -p size-first-policy --target wasm32-wasip2 --release` and point the host at
//! `target/wasm32-wasip2/release/size_first_policy.wasm` (`--policy` or `BACHATA_POLICY`); a
//! running daemon picks it up when that file changes.

pub mod kit;

use kit::{
    AppError, Assessment, CleanupReport, CleanupRun, CleanupSettings, Entry, Histogram, Kind,
    Level, Reason, ResourceWarning, RunOptions, SystemResources,
};

/// The area whose size is capped.
pub const CACHE: &str = "cache";
const GIB: f64 = 1024.0 * 1024.0 * 1024.0;

/// The eviction key (the smallest goes first): the largest file first; files of equal size in
/// the order the host walks them.
pub fn largest_first(entry: &Entry) -> u64 {
    u64::MAX - entry.size
}

/// The policy.
pub struct SizeFirst;

impl kit::Guest for SizeFirst {
    fn run(settings: CleanupSettings, options: RunOptions) -> Result<CleanupReport, AppError> {
        clean(&settings, CleanupRun::new(&options))
    }

    fn assess(settings: CleanupSettings, snapshot: SystemResources) -> Assessment {
        assess(&settings, &snapshot)
    }
}

// Exported in the component only: a native build (the unit tests) has no component exports.
#[cfg(target_family = "wasm")]
kit::export!(SizeFirst);

/// Cleans every area of `run`: the age rule, then the size-first cap of the `cache` area.
pub fn clean(settings: &CleanupSettings, mut run: CleanupRun) -> Result<CleanupReport, AppError> {
    kit::check_settings(settings)?;
    let age = run.age(settings.max_temp_age_hours);
    // What the cap may evict: regular files the age rule keeps and no lock holds.
    let evictable = |entry: &Entry| {
        (entry.kind == Kind::File && !entry.held() && !age.is_old(entry))
            .then(|| largest_first(entry))
    };
    for name in run.areas() {
        let mut area = run.area(&name);
        let mut counted = (name == CACHE).then(|| Histogram::new(0, u64::MAX));
        let mut walk = area.walk();
        while let Some(entry) = walk.next_entry() {
            let goes = match entry.kind {
                // A locked directory is asked for too: the kit keeps it and counts it once.
                Kind::Directory => age.is_old(&entry) && (entry.emptied || entry.held()),
                _ => age.is_old(&entry),
            };
            if goes {
                walk.remove(&entry, Reason::Age);
            } else if let (Some(counted), Some(key)) = (counted.as_mut(), evictable(&entry)) {
                counted.add(key, entry.size);
            }
        }
        let Some(counted) = counted else { continue };
        if area.scan_failed() {
            continue;
        }
        let left = area.bytes_left();
        let cap = settings.max_cache_size_gb * GIB;
        if left as f64 <= cap {
            continue;
        }
        let need = (left as f64 - cap * settings.cache_low_water_ratio).ceil() as u64;
        let Some(mut cut) = kit::find_cut(&mut area, counted, need, evictable) else {
            continue;
        };
        let mut walk = area.walk();
        while let Some(entry) = walk.next_entry() {
            // Only regular files count, and those the age rule takes are not the cap's.
            if entry.kind != Kind::File || (age.is_old(&entry) && !entry.held()) {
                continue;
            }
            let key = largest_first(&entry);
            let goes = if entry.held() {
                // Kept (and counted in skipped-in-use) although the order reaches it.
                cut.reaches(key)
            } else {
                cut.takes(key, entry.size)
            };
            if goes {
                walk.remove(&entry, Reason::CacheCap);
            }
        }
    }
    Ok(run.report())
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
    let critical = memory.used_ratio > settings.memory_critical_threshold;
    if memory.used_ratio > settings.memory_warning_threshold {
        let (level, threshold, name) = if critical {
            (
                Level::Critical,
                settings.memory_critical_threshold,
                "critical",
            )
        } else {
            (Level::Warning, settings.memory_warning_threshold, "warning")
        };
        warnings.push(ResourceWarning {
            resource: "memory".to_string(),
            level,
            value: memory.used_ratio,
            threshold,
            message: format!(
                "memory use {} ({} of {}) is above the {name} threshold of {}",
                percent(memory.used_ratio),
                gib(memory.used),
                gib(memory.total),
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
        emergency_cleanup: critical,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kit::{FsError, Page, Pages, RunOptions};
    use std::cell::RefCell;
    use std::rc::Rc;

    const NOW: u64 = 1_700_000_000;
    const HOUR: u64 = 3600;

    /// One entry of a fake area: kind digit, locked, size, age in hours, path.
    type Row = (u8, bool, u64, u64, &'static str);

    /// The fake areas, by name, shared by the test and its fake host.
    type Areas = Rc<RefCell<Vec<(String, Vec<Row>)>>>;

    /// A fake `host-fs`: areas listed depth first, removals answered as the host would (locks
    /// refused, a directory only when empty; nothing removed in a dry run).
    struct Fake {
        areas: Areas,
        dry_run: bool,
    }

    struct FakeScan(VecDeque<String>);

    use std::collections::VecDeque;

    impl Pages for FakeScan {
        fn next(&mut self, max: u32) -> Page {
            let take = (max as usize).min(self.0.len());
            let entries: String = self.0.drain(..take).collect();
            Page {
                entries,
                problems: Vec::new(),
                done: self.0.is_empty(),
            }
        }
    }

    impl kit::Host for Fake {
        fn areas(&self) -> Vec<String> {
            self.areas
                .borrow()
                .iter()
                .map(|(name, _)| name.clone())
                .collect()
        }

        fn open_scan(&self, area: &str) -> Result<Box<dyn Pages>, FsError> {
            let areas = self.areas.borrow();
            let (_, rows) = areas
                .iter()
                .find(|(name, _)| name == area)
                .ok_or_else(|| FsError::UnknownArea(area.to_string()))?;
            let packed = rows
                .iter()
                .map(|(kind, locked, size, hours, path)| {
                    let mtime = NOW - hours * HOUR;
                    format!("{kind}:{}:{size}:{mtime}:0:{path}\0", u8::from(*locked))
                })
                .collect();
            Ok(Box::new(FakeScan(packed)))
        }

        fn remove(&self, area: &str, _reason: Reason, paths: &str) -> String {
            let mut areas = self.areas.borrow_mut();
            let rows = &mut areas
                .iter_mut()
                .find(|(name, _)| name == area)
                .expect("known area")
                .1;
            let mut answer = String::new();
            for path in paths.split_terminator('\0') {
                let Some(index) = rows.iter().position(|row| row.4 == path) else {
                    answer.push_str("1:0:-\0");
                    continue;
                };
                let (kind, locked, size, _, _) = rows[index];
                let locked_above = rows.iter().any(|row| {
                    row.1 && path.len() > row.4.len() && path.starts_with(&format!("{}/", row.4))
                });
                let below = rows
                    .iter()
                    .any(|row| row.4.starts_with(&format!("{path}/")));
                if locked || locked_above {
                    answer.push_str("2:0:+locked by a process\0");
                } else if kind == 1 && below && !self.dry_run {
                    answer.push_str("3:0:-\0");
                } else {
                    answer.push_str(&format!("0:{size}:-\0"));
                    if !self.dry_run {
                        rows.remove(index);
                    }
                }
            }
            answer
        }
    }

    fn settings(cap_bytes: f64, ratio: f64) -> CleanupSettings {
        CleanupSettings {
            max_temp_age_hours: 24.0,
            max_cache_size_gb: cap_bytes / GIB,
            cache_low_water_ratio: ratio,
            memory_warning_threshold: 0.85,
            disk_warning_threshold: 0.9,
            memory_critical_threshold: 0.9,
        }
    }

    /// Runs the policy over `areas`; the report and the paths left in each area.
    fn run(
        areas: Vec<(&str, Vec<Row>)>,
        settings: &CleanupSettings,
        dry_run: bool,
    ) -> (CleanupReport, Vec<String>) {
        let areas: Areas = Rc::new(RefCell::new(
            areas
                .into_iter()
                .map(|(name, rows)| (name.to_string(), rows))
                .collect::<Vec<_>>(),
        ));
        let options = RunOptions {
            now: NOW,
            force: false,
            dry_run,
            max_samples: 100,
        };
        let fake = Fake {
            areas: Rc::clone(&areas),
            dry_run,
        };
        let report = clean(settings, CleanupRun::with_host(&options, Box::new(fake))).expect("run");
        let left = areas
            .borrow()
            .iter()
            .flat_map(|(name, rows)| rows.iter().map(move |row| format!("{name}/{}", row.4)))
            .collect();
        (report, left)
    }

    fn removed(report: &CleanupReport, reason: &str) -> Vec<String> {
        let mut paths: Vec<String> = report
            .removals
            .iter()
            .filter(|removal| removal.reason == reason)
            .map(|removal| format!("{}/{}", removal.area, removal.path))
            .collect();
        paths.sort();
        paths
    }

    #[test]
    fn the_key_puts_the_largest_first() {
        let mut rows = [(10, "small-old"), (900, "big-new"), (300, "mid")];
        rows.sort_by_key(|(size, _)| u64::MAX - size);
        let order: Vec<&str> = rows.iter().map(|(_, path)| *path).collect();
        assert_eq!(order, ["big-new", "mid", "small-old"]);
    }

    #[test]
    fn the_cap_evicts_the_largest_file_where_the_stock_policy_takes_the_oldest() {
        // About 1 KiB of cap, trimmed to 80% (859 bytes): 241 bytes must go. The stock policy
        // takes old-small and mid; size-first takes big alone.
        let cache = vec![
            (0, false, 100, 3, "old-small.bin"),
            (0, false, 300, 2, "mid.bin"),
            (0, false, 700, 1, "big.bin"),
        ];
        let (report, left) = run(vec![("cache", cache)], &settings(1073.74, 0.8), false);
        assert_eq!(removed(&report, "cache-cap"), ["cache/big.bin"]);
        assert_eq!(left, ["cache/old-small.bin", "cache/mid.bin"]);
        assert_eq!(report.cache_cleanup.files_removed, 1);
        assert_eq!(report.cache_cleanup.bytes_freed, 700);
        assert_eq!(report.areas[0].cache_cleanup.bytes_freed, 700);
    }

    #[test]
    fn age_goes_first_and_the_cap_counts_only_what_stays() {
        let temp = vec![
            (0, false, 10, 48, "stale.tmp"),
            (0, false, 10, 0, "fresh.tmp"),
            (1, false, 0, 48, "old-dir"),
            (0, false, 5, 48, "old-dir/inner.tmp"),
            (1, false, 0, 48, "kept-dir"),
            (0, false, 5, 1, "kept-dir/new.tmp"),
        ];
        // 12,500 bytes stay in the cache after the age rule; down to 5,000: 6,000 and 3,000
        // go (the largest), 3,500 stay.
        let cache = vec![
            (0, false, 100, 72, "ancient.dat"),
            (0, false, 6000, 0, "big.bin"),
            (1, false, 0, 0, "sub"),
            (0, false, 3000, 0, "sub/mid.bin"),
            (0, false, 2000, 2, "c.bin"),
            (0, false, 1000, 2, "d.bin"),
            (0, false, 500, 2, "e.bin"),
        ];
        let areas = || vec![("temp", temp.clone()), ("cache", cache.clone())];
        let settings = settings(10_000.0, 0.5);
        let (dry, untouched) = run(areas(), &settings, true);
        let (real, left) = run(areas(), &settings, false);
        for report in [&dry, &real] {
            assert_eq!(
                removed(report, "age"),
                [
                    "cache/ancient.dat",
                    "temp/old-dir",
                    "temp/old-dir/inner.tmp",
                    "temp/stale.tmp"
                ]
            );
            assert_eq!(
                removed(report, "cache-cap"),
                ["cache/big.bin", "cache/sub/mid.bin"]
            );
            assert_eq!(report.temporary_files.files_removed, 3);
            assert_eq!(report.temporary_files.directories_removed, 1);
            assert_eq!(report.directories_processed, 2);
            assert_eq!(report.areas.len(), 2);
        }
        assert!(dry.dry_run && !real.dry_run);
        assert_eq!(
            untouched.len(),
            temp.len() + cache.len(),
            "a dry run removes nothing"
        );
        assert_eq!(
            left,
            [
                "temp/fresh.tmp",
                "temp/kept-dir",
                "temp/kept-dir/new.tmp",
                "cache/sub",
                "cache/c.bin",
                "cache/d.bin",
                "cache/e.bin"
            ]
        );
    }

    #[test]
    fn locked_files_and_directories_are_kept_and_counted_once() {
        let temp = vec![
            (0, true, 10, 48, "locked.tmp"),
            (0, true, 10, 1, "locked-but-fresh.tmp"),
            (1, true, 0, 48, "held"),
            (0, false, 10, 48, "held/a.tmp"),
            (1, false, 0, 48, "held/deeper"),
            (0, false, 10, 48, "held/deeper/b.tmp"),
        ];
        let (report, left) = run(vec![("temp", temp)], &settings(1e9, 0.8), false);
        assert!(report.removals.is_empty(), "{:?}", report.removals);
        assert_eq!(left.len(), 6);
        // The locked old file, and the locked directory once for everything it holds.
        assert_eq!(report.skipped_in_use, 2);
    }

    #[test]
    fn settings_out_of_range_are_refused() {
        let options = RunOptions {
            now: NOW,
            force: false,
            dry_run: true,
            max_samples: 10,
        };
        let fake = Fake {
            areas: Rc::new(RefCell::new(Vec::new())),
            dry_run: true,
        };
        let error = clean(
            &settings(0.0, 0.8),
            CleanupRun::with_host(&options, Box::new(fake)),
        )
        .expect_err("a cap of 0");
        assert_eq!(error.error_code, "VALIDATION_ERROR");
        assert!(
            error.message.contains("max_cache_size_gb"),
            "{}",
            error.message
        );
    }
}
