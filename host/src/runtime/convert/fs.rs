//! Entry kinds, pages and removal outcomes of `host-fs`.

use super::super::bindings::wit::host_fs;
use crate::capabilities::fs;

fn to_wit_kind(kind: fs::EntryKind) -> host_fs::EntryKind {
    match kind {
        fs::EntryKind::File => host_fs::EntryKind::File,
        fs::EntryKind::Directory => host_fs::EntryKind::Directory,
        fs::EntryKind::Symlink => host_fs::EntryKind::Symlink,
        fs::EntryKind::Other => host_fs::EntryKind::Other,
    }
}

fn to_wit_status(status: fs::RemovalStatus) -> host_fs::RemovalStatus {
    match status {
        fs::RemovalStatus::Removed => host_fs::RemovalStatus::Removed,
        fs::RemovalStatus::Vanished => host_fs::RemovalStatus::Vanished,
        fs::RemovalStatus::InUse => host_fs::RemovalStatus::InUse,
        fs::RemovalStatus::NotEmpty => host_fs::RemovalStatus::NotEmpty,
        fs::RemovalStatus::Refused
        | fs::RemovalStatus::OutOfBounds
        | fs::RemovalStatus::Cancelled => host_fs::RemovalStatus::Refused,
        fs::RemovalStatus::Failed => host_fs::RemovalStatus::Failed,
    }
}

/// The name of a removal reason in reports and the removals log: `age` or `cache-cap`.
pub(crate) fn reason_name(reason: host_fs::RemovalReason) -> &'static str {
    match reason {
        host_fs::RemovalReason::Age => "age",
        host_fs::RemovalReason::CacheCap => "cache-cap",
    }
}

/// One page of a walk as the WIT `page`.
pub(crate) fn page(
    entries: Vec<fs::Entry>,
    problems: Vec<fs::ScanProblem>,
    done: bool,
) -> host_fs::Page {
    host_fs::Page {
        entries: entries
            .into_iter()
            .map(|entry| host_fs::Entry {
                path: entry.path,
                kind: to_wit_kind(entry.kind),
                size: entry.size,
                mtime: entry.mtime,
                mtime_nanos: entry.mtime_nanos,
                locked: entry.locked,
            })
            .collect(),
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

/// One removal outcome as the WIT `removal`.
pub(crate) fn removal(removal: fs::Removal) -> host_fs::Removal {
    host_fs::Removal {
        status: to_wit_status(removal.status),
        bytes: removal.bytes,
        reason: removal.reason,
    }
}
