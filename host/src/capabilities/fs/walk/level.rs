//! One level of a walk's current path: its directory while open, the names read ahead from
//! its listing, and what identifies it when it is opened again.

use std::collections::VecDeque;
use std::ffi::{OsStr, OsString};
use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;

use rustix::fs::{Mode, OFlags, openat};

use super::super::stat::stat_fd;

/// One directory of the current path.
pub(super) struct Level {
    /// Open while the level is among the innermost ones (and always for the start).
    pub(super) dir: Option<rustix::fs::Dir>,
    /// Whether the rest of the listing still comes from `dir` (false once it is all in
    /// `held`, or the listing failed).
    pub(super) streaming: bool,
    /// Names read ahead from the listing, next first.
    pub(super) held: VecDeque<OsString>,
    /// Its name in its parent (empty for the start).
    pub(super) name: OsString,
    /// Its device and inode, to know it again when it is opened again.
    pub(super) id: (u64, u64),
    /// The length of the walk's path up to this level.
    pub(super) path_len: usize,
}

impl Level {
    pub(super) fn new(
        fd: OwnedFd,
        name: OsString,
        id: (u64, u64),
        path_len: usize,
    ) -> io::Result<Self> {
        Ok(Self {
            dir: Some(rustix::fs::Dir::new(fd)?),
            streaming: true,
            held: VecDeque::new(),
            name,
            id,
            path_len,
        })
    }

    pub(super) fn fd(&self) -> Option<BorrowedFd<'_>> {
        self.dir.as_ref().and_then(|dir| dir.fd().ok())
    }

    /// The next name of its listing: what was read ahead, then the rest of the stream.
    pub(super) fn next_name(&mut self) -> Option<io::Result<OsString>> {
        match self.held.pop_front() {
            Some(name) => Some(Ok(name)),
            None => self.read_stream(),
        }
    }

    /// The next name of the stream itself; `None` at its end (or once it failed).
    pub(super) fn read_stream(&mut self) -> Option<io::Result<OsString>> {
        if !self.streaming {
            return None;
        }
        let dir = self.dir.as_mut()?;
        loop {
            match dir.read() {
                None => {
                    self.streaming = false;
                    return None;
                }
                Some(Err(error)) => {
                    self.streaming = false;
                    return Some(Err(error.into()));
                }
                Some(Ok(item)) => {
                    let name = item.file_name().to_bytes();
                    if name != b"." && name != b".." {
                        return Some(Ok(OsStr::from_bytes(name).to_os_string()));
                    }
                }
            }
        }
    }
}

/// Opens the directory `name` in `base` for reading, never through a link.
pub(super) fn open_dir(base: BorrowedFd<'_>, name: &OsStr) -> io::Result<OwnedFd> {
    let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    Ok(openat(base, name, flags, Mode::empty())?)
}

/// The device and inode of an open directory.
pub(super) fn id_of(fd: impl AsFd) -> io::Result<(u64, u64)> {
    let found = stat_fd(fd)?;
    Ok((found.mount.device, found.inode))
}
