//! The annotation file's folder, opened once by descriptor: the annotation file, its `.bak`
//! and the organizer's journal are read and replaced relative to it, never through a symbolic
//! link, so whoever can write in the folder cannot make a run read or write anything else.
//!
//! Reads take regular files only: looked at without following a link, opened no-follow and
//! non-blocking (a FIFO never hangs the run), checked again by `fstat`, then read up to a stated
//! limit (the read stops at the limit plus one byte). A replacement is written to a temporary
//! file beside the name, fsynced, and renamed over the name only when the name still holds the
//! file that was read (same device and inode, size and modification time, checked right before
//! the rename); otherwise nothing is written.

use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::io::{self, Read, Seek, Write};
use std::os::fd::OwnedFd;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use rustix::fs::{AtFlags, Mode, OFlags, openat, renameat, unlinkat};

use crate::capabilities::fs::stat::{EntryKind, Stat, stat_at, stat_fd};

/// Why a file of the folder cannot be read or replaced.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    /// There is no file by that name.
    #[error("there is no such file")]
    Missing,
    /// The name is a symbolic link (never followed).
    #[error("it is a symbolic link, not a regular file (give the file itself)")]
    Link,
    /// The name is a directory, a FIFO, a socket or a device.
    #[error("it is not a regular file but a {0}")]
    NotAFile(&'static str),
    /// The file is larger than the limit.
    #[error("it is larger than the limit of {limit} bytes")]
    TooLarge {
        /// The limit, in bytes.
        limit: u64,
    },
    /// The file changed (grew, shrank, was replaced) while it was read.
    #[error("it changed while it was read; run again")]
    ChangedWhileRead,
    /// The name no longer holds the file that was read: nothing was written.
    #[error(
        "it was replaced or changed after it was read (by another file or a link); nothing was written"
    )]
    Replaced,
    /// The name is not a file name (empty, `.`, `..`, or ends in `/`).
    #[error("it is not a file name")]
    NotAName,
    /// The system refused.
    #[error(transparent)]
    Io(#[from] io::Error),
}

/// Which file a name held when it was read: enough to tell it from a replacement or an edit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Identity {
    /// The filesystem's device number.
    pub device: u64,
    /// Inode number.
    pub inode: u64,
    /// Size in bytes.
    pub size: u64,
    /// Modification time, seconds.
    pub mtime: i64,
    /// Modification time, nanoseconds within the second.
    pub mtime_nsec: u32,
    /// Permission bits.
    pub mode: u32,
}

impl Identity {
    fn of(stat: &Stat) -> Self {
        Self {
            device: stat.mount.device,
            inode: stat.inode,
            size: stat.size,
            mtime: stat.mtime,
            mtime_nsec: stat.mtime_nsec,
            mode: stat.mode,
        }
    }

    /// The same file, unchanged (the mode may differ).
    fn same(&self, other: &Self) -> bool {
        (
            self.device,
            self.inode,
            self.size,
            self.mtime,
            self.mtime_nsec,
        ) == (
            other.device,
            other.inode,
            other.size,
            other.mtime,
            other.mtime_nsec,
        )
    }
}

/// A file read whole: its bytes, the open file (the very one read, whatever becomes of its
/// name) and its identity.
#[derive(Debug)]
pub struct ReadFile {
    /// The content.
    pub bytes: Vec<u8>,
    /// The file read.
    pub file: File,
    /// What it was when read.
    pub identity: Identity,
}

fn kind_name(kind: EntryKind) -> &'static str {
    match kind {
        EntryKind::Directory => "directory",
        EntryKind::Symlink => "symbolic link",
        EntryKind::File => "regular file",
        EntryKind::Other => "FIFO, socket or device",
    }
}

/// Reads `file` from its start, at most `limit` bytes, checking it is still `identity`
/// afterwards (a file that grew or shrank meanwhile is an error, never half read).
fn read_bounded(mut file: &File, identity: &Identity, limit: u64) -> Result<Vec<u8>, FileError> {
    if identity.size > limit {
        return Err(FileError::TooLarge { limit });
    }
    file.seek(io::SeekFrom::Start(0))?;
    let capacity = usize::try_from(identity.size.saturating_add(1)).unwrap_or(usize::MAX);
    let mut bytes = Vec::with_capacity(capacity);
    file.take(limit.saturating_add(1)).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limit {
        return Err(FileError::TooLarge { limit });
    }
    let after = Identity::of(&stat_fd(file)?);
    if bytes.len() as u64 != identity.size || !after.same(identity) {
        return Err(FileError::ChangedWhileRead);
    }
    Ok(bytes)
}

/// Names of temporary files made by this process.
static TEMPORARY: AtomicU64 = AtomicU64::new(0);

/// A folder opened by descriptor.
#[derive(Debug)]
pub struct Folder {
    fd: OwnedFd,
    path: PathBuf,
}

impl Folder {
    /// Opens the folder `path` (following links on the way there: that is the caller's choice).
    pub fn open(path: &Path) -> io::Result<Self> {
        let fd = rustix::fs::open(
            path,
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )?;
        Ok(Self {
            fd,
            path: path.to_path_buf(),
        })
    }

    /// The folder of the file `path` and the file's name (`FileError::NotAName` when `path`
    /// does not end in one).
    pub fn of_file(path: &Path) -> Result<(Self, OsString), FileError> {
        let name = path.file_name().ok_or(FileError::NotAName)?;
        if path.as_os_str().as_bytes().ends_with(b"/") {
            return Err(FileError::NotAName);
        }
        let parent = path
            .parent()
            .filter(|parent| !parent.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        Ok((Self::open(parent)?, name.to_os_string()))
    }

    /// A second handle on the same folder.
    pub fn try_clone(&self) -> io::Result<Self> {
        Ok(Self {
            fd: self.fd.try_clone()?,
            path: self.path.clone(),
        })
    }

    /// The folder's path, as opened.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Takes an exclusive `flock` on the folder (held until every handle on it is closed);
    /// `false` when another process holds it.
    pub fn lock(&self) -> io::Result<bool> {
        match rustix::fs::flock(
            &self.fd,
            rustix::fs::FlockOperation::NonBlockingLockExclusive,
        ) {
            Ok(()) => Ok(true),
            Err(rustix::io::Errno::WOULDBLOCK) => Ok(false),
            Err(error) => Err(error.into()),
        }
    }

    /// The regular file `name`, read whole when at most `limit` bytes; `Ok(None)` when there is
    /// none. A link, a directory, a FIFO or a device is refused without being read.
    pub fn read(&self, name: &OsStr, limit: u64) -> Result<Option<ReadFile>, FileError> {
        let looked = match stat_at(&self.fd, name) {
            Ok(stat) => stat,
            Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(error) => return Err(error.into()),
        };
        match looked.kind {
            EntryKind::File => {}
            EntryKind::Symlink => return Err(FileError::Link),
            other => return Err(FileError::NotAFile(kind_name(other))),
        }
        let flags =
            OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::NOCTTY | OFlags::CLOEXEC;
        let fd = match openat(&self.fd, name, flags, Mode::empty()) {
            Ok(fd) => fd,
            Err(rustix::io::Errno::NOENT) => return Ok(None),
            Err(rustix::io::Errno::LOOP) => return Err(FileError::Link),
            Err(error) => return Err(FileError::Io(error.into())),
        };
        let file = File::from(fd);
        let opened = stat_fd(&file)?;
        if opened.kind != EntryKind::File {
            return Err(FileError::NotAFile(kind_name(opened.kind)));
        }
        let identity = Identity::of(&opened);
        if (identity.device, identity.inode) != (looked.mount.device, looked.inode) {
            return Err(FileError::ChangedWhileRead);
        }
        let bytes = read_bounded(&file, &identity, limit)?;
        Ok(Some(ReadFile {
            bytes,
            file,
            identity,
        }))
    }

    /// [`Folder::read`], a missing file being [`FileError::Missing`].
    pub fn read_existing(&self, name: &OsStr, limit: u64) -> Result<ReadFile, FileError> {
        self.read(name, limit)?.ok_or(FileError::Missing)
    }

    /// The content of `read` again, from the file read (not from its name), when it is still
    /// as it was.
    pub fn reread(read: &File, identity: &Identity, limit: u64) -> Result<Vec<u8>, FileError> {
        match read_bounded(read, identity, limit) {
            Err(FileError::ChangedWhileRead) => Err(FileError::Replaced),
            other => other,
        }
    }

    /// Whether `name` still holds the file `expected` ([`FileError::Replaced`] when not).
    pub fn check(&self, name: &OsStr, expected: &Identity) -> Result<(), FileError> {
        match stat_at(&self.fd, name) {
            Ok(stat) if stat.kind == EntryKind::File && Identity::of(&stat).same(expected) => {
                Ok(())
            }
            Ok(_) => Err(FileError::Replaced),
            Err(error) if error.kind() == io::ErrorKind::NotFound => Err(FileError::Replaced),
            Err(error) => Err(error.into()),
        }
    }

    /// Replaces `name` by `bytes` atomically (a temporary file beside it, written, fsynced,
    /// renamed over, the folder fsynced), with permission bits `mode`. With `expected`, only
    /// when `name` is still that file (checked before anything is written and right before
    /// the rename: [`FileError::Replaced`] otherwise, nothing changed). Whatever `name` is, it
    /// is replaced as an entry, never followed. The new file's identity.
    pub fn replace(
        &self,
        name: &OsStr,
        bytes: &[u8],
        expected: Option<&Identity>,
        mode: u32,
    ) -> Result<Identity, FileError> {
        if let Some(expected) = expected {
            self.check(name, expected)?;
        }
        let mut temporary = OsString::from(".");
        temporary.push(name);
        temporary.push(format!(
            ".{}-{}.tmp",
            std::process::id(),
            TEMPORARY.fetch_add(1, Ordering::Relaxed)
        ));
        let fd = openat(
            &self.fd,
            &temporary,
            OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::from_raw_mode(0o600),
        )
        .map_err(io::Error::from)?;
        let mut file = File::from(fd);
        let written = (|| -> Result<Identity, FileError> {
            rustix::fs::fchmod(&file, Mode::from_raw_mode(mode & 0o7777))
                .map_err(io::Error::from)?;
            file.write_all(bytes)?;
            file.sync_all()?;
            let identity = Identity::of(&stat_fd(&file)?);
            if let Some(expected) = expected {
                self.check(name, expected)?;
            }
            renameat(&self.fd, &temporary, &self.fd, name).map_err(io::Error::from)?;
            Ok(identity)
        })();
        match written {
            Ok(identity) => {
                // The rename reaches the disk (a folder opened read-only can be fsynced).
                let _ = rustix::fs::fsync(&self.fd);
                Ok(identity)
            }
            Err(error) => {
                let _ = unlinkat(&self.fd, &temporary, AtFlags::empty());
                Err(error)
            }
        }
    }

    /// Removes the entry `name` (a link itself, never what it points to); nothing when there
    /// is none.
    pub fn remove(&self, name: &OsStr) -> io::Result<()> {
        match unlinkat(&self.fd, name, AtFlags::empty()) {
            Ok(()) | Err(rustix::io::Errno::NOENT) => Ok(()),
            Err(error) => Err(error.into()),
        }
    }
}

/// The regular file at `path` (its folder reached as the path says, the file itself never
/// through a link), at most `limit` bytes.
pub fn read_file(path: &Path, limit: u64) -> Result<Vec<u8>, FileError> {
    let (folder, name) = Folder::of_file(path)?;
    Ok(folder.read_existing(&name, limit)?.bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn folder() -> (tempfile::TempDir, Folder) {
        let dir = tempfile::tempdir().expect("dir");
        let folder = Folder::open(dir.path()).expect("open");
        (dir, folder)
    }

    #[test]
    fn only_regular_files_are_read_and_never_past_the_limit() {
        let (dir, folder) = folder();
        std::fs::write(dir.path().join("a"), "12345").expect("write");
        let read = folder
            .read(OsStr::new("a"), 5)
            .expect("read")
            .expect("a file");
        assert_eq!(read.bytes, b"12345");
        assert!(matches!(
            folder.read(OsStr::new("a"), 4),
            Err(FileError::TooLarge { limit: 4 })
        ));
        assert!(folder.read(OsStr::new("none"), 5).expect("read").is_none());
        std::os::unix::fs::symlink("/dev/zero", dir.path().join("zero")).expect("link");
        assert!(matches!(
            folder.read(OsStr::new("zero"), 5),
            Err(FileError::Link)
        ));
        std::fs::create_dir(dir.path().join("d")).expect("mkdir");
        assert!(matches!(
            folder.read(OsStr::new("d"), 5),
            Err(FileError::NotAFile("directory"))
        ));
        rustix::fs::mkfifoat(&folder.fd, "fifo", Mode::from_raw_mode(0o600)).expect("mkfifo");
        assert!(matches!(
            folder.read(OsStr::new("fifo"), 5),
            Err(FileError::NotAFile(_))
        ));
        assert!(matches!(
            read_file(&dir.path().join("d/"), 5),
            Err(FileError::NotAName)
        ));
    }

    #[test]
    fn a_file_that_changed_after_the_read_is_not_replaced() {
        let (dir, folder) = folder();
        let outside = tempfile::tempdir().expect("dir");
        let victim = outside.path().join("victim.txt");
        std::fs::write(&victim, "victim").expect("write");
        std::fs::write(dir.path().join("a.json"), "read").expect("write");
        let read = folder
            .read_existing(OsStr::new("a.json"), 100)
            .expect("read");
        // Replaced by a link after the read: refused, the link and its target untouched.
        std::fs::remove_file(dir.path().join("a.json")).expect("rm");
        std::os::unix::fs::symlink(&victim, dir.path().join("a.json")).expect("link");
        let replaced = folder.replace(OsStr::new("a.json"), b"new", Some(&read.identity), 0o644);
        assert!(matches!(replaced, Err(FileError::Replaced)), "{replaced:?}");
        assert_eq!(std::fs::read_to_string(&victim).expect("read"), "victim");
        assert!(dir.path().join("a.json").is_symlink());
        // Edited in place: refused too.
        std::fs::remove_file(dir.path().join("a.json")).expect("rm");
        std::fs::write(dir.path().join("b"), "read").expect("write");
        let read = folder.read_existing(OsStr::new("b"), 100).expect("read");
        std::fs::write(dir.path().join("b"), "edited by someone").expect("write");
        assert!(matches!(
            folder.replace(OsStr::new("b"), b"new", Some(&read.identity), 0o644),
            Err(FileError::Replaced)
        ));
        assert!(matches!(
            Folder::reread(&read.file, &read.identity, 100),
            Err(FileError::Replaced)
        ));
        // Unchanged: replaced, no temporary file left.
        let read = folder.read_existing(OsStr::new("b"), 100).expect("read");
        let new = folder
            .replace(OsStr::new("b"), b"new", Some(&read.identity), 0o640)
            .expect("replace");
        assert_eq!(std::fs::read(dir.path().join("b")).expect("read"), b"new");
        assert_eq!(new.mode, 0o640);
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .expect("list")
            .map(|entry| entry.expect("entry").file_name())
            .collect();
        assert_eq!(names, vec![OsString::from("b")]);
    }

    #[test]
    fn a_file_growing_or_shrinking_while_read_is_an_error() {
        let (dir, _folder) = folder();
        let path = dir.path().join("a");
        std::fs::write(&path, "1234").expect("write");
        let file = File::open(&path).expect("open");
        let identity = Identity::of(&stat_fd(&file).expect("stat"));
        let mut appending = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .expect("open");
        appending.write_all(b"5678").expect("grow");
        assert!(matches!(
            read_bounded(&file, &identity, 100),
            Err(FileError::ChangedWhileRead)
        ));
        appending.set_len(2).expect("shrink");
        assert!(matches!(
            read_bounded(&file, &identity, 100),
            Err(FileError::ChangedWhileRead)
        ));
    }
}
