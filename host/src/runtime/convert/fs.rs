//! Entry kinds, pages and removal outcomes of `host-fs`.

use std::fmt::Write as _;

use super::super::bindings::wit::host_fs;
use crate::capabilities::fs;

/// The packed digit of an entry kind (see `page.entries` in `wit/host-fs.wit`).
fn kind_digit(kind: fs::EntryKind) -> char {
    match kind {
        fs::EntryKind::File => '0',
        fs::EntryKind::Directory => '1',
        fs::EntryKind::Symlink => '2',
        fs::EntryKind::Other => '3',
    }
}

/// The packed digit of a removal status (see `remove` in `wit/host-fs.wit`); the host's own
/// refusals (out of bounds, cancelled) are `refused` to the policy.
fn status_digit(status: fs::RemovalStatus) -> char {
    match status {
        fs::RemovalStatus::Removed => '0',
        fs::RemovalStatus::Vanished => '1',
        fs::RemovalStatus::InUse => '2',
        fs::RemovalStatus::NotEmpty => '3',
        fs::RemovalStatus::Refused
        | fs::RemovalStatus::OutOfBounds
        | fs::RemovalStatus::Cancelled => '4',
        fs::RemovalStatus::Failed => '5',
    }
}

/// The name of a removal reason in reports and the removals log: `age` or `cache-cap`.
pub(crate) fn reason_name(reason: host_fs::RemovalReason) -> &'static str {
    match reason {
        host_fs::RemovalReason::Age => "age",
        host_fs::RemovalReason::CacheCap => "cache-cap",
    }
}

/// One page of a walk as the WIT `page`, its entries packed (see `wit/host-fs.wit`).
pub(crate) fn page(
    entries: Vec<fs::Entry>,
    problems: Vec<fs::ScanProblem>,
    done: bool,
) -> host_fs::Page {
    let mut packed = String::with_capacity(entries.iter().map(|e| 40 + e.path.len()).sum());
    for entry in &entries {
        let _ = write!(
            packed,
            "{}:{}:{}:{}:{}:{}\0",
            kind_digit(entry.kind),
            u8::from(entry.locked),
            entry.size,
            entry.mtime,
            entry.mtime_nanos,
            entry.path
        );
    }
    host_fs::Page {
        entries: packed,
        problems: problems
            .into_iter()
            .map(|problem| host_fs::ScanProblem {
                path: problem.path,
                reason: problem.reason,
            })
            .collect(),
        done,
    }
}

/// A batch's outcomes, packed (see `remove` in `wit/host-fs.wit`).
pub(crate) fn removals(removals: &[fs::Removal]) -> String {
    let mut packed = String::with_capacity(removals.len() * 8);
    for removal in removals {
        let _ = write!(
            packed,
            "{}:{}:",
            status_digit(removal.status),
            removal.bytes
        );
        match &removal.reason {
            Some(reason) => {
                packed.push('+');
                // A reason is one sentence; a NUL in it (from an OS message) would end it early.
                packed.push_str(&reason.replace('\0', " "));
            }
            None => packed.push('-'),
        }
        packed.push('\0');
    }
    packed
}

/// A batch's paths from their packed form (each followed by a NUL); `None` when the last one
/// is not ended by a NUL.
pub(crate) fn paths(packed: &str) -> Option<Vec<String>> {
    if packed.is_empty() {
        return Some(Vec::new());
    }
    let body = packed.strip_suffix('\0')?;
    Some(body.split('\0').map(str::to_string).collect())
}
