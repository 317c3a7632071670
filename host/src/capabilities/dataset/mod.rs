//! A dataset root for the directory organizer: every access relative to the root's descriptor
//! (cap-std), one path component at a time, never through a symbolic link, never onto another
//! mount, and every move `renameat2(RENAME_NOREPLACE)` so nothing is ever overwritten. Each
//! folder is opened once per run, through its parent's descriptor, and kept (a bounded cache,
//! `folders`); before a move every folder on the way is known, or checked, to still be at its
//! place inside the root. The annotation file's folder (the annotation file, its `.bak`, the
//! journal) is [`folder`].

pub mod annotations;
pub mod folder;
mod folders;
pub mod journal;
mod survey;
mod watch;

use std::ffi::OsStr;
use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::path::Path;

use cap_std::ambient_authority;
use cap_std::fs::Dir;
use rustix::fs::{OFlags, RenameFlags, renameat_with};

use self::folders::{Folders, Reach};
use super::fs::stat::{EntryKind, Mount, Stat, stat_at, stat_fd};
use crate::types::organizer::Structure;

/// Which file a path named when it was planned: inode, size and modification time (an inode
/// number alone is reused as soon as a file is deleted).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FileId {
    /// Inode number.
    pub inode: u64,
    /// Size in bytes.
    pub size: u64,
    /// Modification time, seconds.
    pub mtime: i64,
    /// Modification time, nanoseconds within the second.
    pub mtime_nsec: u32,
}

impl FileId {
    /// The identity of the file `stat` describes.
    pub fn of(stat: &Stat) -> Self {
        Self {
            inode: stat.inode,
            size: stat.size,
            mtime: stat.mtime,
            mtime_nsec: stat.mtime_nsec,
        }
    }
}

/// Which directory a dataset root is: its device and inode. The same directory whatever path
/// reaches it (renamed, through a bind mount of its filesystem), and only that one; a journal
/// records it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RootId {
    /// The filesystem's device number.
    pub device: u64,
    /// The directory's inode number.
    pub inode: u64,
}

impl RootId {
    /// The directory `path` names now (a link followed, as [`Dataset::open`] follows one; a
    /// relative path from the current directory).
    pub fn of_path(path: &Path) -> io::Result<Self> {
        use std::os::unix::fs::MetadataExt;
        let metadata = std::fs::metadata(path)?;
        Ok(Self {
            device: metadata.dev(),
            inode: metadata.ino(),
        })
    }
}

/// `root`'s canonical absolute path (links resolved), or its absolute path when it cannot be
/// resolved: what a journal records for people (the root is matched by [`RootId`]).
pub fn canonical_path(root: &Path) -> std::path::PathBuf {
    std::fs::canonicalize(root)
        .or_else(|_| std::path::absolute(root))
        .unwrap_or_else(|_| root.to_path_buf())
}

/// A relative path's components, or why it is refused: absolute, empty, or with an empty, `.`
/// or `..` component or a NUL (the plan never gives such paths; a journal or another policy
/// might).
pub fn components(path: &str) -> Result<Vec<&str>, PathError> {
    check_plain(path)?;
    Ok(path.split('/').collect())
}

/// Refuses `path` unless it is a plain relative path (see [`components`]).
fn check_plain(path: &str) -> Result<(), PathError> {
    let bad = path.starts_with('/')
        || path
            .split('/')
            .any(|part| part.is_empty() || part == "." || part == ".." || part.contains('\0'));
    if bad {
        return Err(PathError::Refused(format!(
            "{path:?} is not a plain relative path inside the root"
        )));
    }
    Ok(())
}

/// `path`'s folder (`""` for the root) and file name, or why it is refused (as by
/// [`components`]).
fn split(path: &str) -> Result<(&str, &str), PathError> {
    check_plain(path)?;
    Ok(path.rsplit_once('/').unwrap_or(("", path)))
}

/// What a relative path names in the dataset.
#[derive(Debug, Clone, Copy)]
pub enum Found {
    /// A regular file (its inode, for "is it still the same file").
    File(Stat),
    /// Nothing.
    Missing,
    /// Something that is not a regular file (a directory, a link, a device).
    NotAFile,
}

/// Why a path cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum PathError {
    /// A component is a symbolic link, another mount, or not a directory.
    #[error("{0}")]
    Refused(String),
    /// The system refused.
    #[error(transparent)]
    Io(#[from] io::Error),
}

/// An opened dataset root, with its folders as this run opened them.
pub struct Dataset {
    folders: Folders,
    mount: Mount,
}

/// What became of one move.
#[derive(Debug)]
pub enum Moved {
    /// Done.
    Moved,
    /// Another file is at the target.
    TargetExists,
    /// The source is gone.
    Missing,
    /// The source is no longer the file planned (replaced, or not a regular file).
    Changed,
    /// A path component is a link or another mount.
    Refused(String),
    /// The system refused.
    Failed(io::Error),
}

impl From<PathError> for Moved {
    fn from(error: PathError) -> Self {
        match error {
            PathError::Refused(why) => Moved::Refused(why),
            PathError::Io(error) => Moved::Failed(error),
        }
    }
}

impl Dataset {
    /// Opens the root directory (following a link there only: it is the caller's choice),
    /// keeping as many folder descriptors as the open-file limit allows (half of what the soft
    /// `RLIMIT_NOFILE` leaves after 256 for the rest of the process, between 8 and 4,096).
    pub fn open(root: &Path) -> io::Result<Self> {
        Self::open_with_capacity(root, folders::capacity())
    }

    /// [`Dataset::open`], keeping at most `capacity` folder descriptors (at least one): past
    /// it, the least recently used are closed and opened again when next needed.
    pub fn open_with_capacity(root: &Path, capacity: usize) -> io::Result<Self> {
        let root = Dir::open_ambient_dir(root, ambient_authority())?;
        let mount = stat_fd(&root)?.mount;
        let root = OwnedFd::from(root.into_std_file());
        Ok(Self {
            folders: Folders::new(root, mount, capacity).watched(),
            mount,
        })
    }

    /// Which directory the root is (the one opened, whatever its path names now).
    pub fn id(&self) -> io::Result<RootId> {
        let stat = stat_fd(self.folders.root())?;
        Ok(RootId {
            device: stat.mount.device,
            inode: stat.inode,
        })
    }

    /// Whether `path` names the regular file `file` (errors and refusals are a no).
    pub fn holds(&self, path: &str, file: FileId) -> bool {
        matches!(self.find(path), Ok(Found::File(stat)) if FileId::of(&stat) == file)
    }

    /// What `path` (relative, `/`-separated, already checked by the plan) names. Its folder is
    /// taken as this run opened it: a move looks again before it writes.
    pub fn find(&self, path: &str) -> Result<Found, PathError> {
        let (folder, name) = split(path)?;
        let Some(dir) = self.folders.get(folder, Reach::Look)? else {
            return Ok(Found::Missing);
        };
        match stat_at(&*dir, OsStr::new(name)) {
            Ok(stat) if stat.kind == EntryKind::File => Ok(Found::File(stat)),
            Ok(stat) if stat.kind == EntryKind::Symlink => {
                Err(PathError::Refused(format!("{path:?} is a symbolic link")))
            }
            Ok(_) => Ok(Found::NotAFile),
            Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(Found::Missing),
            Err(error) => Err(PathError::Io(error)),
        }
    }

    /// Moves `from` to `to` when `from` is still the file `expected`, creating the target's
    /// directories; never overwrites. Both folders are checked, every one on the way, to still
    /// be at their place inside the root right before the move: taken on the word of a watch
    /// on each (inotify) while no event has come, else each looked at again by `statx`
    /// relative to its parent's descriptor.
    pub fn move_file(&self, from: &str, to: &str, expected: Option<FileId>) -> Moved {
        let ((from_folder, name), (to_folder, target)) = match (split(from), split(to)) {
            (Ok(from), Ok(to)) => (from, to),
            (Err(error), _) | (_, Err(error)) => return error.into(),
        };
        let (name, target) = (OsStr::new(name), OsStr::new(target));
        let quiet = self.folders.quiet();
        let source_dir = match self.folders.get_after(from_folder, Reach::Check, quiet) {
            Ok(Some(dir)) => dir,
            Ok(None) => return Moved::Missing,
            Err(error) => return error.into(),
        };
        match stat_at(&*source_dir, name) {
            Ok(stat) if stat.kind != EntryKind::File => return Moved::Changed,
            Ok(stat) if expected.is_some_and(|id| id != FileId::of(&stat)) => {
                return Moved::Changed;
            }
            Ok(_) => {}
            Err(error) if error.kind() == io::ErrorKind::NotFound => return Moved::Missing,
            Err(error) => return Moved::Failed(error),
        }
        let target_dir = match self.folders.get_after(to_folder, Reach::Make, quiet) {
            Ok(Some(dir)) => dir,
            Ok(None) => return Moved::Failed(io::Error::from(io::ErrorKind::NotFound)),
            Err(error) => return error.into(),
        };
        match rename_noreplace(&*source_dir, name, &*target_dir, target) {
            Ok(()) => Moved::Moved,
            Err(error) if error.kind() == io::ErrorKind::AlreadyExists => Moved::TargetExists,
            // Gone since it was looked at, or a folder removed while open (a removal a watch
            // does not see): once more, every folder checked.
            Err(error) if error.kind() == io::ErrorKind::NotFound && self.folders.watching() => {
                self.folders.distrust();
                self.move_file(from, to, expected)
            }
            Err(error) if error.kind() == io::ErrorKind::NotFound => Moved::Missing,
            Err(error) => Moved::Failed(error),
        }
    }

    /// Flushes the root's filesystem (the moves' directory entries) to disk, once after the
    /// moves, before the annotation file is made to point at them.
    pub fn sync(&self) -> io::Result<()> {
        // The root's own descriptor is `O_PATH`; `syncfs` needs a readable one.
        let readable = rustix::fs::openat(
            self.folders.root(),
            c".",
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
            rustix::fs::Mode::empty(),
        )?;
        rustix::fs::syncfs(&readable).map_err(io::Error::from)
    }

    /// The dataset's structure: video files (by `is_video`), folders, and the videos already
    /// at `<category>/<label>/<file>` for a category `is_category` accepts. Links and other
    /// filesystems are counted as skipped, never entered.
    pub fn survey(
        &self,
        is_video: &dyn Fn(&str) -> bool,
        is_category: &dyn Fn(&str) -> bool,
    ) -> Structure {
        survey::survey(self.folders.root(), &self.mount, is_video, is_category)
    }
}

/// `renameat2(RENAME_NOREPLACE)`; where the filesystem cannot, a hard link then unlink of the
/// source (the link fails when the target exists, so nothing is overwritten either).
fn rename_noreplace(
    from_dir: impl AsFd,
    from: &OsStr,
    to_dir: impl AsFd,
    to: &OsStr,
) -> io::Result<()> {
    let (from_dir, to_dir) = (from_dir.as_fd(), to_dir.as_fd());
    match renameat_with(from_dir, from, to_dir, to, RenameFlags::NOREPLACE) {
        Ok(()) => Ok(()),
        Err(rustix::io::Errno::INVAL | rustix::io::Errno::NOSYS) => {
            rustix::fs::linkat(from_dir, from, to_dir, to, rustix::fs::AtFlags::empty())?;
            rustix::fs::unlinkat(from_dir, from, rustix::fs::AtFlags::empty())?;
            Ok(())
        }
        Err(error) => Err(error.into()),
    }
}

/// Writes `bytes` to `path` atomically: a temporary file beside it, fsync, rename over, fsync
/// of the directory (an output the user names, such as a report; the annotation file and the
/// journal go through [`folder::Folder`]).
pub fn write_atomically(path: &Path, bytes: &[u8]) -> io::Result<()> {
    use std::io::Write;
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut file = tempfile::NamedTempFile::new_in(dir)?;
    if let Ok(existing) = std::fs::metadata(path) {
        file.as_file().set_permissions(existing.permissions())?;
    }
    file.write_all(bytes)?;
    file.as_file().sync_all()?;
    file.persist(path).map_err(|error| error.error)?;
    if let Ok(directory) = std::fs::File::open(dir) {
        let _ = directory.sync_all();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_replaced_between_plan_and_move_stays() {
        let dir = tempfile::tempdir().expect("dir");
        std::fs::create_dir_all(dir.path().join("raw")).expect("mkdir");
        std::fs::write(dir.path().join("raw/a.mp4"), "planned").expect("write");
        let dataset = Dataset::open(dir.path()).expect("open");
        let Ok(Found::File(planned)) = dataset.find("raw/a.mp4") else {
            panic!("a file");
        };
        // Replaced by another file under the same name.
        std::fs::remove_file(dir.path().join("raw/a.mp4")).expect("rm");
        std::fs::write(dir.path().join("raw/other.mp4"), "x").expect("write");
        std::fs::write(dir.path().join("raw/a.mp4"), "replacement").expect("write");
        let moved = dataset.move_file("raw/a.mp4", "cat/label/a.mp4", Some(FileId::of(&planned)));
        assert!(matches!(moved, Moved::Changed), "{moved:?}");
        assert_eq!(
            std::fs::read_to_string(dir.path().join("raw/a.mp4")).expect("read"),
            "replacement"
        );
        // Replaced by a link: not followed, not moved.
        std::fs::remove_file(dir.path().join("raw/a.mp4")).expect("rm");
        std::os::unix::fs::symlink("/etc/hostname", dir.path().join("raw/a.mp4")).expect("link");
        let moved = dataset.move_file("raw/a.mp4", "cat/label/a.mp4", None);
        assert!(matches!(moved, Moved::Changed), "{moved:?}");
        assert!(!dir.path().join("cat/label/a.mp4").exists());
    }

    #[test]
    fn paths_that_climb_are_refused_whoever_gives_them() {
        let dir = tempfile::tempdir().expect("dir");
        std::fs::create_dir_all(dir.path().join("root/raw")).expect("mkdir");
        std::fs::write(dir.path().join("root/raw/a.mp4"), "a").expect("write");
        let dataset = Dataset::open(&dir.path().join("root")).expect("open");
        for (from, to) in [
            ("raw/a.mp4", "../out/a.mp4"),
            ("raw/../raw/a.mp4", "x/y/a.mp4"),
            ("raw/a.mp4", "/tmp/a.mp4"),
            ("raw/a.mp4", "x//a.mp4"),
            ("raw/a.mp4", "./x/a.mp4"),
        ] {
            assert!(
                matches!(dataset.move_file(from, to, None), Moved::Refused(_)),
                "{from} -> {to}"
            );
        }
        assert!(matches!(
            dataset.find("../root/raw/a.mp4"),
            Err(PathError::Refused(_))
        ));
        assert!(!dir.path().join("out").exists());
        assert!(dir.path().join("root/raw/a.mp4").is_file());
    }

    #[test]
    fn moves_never_overwrite() {
        let dir = tempfile::tempdir().expect("dir");
        std::fs::create_dir_all(dir.path().join("cat/label")).expect("mkdir");
        std::fs::write(dir.path().join("a.mp4"), "a").expect("write");
        std::fs::write(dir.path().join("cat/label/a.mp4"), "there").expect("write");
        let dataset = Dataset::open(dir.path()).expect("open");
        assert!(matches!(
            dataset.move_file("a.mp4", "cat/label/a.mp4", None),
            Moved::TargetExists
        ));
        assert_eq!(
            std::fs::read_to_string(dir.path().join("cat/label/a.mp4")).expect("read"),
            "there"
        );
        assert!(matches!(
            dataset.move_file("a.mp4", "cat/other/b.mp4", None),
            Moved::Moved
        ));
        assert!(matches!(
            dataset.move_file("a.mp4", "cat/other/c.mp4", None),
            Moved::Missing
        ));
    }
}
