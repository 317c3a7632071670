//! The streaming walk of an area: depth first, a directory listed before what it holds,
//! never through a link or into another mount; stops when cancelled.
//!
//! Memory and descriptors stay bounded whatever the tree. The walk keeps at most
//! [`MAX_OPEN_DIRS`] directories open: the innermost levels of the current path, and the
//! start. To go deeper, it closes the outermost open level after reading the rest of its
//! listing (names only; at most [`MAX_HELD_NAMES`] held by the whole walk). Coming back up to
//! a closed level, it opens it again through `..` of the level below (should that fail, name
//! by name from the nearest open level, never following a link) and goes on only if it is the
//! very directory it closed (same device and inode); otherwise that level is reported, not
//! listed further. A directory deeper than [`MAX_DEPTH`] levels is listed, not entered, and
//! reported, as is one the walk cannot enter within those bounds.

use std::collections::{HashSet, VecDeque};
use std::ffi::{OsStr, OsString};
use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::sync::Arc;

use cap_std::fs::Dir;

use super::locks::lock_key;
use super::stat::{EntryKind, Mount, stat_at};
use super::{CallContext, Entry, ScanProblem, names};
use crate::types::text::printable;

mod level;

use level::{Level, id_of, open_dir};

/// Deepest level a walk descends to. A directory deeper than this is listed, not entered,
/// and reported.
pub const MAX_DEPTH: usize = 4096;

/// Most directories one walk keeps open at once.
pub const MAX_OPEN_DIRS: usize = 64;

/// Most names one walk holds in memory for the levels it closed.
pub const MAX_HELD_NAMES: usize = 1 << 20;

/// How often (in entries) a walk looks at its cancel switch.
const CANCEL_CHECK_EVERY: u64 = 1024;

/// Whether `name` in `dir` is a file of an SQLite database some process has open: the
/// database `X` while `X-shm` is locked, or its journal `X-wal`/`X-journal` while `X` or
/// `X-shm` is locked. A journal holds committed data not yet in the database file, and a
/// database between transactions holds no lock of its own, so such files count as locked.
/// Only database-like files are looked at (a size in whole 512-byte pages, or a journal's
/// name), so a scan pays nothing for the rest.
fn part_of_open_database(
    dir: impl std::os::fd::AsFd,
    name: &std::ffi::OsStr,
    size: u64,
    locks: &std::collections::HashSet<(u64, u64, u64)>,
) -> bool {
    use std::os::unix::ffi::OsStrExt;
    if locks.is_empty() {
        return false;
    }
    let dir = dir.as_fd();
    let locked = |sibling: &[u8]| {
        stat_at(dir, std::ffi::OsStr::from_bytes(sibling)).is_ok_and(|found| {
            found.kind == EntryKind::File
                && locks.contains(&lock_key(found.mount.device, found.inode))
        })
    };
    let bytes = name.as_bytes();
    match bytes
        .strip_suffix(b"-wal")
        .or_else(|| bytes.strip_suffix(b"-journal"))
        .filter(|base| !base.is_empty())
    {
        Some(base) => locked(base) || locked(&[base, b"-shm".as_slice()].concat()),
        None => {
            size > 0 && size.is_multiple_of(512) && locked(&[bytes, b"-shm".as_slice()].concat())
        }
    }
}

/// The devices and inodes locked by some process (see [`super::locked_files`]).
pub type Locks = HashSet<(u64, u64, u64)>;

/// What a walk yields: an entry, or a place it could not read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Found {
    /// An entry below the start.
    Entry(Entry),
    /// Something that could not be read; the walk goes on past it.
    Problem(ScanProblem),
}

/// A walk below one directory of an area.
pub struct Walker {
    mount: Mount,
    locks: Arc<Locks>,
    context: CallContext,
    stack: Vec<Level>,
    /// The path of the innermost level, relative to the area root.
    path: String,
    /// Levels with an open directory.
    open: usize,
    /// Names held by all levels.
    held: usize,
    queued: VecDeque<Found>,
    seen: u64,
    cancelled: bool,
    end_reported: bool,
}

fn join(prefix: &str, name: &str) -> String {
    if prefix.is_empty() {
        name.to_string()
    } else {
        format!("{prefix}/{name}")
    }
}

fn problem(path: &str, reason: impl ToString) -> Found {
    Found::Problem(ScanProblem {
        path: path.to_string(),
        reason: reason.to_string(),
    })
}

impl Walker {
    /// A walk of everything below `start` (the directory at `prefix` in an area on `mount`).
    pub(super) fn new(
        start: Dir,
        prefix: &str,
        mount: Mount,
        locks: Arc<Locks>,
        context: CallContext,
    ) -> io::Result<Self> {
        // A listing of its own: `start` may share its position with the area's handle.
        let fd = open_dir(start.as_fd(), OsStr::new("."))?;
        drop(start);
        let id = id_of(&fd)?;
        Ok(Self {
            mount,
            locks,
            context,
            stack: vec![Level::new(fd, OsString::new(), id, prefix.len())?],
            path: prefix.to_string(),
            open: 1,
            held: 0,
            queued: VecDeque::new(),
            seen: 0,
            cancelled: false,
            end_reported: false,
        })
    }

    /// Whether the walk stopped because it was cancelled.
    pub fn was_cancelled(&self) -> bool {
        self.cancelled
    }

    /// Whether the end of the walk has been handed out (a page marked done).
    pub fn end_reported(&self) -> bool {
        self.end_reported
    }

    /// Records that the end of the walk has been handed out.
    pub fn report_end(&mut self) {
        self.end_reported = true;
    }

    /// Whether nothing more will come.
    pub fn is_done(&self) -> bool {
        self.stack.is_empty() && self.queued.is_empty()
    }

    /// How many directories the walk holds open now (at most [`MAX_OPEN_DIRS`]).
    pub fn open_dirs(&self) -> usize {
        self.open
    }

    /// Up to `max` more entries, and the problems met on the way.
    pub fn page(&mut self, max: usize) -> (Vec<Entry>, Vec<ScanProblem>) {
        let mut entries = Vec::with_capacity(max.min(4096));
        let mut problems = Vec::new();
        while entries.len() < max {
            match self.next() {
                Some(Found::Entry(entry)) => entries.push(entry),
                Some(Found::Problem(found)) => problems.push(found),
                None => break,
            }
        }
        (entries, problems)
    }

    /// Reads the next item of the innermost listing; `None` when that listing is over.
    fn advance(&mut self) -> Option<Found> {
        let depth = self.stack.len();
        let level = self.stack.last_mut()?;
        if !level.held.is_empty() {
            self.held = self.held.saturating_sub(1);
        }
        let name = match level.next_name() {
            Some(Ok(name)) => name,
            None => {
                self.pop();
                return None;
            }
            Some(Err(error)) => {
                // A listing that fails once is not read further.
                let path = self.path.clone();
                self.pop();
                return Some(problem(&path, error));
            }
        };
        let path = join(&self.path, &names::encode(&name));
        let Some(base) = level.fd() else {
            // Never happens: the innermost level is always open.
            self.pop();
            return Some(problem(&path, "the directory is not open"));
        };
        let found = match stat_at(base, &name) {
            Ok(found) => found,
            Err(error) if error.kind() == io::ErrorKind::NotFound => return None,
            Err(error) => return Some(problem(&path, error)),
        };
        if !self.mount.holds(&found.mount) {
            tracing::debug!(path = %printable(&path), "not descending into another mount");
            return None;
        }
        let kind = found.kind;
        let entry = Entry {
            kind,
            size: if kind == EntryKind::Directory {
                0
            } else {
                found.size
            },
            mtime: u64::try_from(found.mtime).unwrap_or(0),
            mtime_nanos: found.mtime_nsec.min(999_999_999),
            inode: found.inode,
            locked: matches!(kind, EntryKind::File | EntryKind::Directory)
                && (self
                    .locks
                    .contains(&lock_key(found.mount.device, found.inode))
                    || (kind == EntryKind::File
                        && part_of_open_database(base, &name, found.size, &self.locks))),
            path,
        };
        if kind == EntryKind::Directory {
            if depth >= MAX_DEPTH {
                self.queued.push_back(problem(
                    &entry.path,
                    format!("deeper than {MAX_DEPTH} levels: not entered"),
                ));
            } else if let Err(reason) = self.enter(name, &entry, (found.mount.device, found.inode))
            {
                self.queued.push_back(problem(&entry.path, reason));
            }
        }
        Some(Found::Entry(entry))
    }

    /// Opens the directory `name` of the innermost level (the entry just found, with `id`)
    /// as the new innermost level. `Err` says why it is not entered (nothing when it is
    /// gone).
    fn enter(&mut self, name: OsString, entry: &Entry, id: (u64, u64)) -> Result<(), String> {
        if self.open >= MAX_OPEN_DIRS && !self.close_outermost() {
            return Err(format!(
                "not entered: the walk already holds {MAX_OPEN_DIRS} directories open and \
                 {MAX_HELD_NAMES} names of the directories above it"
            ));
        }
        let base = self
            .stack
            .last()
            .and_then(Level::fd)
            .ok_or("no open parent")?;
        let fd = match open_dir(base, &name) {
            Ok(fd) => fd,
            Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(error) => return Err(error.to_string()),
        };
        if id_of(&fd).map_err(|error| error.to_string())? != id {
            return Err("replaced while it was being entered: not entered".to_string());
        }
        let level = Level::new(fd, name, id, entry.path.len()).map_err(|e| e.to_string())?;
        self.path.clone_from(&entry.path);
        self.stack.push(level);
        self.open += 1;
        Ok(())
    }

    /// Closes the outermost open level but the start and the innermost, after reading the
    /// rest of its listing; whether one could be closed within [`MAX_HELD_NAMES`].
    fn close_outermost(&mut self) -> bool {
        let innermost = self.stack.len().saturating_sub(1);
        let Some(index) = (1..innermost).find(|&index| self.stack[index].dir.is_some()) else {
            return false;
        };
        let level = &mut self.stack[index];
        while level.streaming {
            if self.held >= MAX_HELD_NAMES {
                return false;
            }
            match level.read_stream() {
                Some(Ok(name)) => {
                    level.held.push_back(name);
                    self.held += 1;
                }
                Some(Err(error)) => {
                    // What was read is still walked; the rest is reported, as when the
                    // listing fails while it is the innermost.
                    let path = &self.path[..level.path_len];
                    self.queued.push_back(problem(path, error));
                }
                None => {}
            }
        }
        level.dir = None;
        self.open -= 1;
        true
    }

    /// Leaves the innermost level; the level above is opened again when it was closed.
    fn pop(&mut self) {
        let Some(done) = self.stack.pop() else {
            return;
        };
        if done.dir.is_some() {
            self.open -= 1;
        }
        self.held = self.held.saturating_sub(done.held.len());
        self.truncate_path();
        if self.stack.last().is_some_and(|level| level.dir.is_none()) {
            self.reopen_innermost(done.fd());
        }
    }

    fn truncate_path(&mut self) {
        let len = self.stack.last().map_or(0, |level| level.path_len);
        self.path.truncate(len);
    }

    /// Opens the innermost level again: through `..` of `below` (the level just left), else
    /// name by name from the nearest open level, and only when it is the directory it was.
    /// A level that cannot be found again is reported and left, and so on up.
    fn reopen_innermost(&mut self, mut below: Option<BorrowedFd<'_>>) {
        while let Some(index) = self.stack.len().checked_sub(1) {
            if self.stack[index].dir.is_some() {
                return;
            }
            let id = self.stack[index].id;
            let through_parent = below
                .take()
                .and_then(|fd| open_dir(fd, OsStr::new("..")).ok())
                .filter(|fd| id_of(fd).is_ok_and(|found| found == id));
            let opened = through_parent.or_else(|| self.open_by_names(index));
            match opened.map(rustix::fs::Dir::new) {
                Some(Ok(dir)) => {
                    self.stack[index].dir = Some(dir);
                    self.open += 1;
                    return;
                }
                _ => {
                    self.queued.push_back(problem(
                        &self.path,
                        "moved or replaced during the walk: the rest of it is not listed",
                    ));
                    if let Some(gone) = self.stack.pop() {
                        self.held = self.held.saturating_sub(gone.held.len());
                    }
                    self.truncate_path();
                }
            }
        }
    }

    /// Opens level `index` name by name from the nearest open level above it, checking each
    /// directory on the way is the one the walk went through.
    fn open_by_names(&self, index: usize) -> Option<OwnedFd> {
        let open = (0..index)
            .rev()
            .find(|&above| self.stack[above].dir.is_some())?;
        let mut current: Option<OwnedFd> = None;
        for level in &self.stack[open + 1..=index] {
            let base = match &current {
                Some(fd) => fd.as_fd(),
                None => self.stack[open].fd()?,
            };
            let next = open_dir(base, &level.name).ok()?;
            if id_of(&next).ok()? != level.id {
                return None;
            }
            current = Some(next);
        }
        current
    }
}

impl Iterator for Walker {
    type Item = Found;

    fn next(&mut self) -> Option<Found> {
        loop {
            if let Some(found) = self.queued.pop_front() {
                return Some(found);
            }
            if self.stack.is_empty() {
                return None;
            }
            self.seen += 1;
            if self.seen.is_multiple_of(CANCEL_CHECK_EVERY) && self.context.cancelled() {
                self.cancelled = true;
                self.stack.clear();
                self.open = 0;
                self.held = 0;
                return None;
            }
            if let Some(found) = self.advance() {
                return Some(found);
            }
        }
    }
}

#[cfg(test)]
mod tests;
