//! The running totals of one cleanup and its removal batches: paths are queued as they are
//! decided and sent to the host in bounded batches; outcomes are counted per area and phase,
//! and only the first few removals and problems are kept as samples.

use super::Filesystem;
use crate::types::{
    AreaReport, CleanupProblem, CleanupReport, EntryKind, PhaseReport, PlannedRemoval,
    RemovalReason, RemovalStatus,
};

/// Most paths sent to the host in one removal batch (the host accepts up to 65,536).
pub const BATCH: usize = 4096;

/// An empty phase.
pub fn empty_phase() -> PhaseReport {
    PhaseReport {
        files_removed: 0,
        bytes_freed: 0,
        directories_removed: 0,
    }
}

/// A report of a run that removed nothing (yet).
pub fn empty_report(dry_run: bool) -> CleanupReport {
    CleanupReport {
        temporary_files: empty_phase(),
        cache_cleanup: empty_phase(),
        areas: Vec::new(),
        directories_processed: 0,
        skipped_in_use: 0,
        vanished: 0,
        errors: Vec::new(),
        error_count: 0,
        dry_run,
        removals: Vec::new(),
    }
}

fn add_phase(total: &mut PhaseReport, part: &PhaseReport) {
    total.files_removed = total.files_removed.saturating_add(part.files_removed);
    total.bytes_freed = total.bytes_freed.saturating_add(part.bytes_freed);
    total.directories_removed = total
        .directories_removed
        .saturating_add(part.directories_removed);
}

/// A path waiting in the batch (in `paths`): what it is and how big it was when listed.
struct Queued {
    kind: EntryKind,
    size: u64,
}

/// The report being built and the batch being filled.
pub struct Tally<'a, F: Filesystem> {
    pub(super) fs: &'a F,
    report: CleanupReport,
    max_samples: usize,
    area: AreaReport,
    reason: RemovalReason,
    paths: Vec<String>,
    queue: Vec<Queued>,
    /// Bytes of regular files the host kept although asked to remove them (in use, failed):
    /// they still count toward the area's size.
    kept_bytes: u64,
}

impl<'a, F: Filesystem> Tally<'a, F> {
    /// A tally for a run (`dry_run` as asked) keeping at most `max_samples` samples.
    pub fn new(fs: &'a F, dry_run: bool, max_samples: u32) -> Self {
        Self {
            fs,
            report: empty_report(dry_run),
            max_samples: max_samples as usize,
            area: new_area(""),
            reason: RemovalReason::Age,
            paths: Vec::new(),
            queue: Vec::new(),
            kept_bytes: 0,
        }
    }

    /// Starts the totals of `area`.
    pub fn begin_area(&mut self, area: &str) {
        self.area = new_area(area);
    }

    /// The area being cleaned.
    pub fn area(&self) -> &str {
        &self.area.area
    }

    /// Ends the area: its totals join the report.
    pub fn end_area(&mut self) {
        self.flush();
        let area = std::mem::replace(&mut self.area, new_area(""));
        add_phase(&mut self.report.temporary_files, &area.temporary_files);
        add_phase(&mut self.report.cache_cleanup, &area.cache_cleanup);
        self.report.areas.push(area);
    }

    /// Counts entries listed by a scan of the area.
    pub fn scanned(&mut self, entries: usize) {
        self.area.entries_scanned = self.area.entries_scanned.saturating_add(entries as u64);
    }

    /// Counts an area scanned.
    pub fn processed(&mut self) {
        self.report.directories_processed += 1;
    }

    /// Counts one entry kept because it is in use.
    pub fn in_use(&mut self) {
        self.report.skipped_in_use += 1;
    }

    /// Records a path of the current area that could not be removed or read.
    pub fn problem(&mut self, path: &str, reason: String) {
        self.report.error_count += 1;
        if self.report.errors.len() < self.max_samples {
            self.report.errors.push(CleanupProblem {
                area: self.area.area.clone(),
                path: path.to_string(),
                reason,
            });
        }
    }

    /// Queues a removal for `reason`, sending the batch when it is full (or when the reason
    /// changes, so each batch has one).
    pub fn remove(&mut self, path: String, kind: EntryKind, size: u64, reason: RemovalReason) {
        if self.reason != reason {
            self.flush();
            self.reason = reason;
        }
        self.paths.push(path);
        self.queue.push(Queued { kind, size });
        if self.queue.len() >= BATCH {
            self.flush();
        }
    }

    /// Bytes of regular files the host kept since the last call, and resets the count.
    pub fn take_kept_bytes(&mut self) -> u64 {
        self.flush();
        std::mem::take(&mut self.kept_bytes)
    }

    /// Sends the queued removals and counts their outcomes.
    pub fn flush(&mut self) {
        if self.queue.is_empty() {
            return;
        }
        let queue = std::mem::take(&mut self.queue);
        let paths = std::mem::take(&mut self.paths);
        let outcomes = self.fs.remove(&self.area.area, self.reason, &paths);
        if outcomes.len() != queue.len() {
            self.problem(
                "",
                format!(
                    "the host answered {} outcomes for {} paths",
                    outcomes.len(),
                    queue.len()
                ),
            );
        }
        let reason = self.reason;
        for ((queued, path), outcome) in queue.iter().zip(&paths).zip(outcomes) {
            let kept = match outcome.status {
                RemovalStatus::Removed => {
                    self.count_removed(queued, path, outcome.bytes, reason);
                    false
                }
                RemovalStatus::Vanished => {
                    self.report.vanished += 1;
                    false
                }
                RemovalStatus::InUse => {
                    self.report.skipped_in_use += 1;
                    true
                }
                RemovalStatus::NotEmpty => true,
                RemovalStatus::Refused | RemovalStatus::Failed => {
                    let why = outcome.reason.unwrap_or_else(|| "not removed".to_string());
                    self.problem(path, why);
                    true
                }
            };
            if kept && queued.kind == EntryKind::File {
                self.kept_bytes = self.kept_bytes.saturating_add(queued.size);
            }
        }
    }

    fn count_removed(&mut self, queued: &Queued, path: &str, bytes: u64, reason: RemovalReason) {
        let phase = match reason {
            RemovalReason::Age => &mut self.area.temporary_files,
            RemovalReason::CacheCap => &mut self.area.cache_cleanup,
        };
        // What the host freed counts whatever the entry turned out to be (a directory
        // swapped for a link since the scan frees the link's bytes).
        if queued.kind == EntryKind::Directory {
            phase.directories_removed += 1;
        } else {
            phase.files_removed += 1;
        }
        phase.bytes_freed = phase.bytes_freed.saturating_add(bytes);
        if self.report.removals.len() < self.max_samples {
            self.report.removals.push(PlannedRemoval {
                area: self.area.area.clone(),
                path: path.to_string(),
                bytes,
                reason: reason_name(reason).to_string(),
            });
        }
    }

    /// The finished report.
    pub fn finish(mut self) -> CleanupReport {
        self.flush();
        self.report
    }
}

/// The name of a reason in reports: `age` or `cache-cap`.
fn reason_name(reason: RemovalReason) -> &'static str {
    match reason {
        RemovalReason::Age => "age",
        RemovalReason::CacheCap => "cache-cap",
    }
}

fn new_area(area: &str) -> AreaReport {
    AreaReport {
        area: area.to_string(),
        entries_scanned: 0,
        temporary_files: empty_phase(),
        cache_cleanup: empty_phase(),
    }
}
