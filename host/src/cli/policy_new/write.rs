//! Creates a project's directory and files: nothing that exists is overwritten, no link is
//! followed (the directory is created here, everything inside it is created relative to it).
//!
//! The project is written into a staging directory beside NAME and renamed to NAME only once
//! complete (without replacing anything there): a failure (a full disk, a kill) never leaves
//! a half project at NAME, and what a failed run wrote is removed.

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

/// Writes the project `files` at `path` (nothing may be there): into a new staging directory
/// beside it, renamed to `path` once every file is written.
pub fn create(path: &Path, files: &[File]) -> Result<(), NewError> {
    match std::fs::symlink_metadata(path) {
        Ok(_) => return Err(NewError::Exists(path.to_path_buf())),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
        Err(error) => return Err(io_error(path, error)),
    }
    let staging = staging_path(path);
    match rustix::fs::mkdir(&staging, Mode::from_raw_mode(0o755)) {
        Ok(()) => {}
        Err(error) => return Err(io_error(&staging, error)),
    }
    let written = rustix::fs::open(&staging, directory_flags(), Mode::empty())
        .map_err(|error| io_error(&staging, error))
        .and_then(|root| write_files(&root, path, files))
        .and_then(|()| {
            rustix::fs::renameat_with(
                rustix::fs::CWD,
                &staging,
                rustix::fs::CWD,
                path,
                rustix::fs::RenameFlags::NOREPLACE,
            )
            .map_err(|error| match error {
                rustix::io::Errno::EXIST => NewError::Exists(path.to_path_buf()),
                error => io_error(path, error),
            })
        });
    if written.is_err() {
        // Only what this run made: the staging directory (its entries are ours, no link in
        // it is followed).
        let _ = std::fs::remove_dir_all(&staging);
    }
    written
}

/// `.NAME.policy-new-<pid>` beside `path`.
fn staging_path(path: &Path) -> std::path::PathBuf {
    let name = path
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default();
    let staging = format!(".{name}.policy-new-{}", std::process::id());
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.join(staging),
        _ => std::path::PathBuf::from(staging),
    }
}

fn directory_flags() -> OFlags {
    OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC
}

/// Writes `files` below the directory `root` (to be `path`), creating each file and directory
/// (one level deep: `wit/`, `src/`) anew and following no link.
fn write_files(root: &OwnedFd, path: &Path, files: &[File]) -> Result<(), NewError> {
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
