//! Entry kinds and removal outcomes of `host-fs`.

use super::super::bindings::wit::host_fs;
use crate::capabilities::fs;

pub(crate) fn to_wit_kind(kind: fs::EntryKind) -> host_fs::EntryKind {
    match kind {
        fs::EntryKind::File => host_fs::EntryKind::File,
        fs::EntryKind::Directory => host_fs::EntryKind::Directory,
        fs::EntryKind::Symlink => host_fs::EntryKind::Symlink,
        fs::EntryKind::Other => host_fs::EntryKind::Other,
    }
}

pub(crate) fn to_wit_status(status: fs::RemovalStatus) -> host_fs::RemovalStatus {
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
