//! Who holds locks: `/proc/locks` for a scan's view of every file and directory in use, and
//! a non-blocking `flock` test on a directory about to be entered.

use std::collections::HashSet;

use cap_std::fs::Dir;

/// `(major, minor, inode)` of every file or directory some process holds a lock on, from
/// `/proc/locks`.
pub fn locked_files() -> HashSet<(u64, u64, u64)> {
    std::fs::read_to_string("/proc/locks")
        .map(|text| parse_proc_locks(&text))
        .unwrap_or_default()
}

/// Parses `/proc/locks`: `1: FLOCK ADVISORY WRITE 123 08:01:456 0 EOF` (device numbers hex).
pub fn parse_proc_locks(text: &str) -> HashSet<(u64, u64, u64)> {
    text.lines()
        .filter_map(|line| {
            let id = line
                .split_whitespace()
                .filter(|field| *field != "->")
                .nth(5)?;
            let mut parts = id.split(':');
            let major = u64::from_str_radix(parts.next()?, 16).ok()?;
            let minor = u64::from_str_radix(parts.next()?, 16).ok()?;
            let inode = parts.next()?.parse().ok()?;
            Some((major, minor, inode))
        })
        .collect()
}

pub(super) fn lock_key(device: u64, inode: u64) -> (u64, u64, u64) {
    (
        u64::from(rustix::fs::major(device)),
        u64::from(rustix::fs::minor(device)),
        inode,
    )
}

/// Whether someone holds an `flock` on the directory `dir` (tested without keeping a lock).
pub(super) fn directory_locked(dir: &Dir) -> bool {
    use rustix::fs::{FlockOperation, flock};
    match flock(dir, FlockOperation::NonBlockingLockExclusive) {
        Ok(()) => {
            let _ = flock(dir, FlockOperation::Unlock);
            false
        }
        Err(error) => error == rustix::io::Errno::WOULDBLOCK,
    }
}

/// Takes a non-blocking exclusive `flock` on the directory `dir` and keeps it as long as the
/// returned handle lives; `Ok(None)` when someone else holds a lock on it.
pub(super) fn lock_directory(dir: &Dir) -> std::io::Result<Option<Dir>> {
    use rustix::fs::{FlockOperation, flock};
    let held = dir.try_clone()?;
    match flock(&held, FlockOperation::NonBlockingLockExclusive) {
        Ok(()) => Ok(Some(held)),
        Err(error) if error == rustix::io::Errno::WOULDBLOCK => Ok(None),
        Err(error) => Err(error.into()),
    }
}
