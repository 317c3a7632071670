//! Entry kinds, pages and removal outcomes of `host-fs`.

use super::super::bindings::wit::host_fs;
use crate::capabilities::fs;

/// The packed byte of an entry kind (its case index in `entry-kind`).
fn kind_byte(kind: fs::EntryKind) -> u8 {
    match kind {
        fs::EntryKind::File => 0,
        fs::EntryKind::Directory => 1,
        fs::EntryKind::Symlink => 2,
        fs::EntryKind::Other => 3,
    }
}

/// The packed byte of a removal status (its case index in `removal-status`).
fn status_byte(status: fs::RemovalStatus) -> u8 {
    match status {
        fs::RemovalStatus::Removed => 0,
        fs::RemovalStatus::Vanished => 1,
        fs::RemovalStatus::InUse => 2,
        fs::RemovalStatus::NotEmpty => 3,
        fs::RemovalStatus::Refused
        | fs::RemovalStatus::OutOfBounds
        | fs::RemovalStatus::Cancelled => 4,
        fs::RemovalStatus::Failed => 5,
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
    let size = entries.iter().map(|entry| 26 + entry.path.len()).sum();
    let mut packed = Vec::with_capacity(size);
    for entry in &entries {
        packed.push(kind_byte(entry.kind));
        packed.push(u8::from(entry.locked));
        packed.extend_from_slice(&entry.size.to_le_bytes());
        packed.extend_from_slice(&entry.mtime.to_le_bytes());
        packed.extend_from_slice(&entry.mtime_nanos.to_le_bytes());
        packed.extend_from_slice(&packed_len(&entry.path).to_le_bytes());
        packed.extend_from_slice(entry.path.as_bytes());
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

/// A text's length as the 4-byte length of the packed forms (paths and reasons are far
/// shorter than 4 GiB: a path is at most `PATH_MAX` per level, a reason one sentence).
fn packed_len(text: &str) -> u32 {
    u32::try_from(text.len()).unwrap_or(u32::MAX - 1)
}

/// The reason length that stands for "no reason".
const NO_REASON: u32 = u32::MAX;

/// A batch's outcomes, packed (see `wit/host-fs.wit`).
pub(crate) fn removals(removals: &[fs::Removal]) -> Vec<u8> {
    let mut packed = Vec::with_capacity(removals.len() * 13);
    for removal in removals {
        packed.push(status_byte(removal.status));
        packed.extend_from_slice(&removal.bytes.to_le_bytes());
        match &removal.reason {
            Some(reason) => {
                let length = packed_len(reason);
                packed.extend_from_slice(&length.to_le_bytes());
                packed.extend_from_slice(&reason.as_bytes()[..length as usize]);
            }
            None => packed.extend_from_slice(&NO_REASON.to_le_bytes()),
        }
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
