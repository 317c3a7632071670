//! Entry kinds and removal outcomes of `host-fs`.

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
        fs::RemovalStatus::Refused
        | fs::RemovalStatus::OutOfBounds
        | fs::RemovalStatus::Cancelled => host_fs::RemovalStatus::Refused,
        fs::RemovalStatus::Failed => host_fs::RemovalStatus::Failed,
    }
}

/// A scan as the WIT `scan-result`.
pub(crate) fn scan_result(scan: fs::Scan) -> host_fs::ScanResult {
    host_fs::ScanResult {
        entries: scan
            .entries
            .into_iter()
            .map(|entry| host_fs::Entry {
                path: entry.path,
                kind: to_wit_kind(entry.kind),
                size: entry.size,
                mtime: entry.mtime,
                atime: entry.atime,
                ctime: entry.ctime,
                device: entry.device,
                locked: entry.locked,
            })
            .collect(),
        problems: scan
            .problems
            .into_iter()
            .map(|problem| host_fs::ScanProblem {
                path: problem.path,
                reason: problem.reason,
            })
            .collect(),
    }
}

/// One removal outcome as the WIT `removal`.
pub(crate) fn removal(removal: fs::Removal) -> host_fs::Removal {
    host_fs::Removal {
        path: removal.path,
        status: to_wit_status(removal.status),
        bytes: removal.bytes,
        reason: removal.reason,
    }
}
