use std::cell::RefCell;
use std::collections::BTreeMap;

use super::*;
use crate::types::{AreaUsage, Disk, EntryKind, Memory, RemovalStatus, RunOptions, ScanProblem};

const NOW: u64 = 1_700_000_000;
const HOUR: u64 = 3600;

/// An in-memory filesystem of areas, listed in walk order a page at a time; records every
/// removal batch and the largest page asked for.
#[derive(Default)]
struct FakeFs {
    areas: RefCell<BTreeMap<String, Vec<Entry>>>,
    batches: RefCell<Vec<(String, RemovalReason, Vec<String>)>>,
    vanished: Vec<String>,
    scan_problems: Vec<ScanProblem>,
    /// Most entries per page (0: as many as asked).
    page: usize,
    /// Answer like a host in a dry run: nothing is removed.
    dry_run: bool,
    /// Entries that vanish from the area once the first page of a scan has been handed out.
    vanish_after_first_page: RefCell<Vec<String>>,
    scans: RefCell<usize>,
}

/// A scan of the fake: what the area held when it was opened (less what vanished), and how
/// far the walk has got.
struct FakeScan<'a> {
    fs: &'a FakeFs,
    area: String,
    entries: Vec<Entry>,
    at: RefCell<usize>,
}

fn entry(path: &str, kind: EntryKind, size: u64, age_hours: u64) -> Entry {
    Entry {
        path: path.to_string(),
        kind,
        size,
        mtime: NOW - age_hours * HOUR,
        mtime_nanos: 0,
        locked: false,
    }
}

fn file(path: &str, size: u64, age_hours: u64) -> Entry {
    entry(path, EntryKind::File, size, age_hours)
}

fn dir(path: &str, age_hours: u64) -> Entry {
    entry(path, EntryKind::Directory, 0, age_hours)
}

fn options(force: bool, dry_run: bool) -> RunOptions {
    RunOptions {
        now: NOW,
        force,
        dry_run,
        max_samples: 1000,
    }
}

impl FakeFs {
    fn with(areas: &[(&str, Vec<Entry>)]) -> Self {
        Self {
            areas: RefCell::new(
                areas
                    .iter()
                    .map(|(name, entries)| (name.to_string(), entries.clone()))
                    .collect(),
            ),
            ..Self::default()
        }
    }

    fn paths(&self, area: &str) -> Vec<String> {
        self.areas.borrow()[area]
            .iter()
            .map(|e| e.path.clone())
            .collect()
    }

    fn removal(&self, entries: &mut Vec<Entry>, path: &str) -> Removal {
        let answer = |status, bytes| Removal {
            status,
            bytes,
            reason: None,
        };
        if self.vanished.iter().any(|gone| gone == path) {
            entries.retain(|e| e.path != path);
            return answer(RemovalStatus::Vanished, 0);
        }
        let Some(position) = entries.iter().position(|e| e.path == path) else {
            return answer(RemovalStatus::Vanished, 0);
        };
        let found = &entries[position];
        if found.locked {
            return answer(RemovalStatus::InUse, 0);
        }
        let prefix = format!("{path}/");
        if found.kind == EntryKind::Directory
            && !self.dry_run
            && entries.iter().any(|e| e.path.starts_with(&prefix))
        {
            return answer(RemovalStatus::NotEmpty, 0);
        }
        let bytes = found.size;
        if !self.dry_run {
            entries.remove(position);
        }
        answer(RemovalStatus::Removed, bytes)
    }
}

impl<'a> Filesystem for &'a FakeFs {
    type Scan = FakeScan<'a>;

    fn areas(&self) -> Vec<String> {
        self.areas.borrow().keys().cloned().collect()
    }

    fn open_scan(&self, area: &str) -> Result<FakeScan<'a>, FsError> {
        *self.scans.borrow_mut() += 1;
        let areas = self.areas.borrow();
        let entries = areas
            .get(area)
            .ok_or_else(|| FsError::UnknownArea(area.to_string()))?;
        Ok(FakeScan {
            fs: self,
            area: area.to_string(),
            entries: entries.clone(),
            at: RefCell::new(0),
        })
    }

    fn next(scan: &FakeScan<'a>, max: u32) -> Page {
        let mut at = scan.at.borrow_mut();
        let first = *at == 0;
        let limit = if scan.fs.page == 0 {
            max as usize
        } else {
            scan.fs.page.min(max as usize)
        };
        // Entries that vanished since the scan opened are not listed any more.
        let current = scan.fs.paths(&scan.area);
        let mut entries = Vec::new();
        while *at < scan.entries.len() && entries.len() < limit {
            let candidate = &scan.entries[*at];
            *at += 1;
            if current.contains(&candidate.path) {
                entries.push(candidate.clone());
            }
        }
        if first {
            let vanish = std::mem::take(&mut *scan.fs.vanish_after_first_page.borrow_mut());
            if let Some(area) = scan.fs.areas.borrow_mut().get_mut(&scan.area) {
                area.retain(|e| !vanish.contains(&e.path));
            }
        }
        Page {
            entries,
            problems: if first {
                scan.fs.scan_problems.clone()
            } else {
                Vec::new()
            },
            done: *at >= scan.entries.len(),
        }
    }

    fn remove(&self, area: &str, reason: RemovalReason, paths: &[String]) -> Vec<Removal> {
        self.batches
            .borrow_mut()
            .push((area.to_string(), reason, paths.to_vec()));
        let mut areas = self.areas.borrow_mut();
        let entries = areas.get_mut(area).expect("known area");
        paths
            .iter()
            .map(|path| self.removal(entries, path))
            .collect()
    }
}

fn settings() -> CleanupSettings {
    CleanupSettings {
        max_temp_age_hours: 24.0,
        max_cache_size_gb: 5.0,
        cache_low_water_ratio: 0.8,
        memory_warning_threshold: 0.85,
        disk_warning_threshold: 0.90,
        memory_critical_threshold: 0.90,
    }
}

#[test]
fn force_removes_every_file_of_a_directory() {
    let fs = FakeFs::with(&[(
        "temp",
        vec![
            file("a.tmp", 10, 0),
            file("b.tmp", 20, 0),
            file("c.tmp", 30, 0),
        ],
    )]);
    let report = run(&&fs, &settings(), &options(true, false)).expect("runs");
    assert_eq!(report.temporary_files.files_removed, 3);
    assert_eq!(report.temporary_files.bytes_freed, 60);
    assert_eq!(report.directories_processed, 1);
    assert!(fs.paths("temp").is_empty());
    assert_eq!(fs.batches.borrow().len(), 1, "one removal batch");
}

#[test]
fn only_files_strictly_older_than_the_limit_go() {
    let mut exactly = file("exactly.tmp", 1, 0);
    exactly.mtime = NOW - 24 * HOUR;
    let fs = FakeFs::with(&[(
        "temp",
        vec![file("old.tmp", 1, 25), exactly, file("new.tmp", 1, 1)],
    )]);
    let report = run(&&fs, &settings(), &options(false, false)).expect("runs");
    assert_eq!(report.temporary_files.files_removed, 1);
    assert_eq!(fs.paths("temp"), ["exactly.tmp", "new.tmp"]);
}

#[test]
fn emptied_old_directories_go_deepest_first_and_others_stay() {
    let fs = FakeFs::with(&[(
        "temp",
        vec![
            dir("job", 48),
            dir("job/frames", 48),
            file("job/frames/1.png", 5, 48),
            file("job/audio.wav", 5, 48),
            dir("fresh", 1),
            dir("keep", 48),
            file("keep/new.txt", 1, 1),
        ],
    )]);
    let report = run(&&fs, &settings(), &options(false, false)).expect("runs");
    assert_eq!(report.temporary_files.files_removed, 2);
    assert_eq!(report.temporary_files.directories_removed, 2);
    assert_eq!(fs.paths("temp"), ["fresh", "keep", "keep/new.txt"]);
    let batches = fs.batches.borrow();
    assert_eq!(
        batches[0].2,
        ["job/frames/1.png", "job/frames", "job/audio.wav", "job"],
        "each directory right after what it held"
    );
}

#[test]
fn locked_files_are_skipped_and_counted() {
    let mut locked = file("busy.mp4", 100, 48);
    locked.locked = true;
    let fs = FakeFs::with(&[("temp", vec![locked, file("idle.mp4", 100, 48)])]);
    let report = run(&&fs, &settings(), &options(true, false)).expect("runs");
    assert_eq!(report.skipped_in_use, 1);
    assert_eq!(fs.paths("temp"), ["busy.mp4"]);
}

#[test]
fn cache_over_cap_evicts_oldest_first_to_the_low_water_mark() {
    let gib = 1024 * 1024 * 1024;
    let mut tiny = settings();
    tiny.max_cache_size_gb = 1000.0 / gib as f64; // a 1000-byte cap
    tiny.max_temp_age_hours = 1000.0;
    let fs = FakeFs::with(&[(
        CACHE_AREA,
        vec![
            file("newest.bin", 300, 1),
            file("oldest.bin", 300, 30),
            file("middle.bin", 300, 20),
            file("older.bin", 300, 25),
        ],
    )]);
    let report = run(&&fs, &tiny, &options(false, false)).expect("runs");
    // 1200 bytes > 1000; low water 800: evict oldest (->900), older (->600).
    assert_eq!(report.cache_cleanup.files_removed, 2);
    assert_eq!(report.cache_cleanup.bytes_freed, 600);
    assert_eq!(fs.paths(CACHE_AREA), ["newest.bin", "middle.bin"]);
    assert!(report.removals.iter().all(|r| r.reason == "cache-cap"));
}

#[test]
fn cache_under_cap_is_left_alone() {
    let fs = FakeFs::with(&[(CACHE_AREA, vec![file("a.bin", 10, 1)])]);
    let report = run(&&fs, &settings(), &options(false, false)).expect("runs");
    assert_eq!(report.cache_cleanup.files_removed, 0);
    assert!(fs.batches.borrow().is_empty());
}

#[test]
fn dry_run_removes_nothing_and_lists_everything() {
    let mut fs = FakeFs::with(&[
        ("temp", vec![dir("d", 48), file("d/a", 7, 48)]),
        ("output", vec![file("b", 3, 48)]),
    ]);
    fs.dry_run = true;
    let report = run(&&fs, &settings(), &options(false, true)).expect("runs");
    assert!(report.dry_run);
    assert_eq!(fs.paths("temp"), ["d", "d/a"]);
    let listed: Vec<_> = report
        .removals
        .iter()
        .map(|r| format!("{}/{}", r.area, r.path))
        .collect();
    assert_eq!(listed, ["output/b", "temp/d/a", "temp/d"]);
    assert_eq!(report.temporary_files.bytes_freed, 10);
}

#[test]
fn vanished_files_are_counted_not_errors() {
    let mut fs = FakeFs::with(&[("temp", vec![file("gone", 5, 48), file("here", 5, 48)])]);
    fs.vanished = vec!["gone".to_string()];
    let report = run(&&fs, &settings(), &options(false, false)).expect("runs");
    assert_eq!(report.vanished, 1);
    assert_eq!(report.temporary_files.files_removed, 1);
    assert!(report.errors.is_empty());
}

#[test]
fn scan_problems_are_reported_not_raised() {
    let mut fs = FakeFs::with(&[("temp", vec![file("a", 1, 48)])]);
    fs.scan_problems = vec![ScanProblem {
        path: "locked-dir".into(),
        reason: "permission denied".into(),
    }];
    let report = run(&&fs, &settings(), &options(false, false)).expect("runs");
    assert_eq!(report.errors.len(), 1);
    assert_eq!(report.errors[0].path, "locked-dir");
    assert_eq!(report.temporary_files.files_removed, 1);
}

#[test]
fn nonsense_settings_are_rejected() {
    let fs = FakeFs::with(&[]);
    let mut bad = settings();
    bad.max_temp_age_hours = f64::NAN;
    assert!(run(&&fs, &bad, &options(false, false)).is_err());
    let mut bad = settings();
    bad.cache_low_water_ratio = 0.0;
    let error = run(&&fs, &bad, &options(false, false)).expect_err("invalid");
    assert_eq!(error.error_code, "VALIDATION_ERROR");
}

fn snapshot(memory_ratio: f64, disk_ratio: f64) -> SystemResources {
    let gib = 1u64 << 30;
    SystemResources {
        taken_at: NOW,
        memory: Memory {
            total: 8 * gib,
            available: ((1.0 - memory_ratio) * 8.0 * gib as f64) as u64,
            used: (memory_ratio * 8.0 * gib as f64) as u64,
            used_ratio: memory_ratio,
            container_limited: false,
        },
        disk: Disk {
            total: 100 * gib,
            free: ((1.0 - disk_ratio) * 100.0 * gib as f64) as u64,
            used: (disk_ratio * 100.0 * gib as f64) as u64,
            used_ratio: disk_ratio,
        },
        cpu_ratio: 0.1,
        load_average: (0.1, 0.1, 0.1),
        areas: vec![AreaUsage {
            name: "temp".into(),
            exists: true,
            size: 0,
            file_count: 0,
        }],
    }
}

#[test]
fn assessment_thresholds() {
    let calm = assess(&settings(), &snapshot(0.5, 0.5));
    assert!(calm.warnings.is_empty() && !calm.emergency_cleanup);

    let warm = assess(&settings(), &snapshot(0.87, 0.95));
    assert_eq!(warm.warnings.len(), 2);
    assert_eq!(warm.warnings[0].resource, "memory");
    assert_eq!(warm.warnings[0].level, Level::Warning);
    assert!(
        warm.warnings[0].message.contains("87.0%"),
        "{}",
        warm.warnings[0].message
    );
    assert_eq!(warm.warnings[1].resource, "disk");
    assert!(!warm.emergency_cleanup);

    let hot = assess(&settings(), &snapshot(0.93, 0.5));
    assert_eq!(hot.warnings[0].level, Level::Critical);
    assert!(hot.emergency_cleanup);
}

#[test]
fn another_eviction_order_changes_which_cache_files_go() {
    let gib = 1024u64 * 1024 * 1024;
    let mut tiny = settings();
    tiny.max_cache_size_gb = 1000.0 / gib as f64; // a 1000-byte cap, trimmed to 800
    let largest_first: Eviction = |entry| u64::MAX - entry.size;
    let fs = FakeFs::with(&[(
        "cache",
        vec![
            file("old-small", 100, 3),
            file("new-big", 700, 1),
            file("mid", 300, 2),
        ],
    )]);
    let report = run_with(&&fs, &tiny, &options(false, false), largest_first).expect("runs");
    assert_eq!(fs.paths("cache"), vec!["old-small", "mid"]);
    assert_eq!(report.cache_cleanup.bytes_freed, 700);
}

/// A filesystem of one area that removes everything asked and records batch sizes and the
/// largest page and batch it was asked for.
struct CountingFs {
    entries: Vec<Entry>,
    batches: RefCell<Vec<usize>>,
}

impl<'a> Filesystem for &'a CountingFs {
    type Scan = (&'a [Entry], RefCell<usize>);

    fn areas(&self) -> Vec<String> {
        vec!["temp".to_string()]
    }

    fn open_scan(&self, _area: &str) -> Result<Self::Scan, FsError> {
        Ok((&self.entries, RefCell::new(0)))
    }

    fn next((entries, at): &Self::Scan, max: u32) -> Page {
        let mut at = at.borrow_mut();
        let end = (*at + max as usize).min(entries.len());
        let page = entries[*at..end].to_vec();
        *at = end;
        Page {
            entries: page,
            problems: Vec::new(),
            done: end == entries.len(),
        }
    }

    fn remove(&self, _area: &str, _reason: RemovalReason, paths: &[String]) -> Vec<Removal> {
        self.batches.borrow_mut().push(paths.len());
        paths
            .iter()
            .map(|_| Removal {
                status: RemovalStatus::Removed,
                bytes: 1,
                reason: None,
            })
            .collect()
    }
}

#[test]
fn large_removals_go_to_the_host_in_bounded_batches() {
    let fs = CountingFs {
        entries: (0..BATCH * 2 + 10)
            .map(|n| file(&format!("f{n}"), 1, 48))
            .collect(),
        batches: RefCell::default(),
    };
    let report = run(&&fs, &settings(), &options(false, false)).expect("runs");
    assert_eq!(
        report.temporary_files.files_removed,
        (BATCH * 2 + 10) as u64
    );
    assert_eq!(*fs.batches.borrow(), vec![BATCH, BATCH, 10]);
    assert_eq!(report.removals.len(), 1000, "samples only");
    assert_eq!(report.areas.len(), 1);
    assert_eq!(report.areas[0].entries_scanned, (BATCH * 2 + 10) as u64);
}

mod locked;
mod paging;
