//! The streaming walk of an area: depth first, a directory listed before what it holds,
//! one open directory (and its listing) per level of the current path and nothing else, so
//! memory does not grow with the area. Never through a link or into another mount; stops
//! when cancelled.

use std::collections::{HashSet, VecDeque};
use std::io;
use std::sync::Arc;

use cap_std::fs::{Dir, ReadDir};

use super::locks::lock_key;
use super::stat::{EntryKind, Mount, stat_at};
use super::{CallContext, Entry, ScanProblem, names, open_dir_nofollow};
use crate::types::text::printable;

/// Deepest level a walk descends to: each level holds two descriptors (the directory and
/// its listing; the open-file limit is raised to its hard limit when the areas are opened).
/// A directory deeper than this, or one that cannot be opened for lack of descriptors, is
/// listed, not entered, and reported.
pub const MAX_DEPTH: usize = 4096;

/// How often (in entries) a walk looks at its cancel switch.
const CANCEL_CHECK_EVERY: u64 = 1024;

/// The devices and inodes locked by some process (see [`super::locked_files`]).
pub type Locks = HashSet<(u64, u64, u64)>;

/// One directory open on the current path.
struct Level {
    dir: Dir,
    listing: ReadDir,
    prefix: String,
}

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
        let listing = start.entries()?;
        Ok(Self {
            mount,
            locks,
            context,
            stack: vec![Level {
                dir: start,
                listing,
                prefix: prefix.to_string(),
            }],
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
        let item = match level.listing.next() {
            None => {
                self.stack.pop();
                return None;
            }
            Some(Err(error)) => {
                // A listing that fails once is not read further.
                let prefix = level.prefix.clone();
                self.stack.pop();
                return Some(problem(&prefix, error));
            }
            Some(Ok(item)) => item,
        };
        let name = item.file_name();
        let path = join(&level.prefix, &names::encode(&name));
        let found = match stat_at(&level.dir, &name) {
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
                && self
                    .locks
                    .contains(&lock_key(found.mount.device, found.inode)),
            path,
        };
        if kind == EntryKind::Directory {
            if depth >= MAX_DEPTH {
                self.queued.push_back(problem(
                    &entry.path,
                    format!("deeper than {MAX_DEPTH} levels: not entered"),
                ));
            } else {
                let opened = open_dir_nofollow(&level.dir, &name)
                    .and_then(|dir| dir.entries().map(|listing| (dir, listing)));
                match opened {
                    Ok((dir, listing)) => {
                        let prefix = entry.path.clone();
                        self.stack.push(Level {
                            dir,
                            listing,
                            prefix,
                        });
                    }
                    Err(error) if error.kind() == io::ErrorKind::NotFound => {}
                    Err(error) => self.queued.push_back(problem(&entry.path, error)),
                }
            }
        }
        Some(Found::Entry(entry))
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
                return None;
            }
            if let Some(found) = self.advance() {
                return Some(found);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capabilities::fs::Areas;

    /// An area `temp` holding `a/{0..n}`, `b/c/{x,y}` and `z`.
    fn area(n: usize) -> (tempfile::TempDir, Areas) {
        let dir = tempfile::tempdir().expect("tempdir");
        let temp = dir.path().join("data/temp");
        std::fs::create_dir_all(temp.join("a")).expect("mkdir");
        std::fs::create_dir_all(temp.join("b/c")).expect("mkdir");
        for index in 0..n {
            std::fs::write(temp.join(format!("a/{index}")), b"x").expect("write");
        }
        for name in ["b/c/x", "b/c/y", "z"] {
            std::fs::write(temp.join(name), b"yy").expect("write");
        }
        let areas = Areas::open(&dir.path().join("data"), &["temp".to_string()]).expect("areas");
        (dir, areas)
    }

    fn walker(areas: &Areas) -> Walker {
        areas
            .walk("temp", Arc::new(Locks::new()), &CallContext::default())
            .expect("walk")
    }

    fn paged(areas: &Areas, page: usize) -> Vec<String> {
        let mut walker = walker(areas);
        let mut paths = Vec::new();
        while !walker.is_done() {
            let (entries, problems) = walker.page(page);
            assert!(problems.is_empty(), "{problems:?}");
            assert!(entries.len() <= page);
            paths.extend(entries.into_iter().map(|entry| entry.path));
        }
        paths
    }

    #[test]
    fn every_page_size_lists_the_same_entries_parents_first_subtrees_together() {
        let (_dir, areas) = area(10);
        let whole = paged(&areas, 1_000);
        assert_eq!(whole.len(), 1 + 10 + 5, "{whole:?}");
        for page in [1, 2, 14, 15, 16] {
            assert_eq!(paged(&areas, page), whole, "page of {page}");
        }
        // A directory comes before what it holds, and nothing else comes between them.
        for (index, path) in whole.iter().enumerate() {
            let below = |other: &String| other.starts_with(&format!("{path}/"));
            let positions: Vec<usize> = (0..whole.len()).filter(|&i| below(&whole[i])).collect();
            if let (Some(&first), Some(&last)) = (positions.first(), positions.last()) {
                assert_eq!(first, index + 1, "{path} right before its entries");
                assert_eq!(
                    last - first + 1,
                    positions.len(),
                    "{path}'s entries together"
                );
            }
        }
    }

    #[test]
    fn entries_removed_during_the_walk_are_not_listed_and_nothing_breaks() {
        let (dir, areas) = area(2_000);
        let mut walker = walker(&areas);
        let (first, _) = walker.page(3);
        assert_eq!(first.len(), 3);
        // Remove what lies ahead (and what was listed), as a policy's batches would.
        for index in 0..2_000 {
            let _ = std::fs::remove_file(dir.path().join(format!("data/temp/a/{index}")));
        }
        let mut rest = 0;
        while !walker.is_done() {
            let (entries, problems) = walker.page(100);
            assert!(problems.is_empty(), "{problems:?}");
            rest += entries.len();
        }
        assert!(
            rest < 2_000,
            "removed entries are not listed again ({rest})"
        );
    }

    #[test]
    fn a_cancelled_walk_stops() {
        let (_dir, areas) = area(3_000);
        let cancel = Arc::new(std::sync::atomic::AtomicBool::new(true));
        let context = CallContext::starting_now(Some(cancel));
        let mut walker = areas
            .walk("temp", Arc::new(Locks::new()), &context)
            .expect("walk");
        let (entries, _) = walker.page(10_000);
        assert!(entries.len() < 3_000);
        assert!(walker.was_cancelled() && walker.is_done());
    }
}
