//! The dataset's folders, each opened once per run and kept by descriptor, keyed by its path
//! inside the root (`raw/spin/batch00`). A folder is opened through its parent's descriptor,
//! one component at a time: looked at without following a link or triggering an automount,
//! opened `O_NOFOLLOW | O_DIRECTORY`, and refused when it is a link, not a directory, or on
//! another mount than the root.
//!
//! A descriptor stays the directory it was opened on, wherever that directory goes. Looking
//! ([`Reach::Look`]) takes the cached descriptor as it is: what is read that way is looked at
//! again before anything is written. Before a write ([`Reach::Check`], [`Reach::Make`]) every
//! folder on the way must still be what its parent holds under its name:
//!
//! - while every folder opened is watched ([`super::watch`]: placed right after the open, the
//!   folder then found at its place again) and no event has come, that holds, and the check
//!   is one read of an empty event queue;
//! - otherwise (no inotify, a watch refused, or any event: from then on, for the rest of the
//!   run) each folder on the way is checked by `statx` relative to its parent's descriptor, no
//!   link followed, against the device and inode it was opened on.
//!
//! A folder found moved away or swapped for a link is dropped with everything cached below it
//! and opened again from its parent, as a first visit would.
//!
//! At most a capacity of descriptors is kept (see [`capacity`]): past it the least recently used
//! quarter is closed and opened again when next needed. Folders found missing while looking are
//! remembered as missing for the run (a write checks again and makes them).

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::ffi::OsStr;
use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::rc::Rc;

use rustix::fs::{Mode, OFlags, mkdirat, openat};

use super::PathError;
use super::watch::Watch;
use crate::capabilities::fs::stat::{EntryKind, Mount, stat_at, stat_fd};

/// The fewest descriptors kept, however low the open-file limit.
const MIN_CAPACITY: usize = 8;
/// The most descriptors kept, however high the open-file limit.
const MAX_CAPACITY: usize = 4096;
/// Descriptors left to the rest of the process (the policy's engine, the annotation folder,
/// files being written) before the cache takes half of what remains.
const RESERVED: u64 = 256;

/// How many folder descriptors a run keeps: half of what the soft `RLIMIT_NOFILE` leaves after
/// [`RESERVED`] descriptors for the rest of the process, between 8 and 4,096.
pub fn capacity() -> usize {
    let soft = rustix::process::getrlimit(rustix::process::Resource::Nofile)
        .current
        .unwrap_or(u64::MAX);
    let spare = soft.saturating_sub(RESERVED) / 2;
    usize::try_from(spare)
        .unwrap_or(usize::MAX)
        .clamp(MIN_CAPACITY, MAX_CAPACITY)
}

/// Which directory a folder is: its device and inode.
type DirId = (u64, u64);

/// How a folder is reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Reach {
    /// As cached this run, to look at (a folder remembered as missing is missing).
    Look,
    /// Every folder on the way checked now to still be at its place, to write in.
    Check,
    /// Checked, and the missing ones made (mode 0755).
    Make,
}

/// A cached folder.
enum Slot {
    /// Opened: its descriptor, which directory it is (device, inode), when last used.
    Open {
        fd: Rc<OwnedFd>,
        id: DirId,
        used: u64,
    },
    /// Found missing while looking.
    Missing,
}

/// A cached folder as a walk sees it (the cache not borrowed meanwhile).
enum Cached {
    Open(Rc<OwnedFd>, DirId),
    Missing,
}

/// The folders of one dataset root.
pub(super) struct Folders {
    root: Rc<OwnedFd>,
    mount: Mount,
    capacity: usize,
    slots: RefCell<HashMap<String, Slot>>,
    /// Slots holding a descriptor.
    open: Cell<usize>,
    /// Ticks once per use: the order of last use.
    clock: Cell<u64>,
    /// The watch on every folder opened, while it is trusted (see the module's documentation).
    watch: Option<Watch>,
    watching: Cell<bool>,
}

impl Folders {
    /// The folders below `root` (on `mount`), at most `capacity` descriptors kept.
    pub fn new(root: OwnedFd, mount: Mount, capacity: usize) -> Self {
        Self {
            root: Rc::new(root),
            mount,
            capacity: capacity.max(1),
            slots: RefCell::new(HashMap::new()),
            open: Cell::new(0),
            clock: Cell::new(0),
            watch: None,
            watching: Cell::new(false),
        }
    }

    /// Watches every folder opened from now on (see the module's documentation), when the
    /// system allows; `self` as it was otherwise.
    pub fn watched(mut self) -> Self {
        if self.open.get() == 0 {
            self.watch = Watch::new();
            self.watching.set(self.watch.is_some());
        }
        self
    }

    /// Whether every folder cached is known to be at its place with no look at each: every one
    /// is watched and nothing has happened to any (one read of the event queue).
    pub fn quiet(&self) -> bool {
        if !self.watching.get() {
            return false;
        }
        let quiet = self.watch.as_ref().is_some_and(Watch::quiet);
        if !quiet {
            self.distrust();
        }
        quiet
    }

    /// Checks every folder by `statx` from now on, for the rest of the run.
    pub fn distrust(&self) {
        self.watching.set(false);
    }

    /// Whether the folders are still taken on their watch's word.
    pub fn watching(&self) -> bool {
        self.watching.get()
    }

    /// The root's descriptor.
    pub fn root(&self) -> &OwnedFd {
        &self.root
    }

    /// How many folder descriptors are kept now.
    #[cfg(test)]
    pub fn open_count(&self) -> usize {
        self.open.get()
    }

    fn tick(&self) -> u64 {
        let now = self.clock.get() + 1;
        self.clock.set(now);
        now
    }

    /// The folder `key`, as cached (its last use now).
    fn cached(&self, key: &str) -> Option<Cached> {
        let now = self.tick();
        match self.slots.borrow_mut().get_mut(key)? {
            Slot::Open { fd, id, used } => {
                *used = now;
                Some(Cached::Open(Rc::clone(fd), *id))
            }
            Slot::Missing => Some(Cached::Missing),
        }
    }

    /// The folder `folder` (`""`: the root; its components already checked to be plain names),
    /// reached as `reach` says; `None` when it (or a folder on the way) is missing.
    pub fn get(&self, folder: &str, reach: Reach) -> Result<Option<Rc<OwnedFd>>, PathError> {
        self.get_after(folder, reach, reach != Reach::Look && self.quiet())
    }

    /// [`Folders::get`] for a write right after [`Folders::quiet`] answered `quiet` (one read
    /// of the event queue for both folders of a move): when it did, the folders cached are
    /// taken as they are.
    pub fn get_after(
        &self,
        folder: &str,
        reach: Reach,
        quiet: bool,
    ) -> Result<Option<Rc<OwnedFd>>, PathError> {
        if folder.is_empty() {
            return Ok(Some(Rc::clone(&self.root)));
        }
        if reach == Reach::Look {
            match self.cached(folder) {
                Some(Cached::Open(fd, _)) => return Ok(Some(fd)),
                Some(Cached::Missing) => return Ok(None),
                None => {}
            }
        }
        let checked = reach != Reach::Look && !quiet;
        let mut parent = Rc::clone(&self.root);
        let mut end = 0;
        for part in folder.split('/') {
            end += if end == 0 { part.len() } else { part.len() + 1 };
            let key = &folder[..end];
            let name = OsStr::new(part);
            match self.cached(key) {
                Some(Cached::Open(fd, id)) => {
                    if !checked || still_at(&parent, name, id)? {
                        parent = fd;
                        continue;
                    }
                    // Moved away or replaced: nothing cached below it holds either.
                    self.forget(key);
                }
                Some(Cached::Missing) if reach == Reach::Look => return Ok(None),
                Some(Cached::Missing) | None => {}
            }
            match self.open_child(&parent, part, reach == Reach::Make)? {
                Some((fd, id)) => {
                    let fd = Rc::new(fd);
                    self.insert(
                        key,
                        Slot::Open {
                            fd: Rc::clone(&fd),
                            id,
                            used: self.tick(),
                        },
                    );
                    parent = fd;
                }
                None => {
                    if reach == Reach::Look {
                        self.insert(key, Slot::Missing);
                    }
                    return Ok(None);
                }
            }
        }
        Ok(Some(parent))
    }

    /// Opens `part` in `parent` (made first when missing and `make`): a directory on the root's
    /// mount, never through a link.
    fn open_child(
        &self,
        parent: &OwnedFd,
        part: &str,
        make: bool,
    ) -> Result<Option<(OwnedFd, DirId)>, PathError> {
        let name = OsStr::new(part);
        match stat_at(parent, name) {
            Ok(stat) => self.refuse_unless_directory(part, stat.kind, &stat.mount)?,
            Err(error) if error.kind() == io::ErrorKind::NotFound => {
                if !make {
                    return Ok(None);
                }
                match mkdirat(parent, name, Mode::from_raw_mode(0o755)) {
                    Ok(()) | Err(rustix::io::Errno::EXIST) => {}
                    Err(error) => return Err(PathError::Io(error.into())),
                }
            }
            Err(error) => return Err(PathError::Io(error)),
        }
        let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
        let fd = match openat(parent, name, flags, Mode::empty()) {
            Ok(fd) => fd,
            Err(rustix::io::Errno::NOENT) if !make => return Ok(None),
            // Replaced since it was looked at: say what it is now.
            Err(rustix::io::Errno::LOOP | rustix::io::Errno::NOTDIR) => {
                let stat = stat_at(parent, name)?;
                self.refuse_unless_directory(part, stat.kind, &stat.mount)?;
                return Err(PathError::Refused(format!(
                    "{part:?} changed while it was opened"
                )));
            }
            Err(error) => return Err(PathError::Io(error.into())),
        };
        let stat = stat_fd(&fd)?;
        self.refuse_unless_directory(part, stat.kind, &stat.mount)?;
        let id = (stat.mount.device, stat.inode);
        if self.watching.get() {
            let watched = self.watch.as_ref().is_some_and(|watch| watch.add(&fd));
            if !watched {
                self.distrust();
            } else if !still_at(parent, name, id)? {
                // Moved before its watch was placed.
                return Err(PathError::Refused(format!(
                    "{part:?} changed while it was opened"
                )));
            }
        }
        Ok(Some((fd, id)))
    }

    /// Refuses `part` unless it is a directory on the root's mount.
    fn refuse_unless_directory(
        &self,
        part: &str,
        kind: EntryKind,
        mount: &Mount,
    ) -> Result<(), PathError> {
        match kind {
            EntryKind::Directory if self.mount.holds(mount) => Ok(()),
            EntryKind::Directory => Err(PathError::Refused(format!(
                "{part:?} is on another filesystem"
            ))),
            EntryKind::Symlink => Err(PathError::Refused(format!("{part:?} is a symbolic link"))),
            _ => Err(PathError::Refused(format!("{part:?} is not a directory"))),
        }
    }

    /// Caches `slot` as `key`, closing the least recently used quarter of the descriptors first
    /// when they are at capacity.
    fn insert(&self, key: &str, slot: Slot) {
        let mut slots = self.slots.borrow_mut();
        let opens = matches!(slot, Slot::Open { .. });
        if opens && self.open.get() >= self.capacity {
            let mut ages: Vec<u64> = slots
                .values()
                .filter_map(|slot| match slot {
                    Slot::Open { used, .. } => Some(*used),
                    Slot::Missing => None,
                })
                .collect();
            let evicted = (ages.len() / 4).max(1).min(ages.len());
            if evicted > 0 {
                let (_, oldest, _) = ages.select_nth_unstable(evicted - 1);
                let oldest = *oldest;
                slots.retain(|_, slot| !matches!(slot, Slot::Open { used, .. } if *used <= oldest));
                self.open.set(self.open.get() - evicted);
            }
        }
        let replaced = slots.insert(key.to_string(), slot);
        let was_open = matches!(replaced, Some(Slot::Open { .. }));
        match (was_open, opens) {
            (false, true) => self.open.set(self.open.get() + 1),
            (true, false) => self.open.set(self.open.get() - 1),
            _ => {}
        }
    }

    /// Drops `key` and every folder cached below it.
    fn forget(&self, key: &str) {
        let mut slots = self.slots.borrow_mut();
        let mut closed = 0;
        slots.retain(|cached, slot| {
            let below = cached == key
                || (cached.starts_with(key) && cached.as_bytes().get(key.len()) == Some(&b'/'));
            if below && matches!(slot, Slot::Open { .. }) {
                closed += 1;
            }
            !below
        });
        self.open.set(self.open.get() - closed);
    }
}

/// Whether `name` in `parent` is still the directory `id` (a link there is not).
fn still_at(parent: &impl AsFd, name: &OsStr, id: DirId) -> Result<bool, PathError> {
    match stat_at(parent, name) {
        Ok(stat) => Ok(stat.kind == EntryKind::Directory && (stat.mount.device, stat.inode) == id),
        Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(error) => Err(PathError::Io(error)),
    }
}

#[cfg(test)]
mod tests;
