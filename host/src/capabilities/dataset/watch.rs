//! Word of a cached folder moved, replaced or changed: an inotify instance watching each folder
//! a run opens (`IN_MOVE_SELF`, `IN_DELETE_SELF`, `IN_ATTRIB`: the folder renamed, exchanged,
//! removed, renamed over, its mode or owner changed). The run's own work (files renamed in
//! and out, folders made inside) raises none of these. The kernel queues an event before the
//! call that caused it returns, so an empty queue read after a folder's watch was placed (and
//! the folder found at its place since) says it is still there; a single event, an overflow
//! or a read that fails says it may not be.
//!
//! Watches come out of a per-user budget other programs need too (editors, file managers): a run
//! watches at most [`MAX_WATCHES`] folders, and its folders are checked one by one past that.

use std::cell::Cell;
use std::os::fd::{AsRawFd, OwnedFd};

use rustix::fs::inotify::{self, CreateFlags, WatchFlags};

/// The most folders one run watches.
pub const MAX_WATCHES: usize = 8192;

/// An inotify instance.
pub(super) struct Watch {
    fd: OwnedFd,
    /// Folders watched, and the highest watch number given (a new folder gets a higher one;
    /// the same folder opened again, the same).
    watched: Cell<usize>,
    highest: Cell<i32>,
    budget: usize,
}

impl Watch {
    /// A new instance, `None` when the system gives none (no inotify, the per-user limit).
    pub fn new() -> Option<Self> {
        inotify::init(CreateFlags::NONBLOCK | CreateFlags::CLOEXEC)
            .ok()
            .map(|fd| Self {
                fd,
                watched: Cell::new(0),
                highest: Cell::new(0),
                budget: MAX_WATCHES,
            })
    }

    /// Watches the directory open as `folder` (by its descriptor, through `/proc/self/fd`);
    /// `false` when it cannot (no `/proc`, the per-user limit of watches) or when
    /// [`MAX_WATCHES`] folders are watched already.
    pub fn add(&self, folder: &OwnedFd) -> bool {
        if self.watched.get() >= self.budget {
            return false;
        }
        let path = format!("/proc/self/fd/{}", folder.as_raw_fd());
        let flags = WatchFlags::MOVE_SELF | WatchFlags::DELETE_SELF | WatchFlags::ATTRIB;
        match inotify::add_watch(&self.fd, path, flags) {
            Ok(number) => {
                if number > self.highest.get() {
                    self.highest.set(number);
                    self.watched.set(self.watched.get() + 1);
                }
                true
            }
            Err(_) => false,
        }
    }

    /// Whether nothing happened to a watched folder since its watch was placed: the queue is
    /// empty. Anything else (an event, an overflow, an error) is a no.
    pub fn quiet(&self) -> bool {
        let mut events = [0u8; 4096];
        matches!(
            rustix::io::read(&self.fd, &mut events),
            Err(rustix::io::Errno::AGAIN)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn open(path: &std::path::Path) -> OwnedFd {
        let flags = rustix::fs::OFlags::RDONLY | rustix::fs::OFlags::DIRECTORY;
        rustix::fs::open(path, flags, rustix::fs::Mode::empty()).expect("open")
    }

    #[test]
    fn a_run_watches_no_more_folders_than_its_budget() {
        let Some(mut watch) = Watch::new() else {
            return; // No inotify here.
        };
        watch.budget = 2;
        let dir = tempfile::tempdir().expect("dir");
        for name in ["a", "b", "c"] {
            std::fs::create_dir(dir.path().join(name)).expect("mkdir");
        }
        let [a, b, c] = ["a", "b", "c"].map(|name| open(&dir.path().join(name)));
        assert!(watch.add(&a));
        // The same folder opened again: the same watch, none of the budget.
        assert!(watch.add(&open(&dir.path().join("a"))));
        assert!(watch.add(&b));
        assert!(!watch.add(&c), "past the budget");
        assert!(watch.quiet());
        std::fs::rename(dir.path().join("b"), dir.path().join("moved")).expect("rename");
        assert!(!watch.quiet());
    }
}
