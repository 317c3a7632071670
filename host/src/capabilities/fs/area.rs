//! One managed area: its root opened relative to the data directory's handle without
//! following a link (a linked, dangling or non-directory root is refused with an error that
//! says so), and the mount it lives on.

use std::ffi::OsStr;
use std::io;
use std::path::{Path, PathBuf};

use cap_std::fs::Dir;

use super::open_dir_nofollow;
use super::stat::{EntryKind, Mount, stat_at, stat_fd};
use crate::types::error::{AppError, Error};
use crate::types::text::printable;

/// One managed area: a directory handle and the mount it lives on.
pub(super) struct Area {
    pub(super) name: String,
    pub(super) path: PathBuf,
    pub(super) dir: Dir,
    pub(super) mount: Mount,
    /// The root's inode, to notice the root being moved away or replaced.
    pub(super) inode: u64,
}

pub(super) fn io_error(path: &Path, source: io::Error) -> Error {
    Error::Io {
        path: path.to_path_buf(),
        source,
    }
}

pub(super) fn data_dir_error(path: &Path, message: String) -> Error {
    Error::App(AppError::Validation {
        message,
        field: Some("BACHATA_DATA_DIR".to_string()),
        value: Some(path.display().to_string()),
        details: Vec::new(),
    })
}

/// Makes sure the data directory exists and is a directory (it may be reached through
/// symbolic links the operator set up), with a clear error for a file or a dangling link.
pub(super) fn prepare_data_dir(data_dir: &Path) -> Result<(), Error> {
    match std::fs::metadata(data_dir) {
        Ok(metadata) if metadata.is_dir() => return Ok(()),
        Ok(_) => {
            return Err(data_dir_error(
                data_dir,
                format!(
                    "the data directory {} exists and is not a directory",
                    printable(&data_dir.display().to_string())
                ),
            ));
        }
        Err(error) if error.kind() == io::ErrorKind::NotFound => {}
        Err(error) => return Err(io_error(data_dir, error)),
    }
    if std::fs::symlink_metadata(data_dir).is_ok_and(|metadata| metadata.is_symlink()) {
        return Err(data_dir_error(
            data_dir,
            format!(
                "the data directory {} is a symbolic link to something that does not exist",
                printable(&data_dir.display().to_string())
            ),
        ));
    }
    std::fs::create_dir_all(data_dir).map_err(|source| io_error(data_dir, source))
}

/// Opens area `name` of `data`: created when missing, refused when it is a symbolic link or
/// not a directory.
pub(super) fn open_area(data: &Dir, data_dir: &Path, name: &str) -> Result<Area, Error> {
    let path = data_dir.join(name);
    let shown = printable(&path.display().to_string()).into_owned();
    let refuse = |what: &str| {
        Err(data_dir_error(
            data_dir,
            format!(
                "the area root {shown} {what}; an area root must be a real directory inside \
                 the data directory (replace it by a directory, or point BACHATA_DATA_DIR \
                 elsewhere)"
            ),
        ))
    };
    match stat_at(data, OsStr::new(name)) {
        Ok(found) if found.kind == EntryKind::Symlink => {
            return refuse("is a symbolic link, which is never followed");
        }
        Ok(found) if found.kind != EntryKind::Directory => return refuse("is not a directory"),
        Ok(_) => {}
        Err(error) if error.kind() == io::ErrorKind::NotFound => match data.create_dir(name) {
            Ok(()) => {}
            Err(error) if error.kind() == io::ErrorKind::AlreadyExists => {}
            Err(error) => return Err(io_error(&path, error)),
        },
        Err(error) => return Err(io_error(&path, error)),
    }
    let dir = match open_dir_nofollow(data, OsStr::new(name)) {
        Ok(dir) => dir,
        Err(error) if error.raw_os_error() == Some(rustix::io::Errno::LOOP.raw_os_error()) => {
            return refuse("is a symbolic link, which is never followed");
        }
        Err(error) if error.raw_os_error() == Some(rustix::io::Errno::NOTDIR.raw_os_error()) => {
            return refuse("is not a directory");
        }
        Err(error) => return Err(io_error(&path, error)),
    };
    let own = stat_fd(&dir).map_err(|error| io_error(&path, error))?;
    Ok(Area {
        name: name.to_string(),
        path,
        dir,
        mount: own.mount,
        inode: own.inode,
    })
}

impl Area {
    /// Why the area's root is no longer the directory opened at start (moved away, replaced
    /// or removed), if it is not: work through the old handle would then clean something that
    /// is no longer the area.
    pub(super) fn displaced(&self, data: &Dir) -> Option<String> {
        let moved = || {
            Some(format!(
                "the root of area `{}` was moved or replaced since it was opened; restart to \
                 manage the new one",
                self.name
            ))
        };
        match stat_at(data, OsStr::new(&self.name)) {
            Ok(now)
                if now.kind == EntryKind::Directory
                    && now.inode == self.inode
                    && now.mount.device == self.mount.device =>
            {
                None
            }
            Ok(_) => moved(),
            Err(error) if error.kind() == io::ErrorKind::NotFound => moved(),
            Err(error) => Some(format!(
                "cannot check the root of area `{}`: {error}",
                self.name
            )),
        }
    }
}
