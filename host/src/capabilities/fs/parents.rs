//! The parent chains of removal paths: opened component by component without following a
//! link, leaving the area's mount or entering a locked directory, and reused between
//! consecutive paths with a bounded number of directories open.

use std::ffi::OsStr;
use std::io;

use cap_std::fs::Dir;

use super::area::Area;
use super::locks::directory_locked;
use super::stat::{EntryKind, stat_at, stat_fd};
use super::{CallContext, RemovalStatus, names, open_dir_nofollow};

/// Most directories of a parent chain kept open between removals.
pub const MAX_OPEN_PARENTS: usize = 64;

/// The chain of directories opened for the last path, reused for the next one as far as the
/// two share parents: removing a deep tree children first opens each directory about once.
/// Only the innermost [`MAX_OPEN_PARENTS`] stay open; a path that needs one closed since is
/// opened again from the innermost open one above it, with every check.
#[derive(Default)]
pub(super) struct ParentCache {
    chain: Vec<(String, Option<Dir>)>,
    open: usize,
}

impl ParentCache {
    /// Keeps the first `len` components.
    fn truncate(&mut self, len: usize) {
        for (_, dir) in self.chain.drain(len.min(self.chain.len())..) {
            if dir.is_some() {
                self.open -= 1;
            }
        }
    }

    /// Adds an opened component, closing the outermost open one when too many are.
    fn push(&mut self, part: &str, dir: Dir) {
        if self.open >= MAX_OPEN_PARENTS
            && let Some((_, outermost)) = self.chain.iter_mut().find(|(_, dir)| dir.is_some())
        {
            *outermost = None;
            self.open -= 1;
        }
        self.chain.push((part.to_string(), Some(dir)));
        self.open += 1;
    }

    /// The innermost directory, when the chain is not empty (then it is open).
    fn innermost(&self) -> Option<&Dir> {
        self.chain.last().and_then(|(_, dir)| dir.as_ref())
    }
}

/// Why a component of a path could not be opened as a directory: the entry changed since
/// the work began (a race with another process: skipped and reported), or the policy named
/// a path through a link that was there all along (out of bounds).
fn not_a_directory(
    base: &Dir,
    part: &str,
    name: &OsStr,
    context: &CallContext,
) -> (RemovalStatus, String) {
    match stat_at(base, name) {
        Ok(found) if found.kind == EntryKind::Symlink => {
            let changed = context
                .since_nanos
                .is_some_and(|since| found.ctime_nanos() >= since);
            if changed {
                (
                    RemovalStatus::Refused,
                    format!(
                        "`{part}` became a symbolic link during the cleanup; it is never \
                         followed, so this path was skipped"
                    ),
                )
            } else {
                (
                    RemovalStatus::OutOfBounds,
                    format!("`{part}` is a symbolic link, which is never followed"),
                )
            }
        }
        Ok(_) => (
            RemovalStatus::Refused,
            format!("`{part}` is not a directory (it changed since the scan)"),
        ),
        Err(error) if error.kind() == io::ErrorKind::NotFound => (
            RemovalStatus::Vanished,
            "parent directory is gone".to_string(),
        ),
        Err(error) => (RemovalStatus::Failed, error.to_string()),
    }
}

/// Opens the parent chain of a path without following links, leaving the area's mount or
/// entering a directory someone holds a lock on.
pub(super) fn open_parent<'a>(
    area: &'a Area,
    cache: &'a mut ParentCache,
    parents: &[&str],
    context: &CallContext,
) -> Result<&'a Dir, (RemovalStatus, String)> {
    let common = cache
        .chain
        .iter()
        .zip(parents)
        .take_while(|((cached, _), wanted)| cached == *wanted)
        .count();
    cache.truncate(common);
    // Reused up to the innermost directory still open (the closed ones are all above it).
    let open = cache
        .chain
        .iter()
        .rposition(|(_, dir)| dir.is_some())
        .map_or(0, |index| index + 1);
    cache.truncate(open);
    for part in &parents[cache.chain.len()..] {
        let name = names::decode(part).map_err(|reason| (RemovalStatus::OutOfBounds, reason))?;
        let base = cache.innermost().unwrap_or(&area.dir);
        let next = match open_dir_nofollow(base, &name) {
            Ok(next) => next,
            Err(error) if error.kind() == io::ErrorKind::NotFound => {
                return Err((
                    RemovalStatus::Vanished,
                    "parent directory is gone".to_string(),
                ));
            }
            Err(error)
                if [rustix::io::Errno::LOOP, rustix::io::Errno::NOTDIR]
                    .iter()
                    .any(|errno| error.raw_os_error() == Some(errno.raw_os_error())) =>
            {
                return Err(not_a_directory(base, part, &name, context));
            }
            Err(error) => {
                return Err((
                    RemovalStatus::Failed,
                    format!("cannot open `{part}`: {error}"),
                ));
            }
        };
        let found = stat_fd(&next).map_err(|error| (RemovalStatus::Failed, error.to_string()))?;
        if !area.mount.holds(&found.mount) {
            return Err((
                RemovalStatus::Refused,
                format!("`{part}` is a mount point of another filesystem or a bind mount"),
            ));
        }
        if directory_locked(&next) {
            return Err((
                RemovalStatus::InUse,
                format!("directory `{part}` is locked by a process"),
            ));
        }
        cache.push(part, next);
    }
    Ok(cache.innermost().unwrap_or(&area.dir))
}
