//! The `host-fs` capability: named managed areas under the data directory, scanned and
//! cleaned through cap-std directory handles.
//!
//! Whatever the policy asks, this module refuses absolute paths, `..` and `.`, never follows a
//! symbolic link (an area root is opened with `O_NOFOLLOW` relative to the data directory's
//! handle, and every directory below it relative to its parent's handle, so nothing is
//! re-resolved from a path), never crosses into another mount (mount ids, so a bind mount of
//! the same filesystem is seen), never touches anything inside a directory someone holds an
//! `flock` on, and never unlinks a file someone holds a lock on: the file is opened without
//! following links, checked to be the file that was looked at, locked with a non-blocking
//! `flock`, and unlinked while the lock is held (the systemd-tmpfiles convention).
//!
//! Names that are not UTF-8 (or contain a backslash) reach the policy in the reversible
//! form of [`names`], so every entry can be cleaned.

mod area;
mod areas;
mod locks;
pub mod names;
mod parents;
mod record;
mod remove;
pub mod stat;
mod walk;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::SystemTime;

pub use areas::Areas;
pub use locks::{locked_files, parse_proc_locks};
pub use parents::MAX_OPEN_PARENTS;
pub use record::{Progress, RemovalLog};
pub use stat::EntryKind;
pub use walk::{Found, Locks, MAX_DEPTH, MAX_HELD_NAMES, MAX_OPEN_DIRS, Walker};

/// One entry found by a scan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Path relative to the area root, `/`-separated.
    pub path: String,
    /// What it is.
    pub kind: EntryKind,
    /// Size in bytes (0 for directories).
    pub size: u64,
    /// Modification time, whole seconds since the epoch.
    pub mtime: u64,
    /// The sub-second part of the modification time, in nanoseconds.
    pub mtime_nanos: u32,
    /// Inode number.
    pub inode: u64,
    /// Whether a process holds a lock on it.
    pub locked: bool,
}

/// Something a scan could not read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScanProblem {
    /// Path relative to the area root.
    pub path: String,
    /// Why.
    pub reason: String,
}

/// A whole scan, collected (for small trees and tests: the policy gets pages of a [`Walker`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scan {
    /// Entries, parents before children.
    pub entries: Vec<Entry>,
    /// What could not be read.
    pub problems: Vec<ScanProblem>,
}

/// What happened to one path of a removal batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RemovalStatus {
    /// Removed.
    Removed,
    /// Already gone.
    Vanished,
    /// Locked by a process; kept.
    InUse,
    /// A directory that is not empty; kept.
    NotEmpty,
    /// Refused by the host's rules (another mount, changed since the call began).
    Refused,
    /// Refused because the path does not name an entry inside the area: absolute, with `..`,
    /// `.` or empty segments, through a symbolic link, or in an area that does not exist.
    /// A policy that only removes what a scan listed never gets this answer.
    OutOfBounds,
    /// The operating system refused.
    Failed,
    /// Not attempted: the cleanup was cancelled (the daemon is shutting down).
    Cancelled,
}

/// The outcome for one path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Removal {
    /// The path as given.
    pub path: String,
    /// What happened.
    pub status: RemovalStatus,
    /// Bytes freed.
    pub bytes: u64,
    /// Why, when not removed.
    pub reason: Option<String>,
}

impl Removal {
    fn new(path: &str, status: RemovalStatus, bytes: u64, reason: Option<String>) -> Self {
        Self {
            path: path.to_string(),
            status,
            bytes,
            reason,
        }
    }
}

/// Usage of one area.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct AreaUsage {
    /// Area name.
    pub name: String,
    /// Whether its directory exists.
    pub exists: bool,
    /// Bytes in its files.
    pub size: u64,
    /// Number of files.
    pub file_count: u64,
}

/// What a caller lends a scan or a removal batch beyond the paths: a switch that stops it,
/// and the moment the work began (a symbolic link on a path that appeared after it is a race
/// with someone else, not a request to follow a link).
#[derive(Debug, Clone, Default)]
pub struct CallContext {
    /// When set, the work stops at the next entry.
    pub cancel: Option<Arc<AtomicBool>>,
    /// When the caller's work began, nanoseconds since the epoch.
    pub since_nanos: Option<i128>,
    /// A dry run: removal batches check every path as for a removal and answer what would
    /// happen, removing nothing.
    pub dry_run: bool,
}

impl CallContext {
    /// A context that records now as the start.
    pub fn starting_now(cancel: Option<Arc<AtomicBool>>) -> Self {
        let since_nanos = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .ok()
            .map(|elapsed| elapsed.as_nanos() as i128);
        Self {
            cancel,
            since_nanos,
            dry_run: false,
        }
    }

    /// Whether the work was asked to stop.
    pub fn cancelled(&self) -> bool {
        self.cancel
            .as_ref()
            .is_some_and(|flag| flag.load(Ordering::Relaxed))
    }
}

/// Why a scan gave no result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScanFailure {
    /// No area of that name.
    UnknownArea(String),
    /// The scan was cancelled.
    Cancelled,
    /// The area's root is no longer the directory opened at start (moved or replaced).
    Displaced(String),
}

/// Opens the directory `name` inside `base` for reading, without following a link: a real
/// descriptor (not `O_PATH`), so it can be listed, locked and `fchmod`ed.
pub fn open_dir_nofollow(
    base: &cap_std::fs::Dir,
    name: &std::ffi::OsStr,
) -> std::io::Result<cap_std::fs::Dir> {
    use rustix::fs::{Mode, OFlags, openat};
    let fd = openat(
        base,
        name,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::empty(),
    )?;
    Ok(cap_std::fs::Dir::from_std_file(std::fs::File::from(fd)))
}

/// Seconds since the Unix epoch, now.
pub fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|elapsed| elapsed.as_secs())
        .unwrap_or(0)
}
