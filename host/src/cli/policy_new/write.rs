//! Creates a project's directory and files: nothing that exists is overwritten, no link is
//! followed (the directory is created here, everything inside it is created relative to it).

use std::io::Write as _;
use std::os::fd::{AsFd, OwnedFd};
use std::path::Path;

use rustix::fs::{Mode, OFlags};

use super::NewError;
use super::project::File;

fn io_error(path: &Path, source: impl Into<std::io::Error>) -> NewError {
    NewError::Io {
        path: path.to_path_buf(),
        source: source.into(),
    }
}

/// Creates the directory `path` (nothing may be there) and opens it without following a link.
pub fn create_root(path: &Path) -> Result<OwnedFd, NewError> {
    match std::fs::symlink_metadata(path) {
        Ok(_) => return Err(NewError::Exists(path.to_path_buf())),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
        Err(error) => return Err(io_error(path, error)),
    }
    match rustix::fs::mkdir(path, Mode::from_raw_mode(0o755)) {
        Ok(()) => {}
        Err(rustix::io::Errno::EXIST) => return Err(NewError::Exists(path.to_path_buf())),
        Err(error) => return Err(io_error(path, error)),
    }
    rustix::fs::open(path, directory_flags(), Mode::empty()).map_err(|error| io_error(path, error))
}

fn directory_flags() -> OFlags {
    OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC
}

/// Writes `files` below the directory `root` (at `path`), creating each file and directory
/// (one level deep: `wit/`, `src/`) anew and following no link.
pub fn write_files(root: &OwnedFd, path: &Path, files: &[File]) -> Result<(), NewError> {
    let mut directories: Vec<(String, OwnedFd)> = Vec::new();
    for file in files {
        let (parent, name) = match file.path.rsplit_once('/') {
            Some((parent, name)) => (Some(parent), name),
            None => (None, file.path.as_str()),
        };
        let dir = match parent {
            None => root.as_fd(),
            Some(parent) => {
                if !directories.iter().any(|(known, _)| known == parent) {
                    let at = path.join(parent);
                    rustix::fs::mkdirat(root, parent, Mode::from_raw_mode(0o755))
                        .map_err(|error| io_error(&at, error))?;
                    let fd = rustix::fs::openat(root, parent, directory_flags(), Mode::empty())
                        .map_err(|error| io_error(&at, error))?;
                    directories.push((parent.to_string(), fd));
                }
                directories
                    .iter()
                    .find(|(known, _)| known == parent)
                    .map(|(_, fd)| fd.as_fd())
                    .unwrap_or(root.as_fd())
            }
        };
        let at = path.join(&file.path);
        let mode = if file.executable { 0o755 } else { 0o644 };
        let flags = OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW;
        let fd = rustix::fs::openat(
            dir,
            name,
            flags | OFlags::CLOEXEC,
            Mode::from_raw_mode(mode),
        )
        .map_err(|error| io_error(&at, error))?;
        std::fs::File::from(fd)
            .write_all(file.text.as_bytes())
            .map_err(|error| io_error(&at, error))?;
    }
    Ok(())
}
