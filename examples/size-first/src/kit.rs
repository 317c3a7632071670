//! A small kit for bachata-common cleanup policies written in Rust (world `cleanup-policy`).
//!
//! The host lends `host-fs` (`wit/host-fs.wit`) in packed forms that keep every host fast: a
//! scan page is one text of NUL-terminated entries, a removal batch one text of paths and its
//! answer one text of outcomes. This module hides them, and builds the `cleanup-report` that
//! the host checks against what it removed:
//!
//! ```ignore
//! let mut run = CleanupRun::new(&options);
//! let age = run.age(settings.max_temp_age_hours);
//! for name in run.areas() {
//!     let mut area = run.area(&name);
//!     let mut walk = area.walk();                // page by page; a directory after what it holds
//!     while let Some(entry) = walk.next_entry() {
//!         if entry.kind == Kind::File && age.is_old(&entry) {
//!             walk.remove(&entry, Reason::Age);  // queued, sent in bounded batches
//!         }
//!     }
//! }                                              // an area's totals join the report when it drops
//! Ok(run.report())
//! ```
//!
//! - [`Area::walk`] scans an area a page at a time, so memory does not grow with the area. It
//!   hands out files, links and other entries as listed, and each directory once everything
//!   below it has been seen, with [`Entry::emptied`] telling whether everything below it was
//!   removed.
//! - [`Walk::remove`] (or [`Area::remove`]) queues a removal for a [`Reason`]; batches of at
//!   most [`BATCH`] paths go to the host as they fill. An entry that is locked, or below a
//!   locked directory, is kept and counted in `skipped-in-use` (each locked directory once).
//! - [`CleanupRun::report`] returns totals per area and phase and the first `max-samples`
//!   removals and problems, exactly as the host saw them (in a dry run, the removals it would
//!   make: the host answers them without removing anything).
//! - [`Histogram`] and [`find_cut`] find which files an eviction order takes to free some
//!   bytes, in bounded memory (a few more scans instead of holding the area).
//! - [`check_settings`] refuses settings no configuration would produce.
//!
//! The kit calls the host through [`Host`], so a rule also runs natively against a fake
//! filesystem ([`CleanupRun::with_host`]) in unit tests.
//!
//! This file is the module `kit` of its crate (`pub mod kit;` in `lib.rs`) and reads the
//! contract from the crate's `wit/` directory. Export the policy with `kit::export!(MyPolicy);`
//! under `#[cfg(target_family = "wasm")]`: a native build (for unit tests) cannot carry the
//! component's export names.

use std::collections::{BTreeMap, HashSet, VecDeque};

wit_bindgen::generate!({
    path: "wit",
    world: "cleanup-policy",
    default_bindings_module: "crate::kit",
});

pub use bachata::common::host_fs::{FsError, Page, RemovalReason as Reason, ScanProblem};
pub use bachata::common::host_metrics::SystemResources;
pub use bachata::common::types::{AppError, ErrorKind, ValidationContext};
pub use exports::bachata::common::cleanup::{
    AreaReport, Assessment, CleanupProblem, CleanupReport, CleanupSettings, Guest, Level,
    PhaseReport, PlannedRemoval, ResourceWarning, RunOptions,
};

use bachata::common::host_fs;

/// Entries asked for per scan page.
pub const PAGE: u32 = 1024;
/// Most paths sent in one removal batch (the host refuses more than 65,536).
pub const BATCH: usize = 4096;
/// Most buckets a [`Histogram`] keeps.
pub const BUCKETS: usize = 4096;
/// Most extra scans [`find_cut`] spends narrowing the cut-off (each shrinks the range at least
/// 2048-fold, so six reach one key of a 64-bit range); past them the last range goes in walk
/// order.
pub const MAX_NARROWING: u32 = 6;

/// What an entry is (a symbolic link is reported as a link, its target never looked at).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A regular file.
    File,
    /// A directory.
    Directory,
    /// A symbolic link.
    Symlink,
    /// Anything else (socket, FIFO, device).
    Other,
}

/// One entry of a scan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Path relative to the area, `/`-separated, in the host's form of names (a name that is
    /// not UTF-8 is written with `\xNN` escapes): hand it back unchanged.
    pub path: String,
    /// What the entry is.
    pub kind: Kind,
    /// Size in bytes (0 for directories).
    pub size: u64,
    /// Last modification, whole seconds since the Unix epoch.
    pub mtime: u64,
    /// The sub-second part of the last modification, in nanoseconds.
    pub mtime_nanos: u32,
    /// Whether a process holds a lock on the entry itself.
    pub locked: bool,
    /// For a directory handed out by [`Walk::next_entry`]: every entry below it was asked to
    /// be removed during that walk (and none was kept for a lock).
    pub emptied: bool,
    /// The outermost locked directory at or above the entry, if any.
    holder: Option<String>,
}

impl Entry {
    /// The last segment of the path.
    pub fn name(&self) -> &str {
        self.path.rsplit('/').next().unwrap_or(&self.path)
    }

    /// Whether the entry or a directory above it is locked: the host removes nothing there.
    pub fn held(&self) -> bool {
        self.locked || self.holder.is_some()
    }
}

/// The host's `host-fs` as the kit uses it: the real import, or a fake in native tests.
pub trait Host {
    /// The managed areas.
    fn areas(&self) -> Vec<String>;
    /// Starts a walk of `area`.
    fn open_scan(&self, area: &str) -> Result<Box<dyn Pages>, FsError>;
    /// Removes the packed `paths` of `area` for `reason`; the packed outcomes.
    fn remove(&self, area: &str, reason: Reason, paths: &str) -> String;
}

/// An open walk of an area.
pub trait Pages {
    /// The next at most `max` entries.
    fn next(&mut self, max: u32) -> Page;
}

/// The host's own `host-fs` import.
struct HostFs;

impl Host for HostFs {
    fn areas(&self) -> Vec<String> {
        host_fs::areas()
    }

    fn open_scan(&self, area: &str) -> Result<Box<dyn Pages>, FsError> {
        Ok(Box::new(host_fs::open_scan(area)?))
    }

    fn remove(&self, area: &str, reason: Reason, paths: &str) -> String {
        host_fs::remove(area, reason, paths)
    }
}

impl Pages for host_fs::Scan {
    fn next(&mut self, max: u32) -> Page {
        host_fs::Scan::next(self, max)
    }
}

/// The name of a reason in reports: `age` or `cache-cap`.
pub fn reason_name(reason: Reason) -> &'static str {
    match reason {
        Reason::Age => "age",
        Reason::CacheCap => "cache-cap",
    }
}

/// The `Err` to return for a cleanup setting no configuration would produce.
pub fn invalid_setting(field: &str, value: f64, expected: &str) -> AppError {
    AppError {
        kind: ErrorKind::Validation(ValidationContext {
            field: Some(field.to_string()),
            value: Some(value.to_string()),
        }),
        message: format!("cleanup setting {field}={value} is invalid: expected {expected}"),
        error_code: "VALIDATION_ERROR".to_string(),
        details: vec![
            ("field".to_string(), field.to_string()),
            ("value".to_string(), value.to_string()),
        ],
    }
}

/// Refuses settings no configuration would produce (a policy must not trust its caller):
/// `max-temp-age-hours` a number ≥ 0, `max-cache-size-gb` a number > 0 and
/// `cache-low-water-ratio` in (0, 1].
pub fn check_settings(settings: &CleanupSettings) -> Result<(), AppError> {
    let hours = settings.max_temp_age_hours;
    if !(hours.is_finite() && hours >= 0.0) {
        return Err(invalid_setting("max_temp_age_hours", hours, "a number ≥ 0"));
    }
    let cap = settings.max_cache_size_gb;
    if !(cap.is_finite() && cap > 0.0) {
        return Err(invalid_setting("max_cache_size_gb", cap, "a number > 0"));
    }
    let ratio = settings.cache_low_water_ratio;
    if !(ratio > 0.0 && ratio <= 1.0) {
        return Err(invalid_setting(
            "cache_low_water_ratio",
            ratio,
            "a ratio in (0, 1]",
        ));
    }
    Ok(())
}

/// When an entry is old: strictly older than a limit at the run's `now` (always, when the run
/// is forced).
#[derive(Debug, Clone, Copy)]
pub struct Age {
    now: u64,
    force: bool,
    max_age_secs: f64,
}

impl Age {
    /// Whether `entry` was last modified strictly more than the limit ago.
    pub fn is_old(&self, entry: &Entry) -> bool {
        self.force || (self.now.saturating_sub(entry.mtime) as f64) > self.max_age_secs
    }
}

fn empty_phase() -> PhaseReport {
    PhaseReport {
        files_removed: 0,
        bytes_freed: 0,
        directories_removed: 0,
    }
}

fn add_phase(total: &mut PhaseReport, part: &PhaseReport) {
    total.files_removed = total.files_removed.saturating_add(part.files_removed);
    total.bytes_freed = total.bytes_freed.saturating_add(part.bytes_freed);
    total.directories_removed = total
        .directories_removed
        .saturating_add(part.directories_removed);
}

fn empty_area(name: &str) -> AreaReport {
    AreaReport {
        area: name.to_string(),
        entries_scanned: 0,
        temporary_files: empty_phase(),
        cache_cleanup: empty_phase(),
    }
}

/// One call of `cleanup.run`: the areas to clean and the report being built.
pub struct CleanupRun {
    host: Box<dyn Host>,
    now: u64,
    force: bool,
    max_samples: usize,
    report: CleanupReport,
}

impl CleanupRun {
    /// A run through the host's `host-fs`.
    pub fn new(options: &RunOptions) -> Self {
        Self::with_host(options, Box::new(HostFs))
    }

    /// A run through `host` (a fake filesystem in native tests).
    pub fn with_host(options: &RunOptions, host: Box<dyn Host>) -> Self {
        Self {
            host,
            now: options.now,
            force: options.force,
            max_samples: options.max_samples as usize,
            report: CleanupReport {
                temporary_files: empty_phase(),
                cache_cleanup: empty_phase(),
                areas: Vec::new(),
                directories_processed: 0,
                skipped_in_use: 0,
                vanished: 0,
                errors: Vec::new(),
                error_count: 0,
                dry_run: options.dry_run,
                removals: Vec::new(),
            },
        }
    }

    /// The managed areas, in the host's order.
    pub fn areas(&self) -> Vec<String> {
        self.host.areas()
    }

    /// Starts cleaning `name`; its totals join the report when the [`Area`] is dropped.
    pub fn area(&mut self, name: &str) -> Area<'_> {
        Area {
            run: self,
            name: name.to_string(),
            report: empty_area(name),
            processed: false,
            scan_failed: false,
            reason: Reason::Age,
            queue: Vec::new(),
            counted: HashSet::new(),
            left: 0,
            kept: 0,
        }
    }

    /// The age rule for a limit of `max_age_hours`.
    pub fn age(&self, max_age_hours: f64) -> Age {
        Age {
            now: self.now,
            force: self.force,
            max_age_secs: max_age_hours * 3600.0,
        }
    }

    /// Seconds since the Unix epoch, as the host gave them.
    pub fn now(&self) -> u64 {
        self.now
    }

    /// Whether every entry counts as old.
    pub fn force(&self) -> bool {
        self.force
    }

    /// Whether the host removes nothing (it answers what it would remove).
    pub fn dry_run(&self) -> bool {
        self.report.dry_run
    }

    /// The finished `cleanup-report`.
    pub fn report(self) -> CleanupReport {
        self.report
    }

    fn problem(&mut self, area: &str, path: &str, reason: String) {
        self.report.error_count += 1;
        if self.report.errors.len() < self.max_samples {
            self.report.errors.push(CleanupProblem {
                area: area.to_string(),
                path: path.to_string(),
                reason,
            });
        }
    }

    fn in_use(&mut self) {
        self.report.skipped_in_use += 1;
    }
}

/// A path waiting in the batch.
struct Queued {
    path: String,
    kind: Kind,
    size: u64,
}

/// One managed area during a run: its scans, its removal batches, its totals.
pub struct Area<'r> {
    run: &'r mut CleanupRun,
    name: String,
    report: AreaReport,
    processed: bool,
    scan_failed: bool,
    reason: Reason,
    queue: Vec<Queued>,
    /// Locked directories already counted in `skipped-in-use`.
    counted: HashSet<String>,
    /// Bytes of the regular files the last walk listed that stay.
    left: u64,
    /// Bytes of regular files the host kept although asked to remove them.
    kept: u64,
}

impl<'r> Area<'r> {
    /// The area's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Whether the last walk could not scan the area (the problem is in the report).
    pub fn scan_failed(&self) -> bool {
        self.scan_failed
    }

    /// Every entry below the area, a scan page at a time (see [`Walk`]). Queued removals are
    /// sent first. Problems the scan meets go into the report; an area that cannot be scanned
    /// hands out nothing.
    pub fn walk(&mut self) -> Walk<'_, 'r> {
        self.flush();
        self.left = 0;
        self.kept = 0;
        let scan = match self.run.host.open_scan(&self.name) {
            Ok(scan) => {
                self.scan_failed = false;
                if !self.processed {
                    self.processed = true;
                    self.run.report.directories_processed += 1;
                }
                Some(scan)
            }
            Err(failure) => {
                let reason = match failure {
                    FsError::UnknownArea(name) => format!("unknown area `{name}`"),
                    FsError::Io(reason) => reason,
                };
                self.run.problem(&self.name, "", reason);
                self.scan_failed = true;
                None
            }
        };
        Walk {
            area: self,
            scan,
            page: VecDeque::new(),
            open: Vec::new(),
            current: None,
        }
    }

    /// Queues `entry` for removal for `reason`. An entry the host would refuse because of a
    /// lock is kept and counted in `skipped-in-use`; returns whether the entry was queued.
    /// During a walk, remove through [`Walk::remove`], which also counts what stays.
    pub fn remove(&mut self, entry: &Entry, reason: Reason) -> bool {
        if entry.held() {
            match &entry.holder {
                None => self.run.in_use(),
                Some(holder) => {
                    if self.counted.insert(holder.clone()) {
                        self.run.in_use();
                    }
                }
            }
            return false;
        }
        if reason != self.reason {
            self.flush();
            self.reason = reason;
        }
        self.queue.push(Queued {
            path: entry.path.clone(),
            kind: entry.kind,
            size: entry.size,
        });
        if self.queue.len() >= BATCH {
            self.flush();
        }
        true
    }

    /// Bytes of the regular files the last walk listed that are still there (in a dry run:
    /// would be) after its removals: those not removed and those the host kept.
    pub fn bytes_left(&mut self) -> u64 {
        self.flush();
        self.left.saturating_add(self.kept)
    }

    /// Sends the queued removals and counts their outcomes.
    pub fn flush(&mut self) {
        if self.queue.is_empty() {
            return;
        }
        let queue = std::mem::take(&mut self.queue);
        let paths = pack_paths(queue.iter().map(|queued| queued.path.as_str()));
        let packed = self.run.host.remove(&self.name, self.reason, &paths);
        let outcomes = unpack_outcomes(&packed).unwrap_or_else(|reason| {
            panic!("host-fs: the host sent malformed removal outcomes: {reason}")
        });
        if outcomes.len() != queue.len() {
            let reason = format!(
                "the host answered {} outcomes for {} paths",
                outcomes.len(),
                queue.len()
            );
            self.run.problem(&self.name, "", reason);
        }
        let name = reason_name(self.reason);
        for (queued, outcome) in queue.into_iter().zip(outcomes) {
            let mut kept = true;
            match outcome.status {
                REMOVED => {
                    kept = false;
                    let phase = match self.reason {
                        Reason::Age => &mut self.report.temporary_files,
                        Reason::CacheCap => &mut self.report.cache_cleanup,
                    };
                    if queued.kind == Kind::Directory {
                        phase.directories_removed += 1;
                    } else {
                        phase.files_removed += 1;
                    }
                    phase.bytes_freed = phase.bytes_freed.saturating_add(outcome.bytes);
                    let report = &mut self.run.report;
                    if report.removals.len() < self.run.max_samples {
                        report.removals.push(PlannedRemoval {
                            area: self.name.clone(),
                            path: queued.path.clone(),
                            bytes: outcome.bytes,
                            reason: name.to_string(),
                        });
                    }
                }
                VANISHED => {
                    kept = false;
                    self.run.report.vanished += 1;
                }
                IN_USE => self.run.in_use(),
                REFUSED | FAILED => {
                    let why = outcome.reason.unwrap_or_else(|| "not removed".to_string());
                    self.run.problem(&self.name, &queued.path, why);
                }
                _ => {}
            }
            if kept && queued.kind == Kind::File {
                self.kept = self.kept.saturating_add(queued.size);
            }
        }
    }
}

impl Drop for Area<'_> {
    /// Sends what is still queued; the area's totals join the run's report.
    fn drop(&mut self) {
        self.flush();
        let area = std::mem::replace(&mut self.report, empty_area(""));
        add_phase(&mut self.run.report.temporary_files, &area.temporary_files);
        add_phase(&mut self.run.report.cache_cleanup, &area.cache_cleanup);
        self.run.report.areas.push(area);
    }
}

/// The entry last handed out, settled when the next is asked for.
struct Current {
    path: String,
    kind: Kind,
    size: u64,
    going: bool,
}

/// One walk of an area, depth first: files, links and other entries as the host lists them,
/// each directory once everything below it has been seen. Ask for entries with
/// [`Walk::next_entry`] and remove the one just handed out with [`Walk::remove`]: what is not
/// removed keeps its directory (no longer [`Entry::emptied`]) and, for a regular file, counts
/// in [`Area::bytes_left`].
pub struct Walk<'w, 'r> {
    area: &'w mut Area<'r>,
    scan: Option<Box<dyn Pages>>,
    page: VecDeque<Entry>,
    /// The directories open on the current path, outermost first.
    open: Vec<Entry>,
    current: Option<Current>,
}

impl Walk<'_, '_> {
    /// The next entry, or `None` at the end of the walk.
    pub fn next_entry(&mut self) -> Option<Entry> {
        self.settle();
        loop {
            if let Some(next) = self.page.front() {
                if self
                    .open
                    .last()
                    .is_some_and(|open| !is_below(&next.path, &open.path))
                {
                    let finished = self.open.pop()?;
                    return Some(self.hand_out(finished));
                }
                let mut entry = self.page.pop_front()?;
                entry.holder = self.open.last().and_then(|open| open.holder.clone());
                if entry.kind == Kind::Directory {
                    if entry.locked && entry.holder.is_none() {
                        entry.holder = Some(entry.path.clone());
                    }
                    self.open.push(entry);
                    continue;
                }
                return Some(self.hand_out(entry));
            }
            let Some(scan) = self.scan.as_mut() else {
                let finished = self.open.pop()?;
                return Some(self.hand_out(finished));
            };
            let Page {
                entries,
                problems,
                done,
            } = scan.next(PAGE);
            if done {
                // The scan is over: the host is told at once.
                self.scan = None;
            }
            let entries = unpack_entries(&entries).unwrap_or_else(|reason| {
                panic!("host-fs: the host sent a malformed page: {reason}")
            });
            let area = &mut *self.area;
            area.report.entries_scanned = area
                .report
                .entries_scanned
                .saturating_add(entries.len() as u64);
            for problem in problems {
                area.run.problem(&area.name, &problem.path, problem.reason);
            }
            self.page.extend(entries);
        }
    }

    /// Queues `entry` (the one just handed out) for removal for `reason`, like
    /// [`Area::remove`]; returns whether it was queued (or already was).
    pub fn remove(&mut self, entry: &Entry, reason: Reason) -> bool {
        let current = self
            .current
            .as_mut()
            .filter(|current| current.path == entry.path);
        if current.as_ref().is_some_and(|current| current.going) {
            return true;
        }
        let queued = self.area.remove(entry, reason);
        if let Some(current) = current {
            current.going = queued;
        }
        queued
    }

    fn hand_out(&mut self, entry: Entry) -> Entry {
        self.current = Some(Current {
            path: entry.path.clone(),
            kind: entry.kind,
            size: entry.size,
            going: false,
        });
        entry
    }

    /// Counts what the caller decided about the entry last handed out: what stays keeps its
    /// directory.
    fn settle(&mut self) {
        let Some(current) = self.current.take() else {
            return;
        };
        if current.going {
            return;
        }
        if let Some(parent) = self.open.last_mut() {
            parent.emptied = false;
        }
        if current.kind == Kind::File {
            self.area.left = self.area.left.saturating_add(current.size);
        }
    }
}

/// Whether `path` lies below the directory `directory`.
fn is_below(path: &str, directory: &str) -> bool {
    path.len() > directory.len()
        && path.starts_with(directory)
        && path.as_bytes()[directory.len()] == b'/'
}

/// Bytes per range of keys `lo..=hi` in at most [`BUCKETS`] buckets of `2^shift` consecutive
/// keys: when more are in use, neighbours merge.
#[derive(Debug, Clone)]
pub struct Histogram {
    lo: u64,
    hi: u64,
    shift: u32,
    buckets: BTreeMap<u64, u64>,
}

/// Where a running total first reaches a number of bytes: in keys `lo..=hi`, with `before`
/// bytes below `lo`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Crossing {
    /// Lowest key of the bucket.
    pub lo: u64,
    /// Highest key of the bucket.
    pub hi: u64,
    /// Bytes of the keys in range below `lo`.
    pub before: u64,
}

impl Histogram {
    /// An empty histogram of the keys `lo..=hi`.
    pub fn new(lo: u64, hi: u64) -> Self {
        Self {
            lo,
            hi,
            shift: 0,
            buckets: BTreeMap::new(),
        }
    }

    /// Counts `bytes` at `key`; keys outside the range are ignored.
    pub fn add(&mut self, key: u64, bytes: u64) {
        if key < self.lo || key > self.hi {
            return;
        }
        let slot = self
            .buckets
            .entry((key - self.lo) >> self.shift)
            .or_insert(0);
        *slot = slot.saturating_add(bytes);
        while self.buckets.len() > BUCKETS {
            self.shift += 1;
            for (bucket, bytes) in std::mem::take(&mut self.buckets) {
                let slot = self.buckets.entry(bucket >> 1).or_insert(0);
                *slot = slot.saturating_add(bytes);
            }
        }
    }

    /// The bucket where the running total (from the lowest key) first reaches `need` bytes;
    /// `None` when all of it is less.
    pub fn crossing(&self, need: u64) -> Option<Crossing> {
        let mut before = 0u64;
        for (&bucket, &bytes) in &self.buckets {
            if before.saturating_add(bytes) >= need {
                let lo = self.lo.saturating_add(bucket << self.shift);
                let width = 1u64.checked_shl(self.shift).unwrap_or(u64::MAX);
                let hi = lo.saturating_add(width - 1).min(self.hi);
                return Some(Crossing { lo, hi, before });
            }
            before = before.saturating_add(bytes);
        }
        None
    }
}

/// Which evictable files go: every key below `lo`, and keys `lo..=hi` in walk order until
/// `bytes` of them went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cut {
    /// Keys below this go.
    pub lo: u64,
    /// Keys up to this may go.
    pub hi: u64,
    /// Bytes to take from `lo..=hi`.
    pub bytes: u64,
    taken: u64,
}

impl Cut {
    /// Whether the order reaches `key`: a file of that key would go if nothing held it.
    pub fn reaches(&self, key: u64) -> bool {
        key <= self.hi
    }

    /// Whether an evictable file of `key` and `size` goes; what goes at the cut-off counts.
    pub fn takes(&mut self, key: u64, size: u64) -> bool {
        if key < self.lo {
            true
        } else if key <= self.hi && self.taken < self.bytes {
            self.taken = self.taken.saturating_add(size);
            true
        } else {
            false
        }
    }
}

/// Which files to evict from `area` to free `need` bytes, smallest key first: `key_of(entry)`
/// is an evictable entry's key, or `None` for one that may not go; `counted` holds the
/// evictable bytes the caller counted by key over the last walk. While the bucket that holds
/// the cut-off spans several keys, the area is scanned again over that bucket only (at most
/// [`MAX_NARROWING`] times). `None` when a scan failed.
pub fn find_cut(
    area: &mut Area<'_>,
    counted: Histogram,
    need: u64,
    key_of: impl Fn(&Entry) -> Option<u64>,
) -> Option<Cut> {
    let mut histogram = counted;
    let mut below = 0u64;
    let mut scans = 0;
    loop {
        let Some(crossing) = histogram.crossing(need.saturating_sub(below)) else {
            // Not enough in this range: all of it goes.
            return Some(Cut {
                lo: histogram.hi,
                hi: histogram.hi,
                bytes: u64::MAX,
                taken: 0,
            });
        };
        below = below.saturating_add(crossing.before);
        if crossing.lo == crossing.hi || scans >= MAX_NARROWING {
            return Some(Cut {
                lo: crossing.lo,
                hi: crossing.hi,
                bytes: need.saturating_sub(below),
                taken: 0,
            });
        }
        let mut narrow = Histogram::new(crossing.lo, crossing.hi);
        let mut walk = area.walk();
        while let Some(entry) = walk.next_entry() {
            if let Some(key) = key_of(&entry) {
                narrow.add(key, entry.size);
            }
        }
        if area.scan_failed() {
            return None;
        }
        histogram = narrow;
        scans += 1;
    }
}

/// Outcome statuses of a removal (see `remove` in `wit/host-fs.wit`).
const REMOVED: u8 = 0;
const VANISHED: u8 = 1;
const IN_USE: u8 = 2;
const REFUSED: u8 = 4;
const FAILED: u8 = 5;

/// What the host did with one path of a removal batch.
struct Outcome {
    status: u8,
    bytes: u64,
    reason: Option<String>,
}

/// The NUL-terminated items of a packed text.
fn items<'a>(packed: &'a str, what: &str) -> Result<Vec<&'a str>, String> {
    if packed.is_empty() {
        return Ok(Vec::new());
    }
    match packed.strip_suffix('\0') {
        Some(body) => Ok(body.split('\0').collect()),
        None => Err(format!("the last {what} is not followed by a NUL")),
    }
}

fn number(text: &str, what: &str, item: &str) -> Result<u64, String> {
    if text.is_empty() || !text.bytes().all(|byte| byte.is_ascii_digit()) {
        return Err(format!("{what} of {item:?} is not a number"));
    }
    text.parse()
        .map_err(|_| format!("{what} of {item:?} is too large"))
}

/// A page's entries from their packed form (`kind:locked:size:mtime:nanos:path\0`).
fn unpack_entries(packed: &str) -> Result<Vec<Entry>, String> {
    items(packed, "entry")?
        .into_iter()
        .map(|item| {
            let fields: Vec<&str> = item.splitn(6, ':').collect();
            let [kind, locked, size, mtime, nanos, path] = fields[..] else {
                return Err(format!("entry {item:?} does not have six fields"));
            };
            let kind = match kind {
                "0" => Kind::File,
                "1" => Kind::Directory,
                "2" => Kind::Symlink,
                "3" => Kind::Other,
                _ => return Err(format!("entry kind {kind:?} is not 0 to 3")),
            };
            let locked = match locked {
                "0" => false,
                "1" => true,
                _ => return Err(format!("the locked flag of {item:?} is not 0 or 1")),
            };
            let mtime_nanos = number(nanos, "the mtime nanoseconds", item)?;
            let mtime_nanos = u32::try_from(mtime_nanos)
                .ok()
                .filter(|nanos| *nanos < 1_000_000_000)
                .ok_or_else(|| format!("the mtime nanoseconds of {item:?} are not below 10^9"))?;
            Ok(Entry {
                path: path.to_string(),
                kind,
                size: number(size, "the size", item)?,
                mtime: number(mtime, "the mtime", item)?,
                mtime_nanos,
                locked,
                emptied: true,
                holder: None,
            })
        })
        .collect()
}

/// A removal batch's paths, each followed by a NUL.
fn pack_paths<'a>(paths: impl Iterator<Item = &'a str>) -> String {
    let mut packed = String::new();
    for path in paths {
        packed.push_str(path);
        packed.push('\0');
    }
    packed
}

/// A removal batch's outcomes from their packed form (`status:bytes:-` or `+reason`).
fn unpack_outcomes(packed: &str) -> Result<Vec<Outcome>, String> {
    items(packed, "outcome")?
        .into_iter()
        .map(|item| {
            let fields: Vec<&str> = item.splitn(3, ':').collect();
            let [status, bytes, reason] = fields[..] else {
                return Err(format!("outcome {item:?} is not status:bytes:reason"));
            };
            let status = match status {
                "0" | "1" | "2" | "3" | "4" | "5" => status.as_bytes()[0] - b'0',
                _ => return Err(format!("outcome {item:?} is not status:bytes:reason")),
            };
            let reason = match reason {
                "-" => None,
                _ => match reason.strip_prefix('+') {
                    Some(reason) => Some(reason.to_string()),
                    None => return Err(format!("the reason of {item:?} is neither - nor +...")),
                },
            };
            Ok(Outcome {
                status,
                bytes: number(bytes, "the bytes", item)?,
                reason,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packed_entries_unpack_and_malformed_ones_are_refused() {
        let entries = unpack_entries("0:0:10:5:7:a/b:c\x001:1:0:6:0:d\0").expect("two entries");
        assert_eq!(entries.len(), 2);
        assert_eq!(entries[0].path, "a/b:c");
        assert_eq!(entries[0].name(), "b:c");
        assert_eq!((entries[0].size, entries[0].mtime_nanos), (10, 7));
        assert!(entries[1].locked && entries[1].kind == Kind::Directory);
        for bad in [
            "0:0:10:5:7:a",
            "0:0:x:5:7:a\0",
            "4:0:1:5:7:a\0",
            "0:0:1:5:1000000000:a\0",
        ] {
            assert!(unpack_entries(bad).is_err(), "{bad:?}");
        }
        assert!(unpack_entries("").expect("none").is_empty());
    }

    #[test]
    fn outcomes_unpack_with_their_reasons() {
        let outcomes = unpack_outcomes("0:5:-\x002:0:+locked: by a process\0").expect("two");
        assert_eq!((outcomes[0].status, outcomes[0].bytes), (REMOVED, 5));
        assert_eq!(outcomes[1].reason.as_deref(), Some("locked: by a process"));
        assert!(unpack_outcomes("6:0:-\0").is_err());
        assert!(unpack_outcomes("0:0:x\0").is_err());
        assert_eq!(pack_paths(["a", "b/c"].into_iter()), "a\0b/c\0");
    }

    #[test]
    fn the_histogram_finds_the_crossing_in_bounded_buckets() {
        let mut histogram = Histogram::new(0, u64::MAX);
        for key in [5, 3, 9, 3] {
            histogram.add(key, 10);
        }
        let at = |lo, hi, before| Some(Crossing { lo, hi, before });
        assert_eq!(histogram.crossing(15), at(3, 3, 0));
        assert_eq!(histogram.crossing(21), at(5, 5, 20));
        assert_eq!(histogram.crossing(41), None);
        let mut wide = Histogram::new(1_000, u64::MAX);
        for key in 0..100_000u64 {
            wide.add(1_000 + key * 7, 1);
        }
        assert!(wide.buckets.len() <= BUCKETS);
        let crossing = wide.crossing(50_000).expect("inside");
        let key = 1_000 + 49_999 * 7;
        assert!(crossing.lo <= key && key <= crossing.hi, "{crossing:?}");
    }

    #[test]
    fn a_cut_takes_every_key_below_it_and_just_enough_at_it() {
        let mut cut = Cut {
            lo: 10,
            hi: 12,
            bytes: 5,
            taken: 0,
        };
        assert!(cut.takes(3, 100));
        assert!(cut.takes(11, 4) && cut.takes(12, 4));
        assert!(!cut.takes(10, 1), "5 bytes taken at the cut-off");
        assert!(!cut.takes(13, 1));
        assert!(cut.reaches(12) && !cut.reaches(13));
    }

    #[test]
    fn settings_out_of_range_are_validation_errors() {
        let settings = |hours, cap, ratio| CleanupSettings {
            max_temp_age_hours: hours,
            max_cache_size_gb: cap,
            cache_low_water_ratio: ratio,
            memory_warning_threshold: 0.85,
            disk_warning_threshold: 0.9,
            memory_critical_threshold: 0.9,
        };
        assert!(check_settings(&settings(0.0, 5.0, 1.0)).is_ok());
        for (bad, field) in [
            (settings(-1.0, 5.0, 0.8), "max_temp_age_hours"),
            (settings(f64::NAN, 5.0, 0.8), "max_temp_age_hours"),
            (settings(24.0, 0.0, 0.8), "max_cache_size_gb"),
            (settings(24.0, 5.0, 0.0), "cache_low_water_ratio"),
            (settings(24.0, 5.0, 1.5), "cache_low_water_ratio"),
        ] {
            let error = check_settings(&bad).expect_err(field);
            assert_eq!(error.error_code, "VALIDATION_ERROR");
            assert_eq!(error.details[0], ("field".to_string(), field.to_string()));
        }
    }
}
