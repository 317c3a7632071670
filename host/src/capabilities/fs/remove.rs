//! Removal batches: each path checked to be a plain relative path, its parent chain opened
//! without following links (reused between consecutive paths, see [`super::parents`]), files
//! locked and unlinked while the lock is held, large batches spread over a few threads.

use std::borrow::Cow;
use std::ffi::OsStr;
use std::io;

use cap_fs_ext::{DirExt, FollowSymlinks, OpenOptionsFollowExt};
use cap_std::fs::{Dir, OpenOptions};

use super::area::Area;
use super::locks::lock_directory;
use super::parents::{ParentCache, open_parent};
use super::stat::{EntryKind, Stat, stat_at, stat_fd};
use super::{CallContext, Removal, RemovalStatus, names, open_dir_nofollow};

/// Splits a policy-supplied path into its parent components and final name, refusing
/// anything but plain relative components.
pub(super) fn split_relative(path: &str) -> Result<(Vec<&str>, &str), String> {
    if path.is_empty() {
        return Err("empty path (the area root is never removed)".to_string());
    }
    if path.contains('\0') {
        return Err("path contains a NUL byte".to_string());
    }
    if path.starts_with('/') {
        return Err("absolute paths are refused".to_string());
    }
    let mut parts = Vec::new();
    for part in path.split('/') {
        match part {
            "" => return Err("empty path segment (`//` or a trailing `/`)".to_string()),
            "." => return Err("`.` is refused".to_string()),
            ".." => return Err("`..` is refused".to_string()),
            part => parts.push(part),
        }
    }
    let name = parts
        .pop()
        .ok_or_else(|| "empty path (the area root is never removed)".to_string())?;
    Ok((parts, name))
}

/// Batches smaller than this are removed on the calling thread.
const PARALLEL_MIN_BATCH: usize = 512;
/// Most threads a removal batch uses.
const MAX_REMOVAL_THREADS: usize = 4;

/// Removes paths in order with one parent cache, stopping when cancelled.
fn remove_in_order<'p>(
    area: &Area,
    paths: impl Iterator<Item = &'p String>,
    context: &CallContext,
) -> Vec<Removal> {
    let mut parents = ParentCache::default();
    paths
        .map(|path| {
            if context.cancelled() {
                Removal::new(
                    path,
                    RemovalStatus::Cancelled,
                    0,
                    Some("the cleanup was cancelled".to_string()),
                )
            } else {
                remove_one(area, &mut parents, path, context)
            }
        })
        .collect()
}

/// Removes a batch in order, spreading it over a few threads when it is large.
///
/// Paths are grouped by their first component: two paths with different first components
/// cannot be ancestor and descendant, so groups are independent, while the order within a
/// group (children before parents, as the policy sends them) is kept.
pub(super) fn remove_batch(area: &Area, paths: &[String], context: &CallContext) -> Vec<Removal> {
    let threads = std::thread::available_parallelism()
        .map_or(1, usize::from)
        .min(MAX_REMOVAL_THREADS);
    if paths.len() < PARALLEL_MIN_BATCH || threads < 2 {
        return remove_in_order(area, paths.iter(), context);
    }
    let mut groups: std::collections::HashMap<&str, Vec<usize>> = std::collections::HashMap::new();
    for (index, path) in paths.iter().enumerate() {
        let first = path.split('/').next().unwrap_or_default();
        groups.entry(first).or_default().push(index);
    }
    // Largest groups first, each to the least-loaded worker.
    let mut groups: Vec<Vec<usize>> = groups.into_values().collect();
    groups.sort_by_key(|group| std::cmp::Reverse(group.len()));
    let mut work: Vec<Vec<usize>> = vec![Vec::new(); threads];
    for group in groups {
        if let Some(lightest) = work.iter_mut().min_by_key(|indices| indices.len()) {
            lightest.extend(group);
        }
    }
    let mut results: Vec<Option<Removal>> = vec![None; paths.len()];
    std::thread::scope(|scope| {
        let handles: Vec<_> = work
            .into_iter()
            .filter(|indices| !indices.is_empty())
            .map(|mut indices| {
                // Back in batch order, so each group keeps its order and parents are reused.
                indices.sort_unstable();
                scope.spawn(move || {
                    let done = remove_in_order(area, indices.iter().map(|&i| &paths[i]), context);
                    indices.into_iter().zip(done).collect::<Vec<_>>()
                })
            })
            .collect();
        for handle in handles {
            match handle.join() {
                Ok(done) => {
                    for (index, removal) in done {
                        results[index] = Some(removal);
                    }
                }
                Err(_) => tracing::error!("a removal worker panicked"),
            }
        }
    });
    results
        .into_iter()
        .zip(paths)
        .map(|(removal, path)| {
            removal.unwrap_or_else(|| {
                Removal::new(
                    path,
                    RemovalStatus::Failed,
                    0,
                    Some("removal worker failed".to_string()),
                )
            })
        })
        .collect()
}

/// The refusal for an entry on another mount (a mount point inside an area).
fn other_mount(path: &str) -> Removal {
    Removal::new(
        path,
        RemovalStatus::Refused,
        0,
        Some("a mount point of another filesystem or a bind mount".to_string()),
    )
}

fn os_failure(path: &str, error: &io::Error) -> Removal {
    if error.kind() == io::ErrorKind::NotFound {
        return Removal::new(path, RemovalStatus::Vanished, 0, None);
    }
    Removal::new(path, RemovalStatus::Failed, 0, Some(error.to_string()))
}

fn remove_one(
    area: &Area,
    parents: &mut ParentCache,
    path: &str,
    context: &CallContext,
) -> Removal {
    let (chain, name) = match split_relative(path) {
        Ok(split) => split,
        Err(reason) => return Removal::new(path, RemovalStatus::OutOfBounds, 0, Some(reason)),
    };
    let name: Cow<'_, OsStr> = match names::decode(name) {
        Ok(name) => name,
        Err(reason) => return Removal::new(path, RemovalStatus::OutOfBounds, 0, Some(reason)),
    };
    let dir = match open_parent(area, parents, &chain, context) {
        Ok(dir) => dir,
        Err((status, reason)) => {
            let reason = (status != RemovalStatus::Vanished).then_some(reason);
            return Removal::new(path, status, 0, reason);
        }
    };
    // Look first (without following a link): only regular files are ever opened, so a FIFO
    // or device node is unlinked without being opened for I/O.
    let found: Stat = match stat_at(dir, &name) {
        Ok(found) => found,
        Err(error) => return os_failure(path, &error),
    };
    if !area.mount.holds(&found.mount) {
        return other_mount(path);
    }
    // A directory's own times change as its entries go; only an emptied one is removed.
    if found.kind != EntryKind::Directory && changed_during_call(&found, context) {
        return Removal::new(
            path,
            RemovalStatus::Refused,
            0,
            Some("changed since the cleanup began (kept for the next one)".to_string()),
        );
    }
    match found.kind {
        EntryKind::Directory => remove_directory(dir, path, &name, context.dry_run),
        EntryKind::File => match open_file(dir, &name) {
            Ok(file) => remove_open_file(area, dir, path, &name, file, &found, context.dry_run),
            Err(error) if error.kind() == io::ErrorKind::PermissionDenied => Removal::new(
                path,
                RemovalStatus::Failed,
                0,
                Some("permission denied: cannot check whether the file is in use".to_string()),
            ),
            Err(error) => os_failure(path, &error),
        },
        // The link itself (or a socket/FIFO/device entry) goes; nothing it points at is
        // touched.
        EntryKind::Symlink | EntryKind::Other if context.dry_run => {
            Removal::new(path, RemovalStatus::Removed, found.size, None)
        }
        EntryKind::Symlink | EntryKind::Other => match dir.remove_file_or_symlink(&*name) {
            Ok(()) => Removal::new(path, RemovalStatus::Removed, found.size, None),
            Err(error) => os_failure(path, &error),
        },
    }
}

/// Whether the entry's status changed after the call began (written, renamed into place,
/// re-linked): it is not what the policy was shown, so it is left for the next cleanup.
fn changed_during_call(found: &Stat, context: &CallContext) -> bool {
    context
        .since_nanos
        .is_some_and(|since| found.ctime_nanos() >= since)
}

/// Opens `name` for reading without following a link and without blocking on a FIFO.
fn open_file(dir: &Dir, name: &OsStr) -> io::Result<std::fs::File> {
    use cap_std::fs::OpenOptionsExt as _;
    let mut options = OpenOptions::new();
    options
        .read(true)
        .follow(FollowSymlinks::No)
        .custom_flags((rustix::fs::OFlags::NONBLOCK | rustix::fs::OFlags::NOCTTY).bits() as i32);
    dir.open_with(name, &options)
        .map(cap_std::fs::File::into_std)
}

fn remove_directory(dir: &Dir, path: &str, name: &OsStr, dry_run: bool) -> Removal {
    // A directory held under `flock` (a live temp directory) is in use; otherwise our own
    // lock is held until it is gone, so no one takes it in between.
    let handle = match open_dir_nofollow(dir, name) {
        Ok(handle) => handle,
        Err(error) => return os_failure(path, &error),
    };
    let held = match lock_directory(&handle) {
        Ok(Some(held)) => held,
        Ok(None) => return Removal::new(path, RemovalStatus::InUse, 0, None),
        Err(error) => return os_failure(path, &error),
    };
    if dry_run {
        // Taken to be emptied by the removals planned before it.
        return Removal::new(path, RemovalStatus::Removed, 0, None);
    }
    let outcome = dir.remove_dir(name);
    drop(held);
    match outcome {
        Ok(()) => Removal::new(path, RemovalStatus::Removed, 0, None),
        Err(error) if error.raw_os_error() == Some(rustix::io::Errno::NOTEMPTY.raw_os_error()) => {
            Removal::new(path, RemovalStatus::NotEmpty, 0, None)
        }
        Err(error) => os_failure(path, &error),
    }
}

/// Removes an opened regular file: it must be the entry looked at (same inode), it is locked
/// (non-blocking `flock`) and unlinked while the lock is held, after checking once more that
/// the name still names it.
fn remove_open_file(
    area: &Area,
    dir: &Dir,
    path: &str,
    name: &OsStr,
    file: std::fs::File,
    looked_at: &Stat,
    dry_run: bool,
) -> Removal {
    let opened = match stat_fd(&file) {
        Ok(opened) => opened,
        Err(error) => return os_failure(path, &error),
    };
    let replaced = || {
        Removal::new(
            path,
            RemovalStatus::Refused,
            0,
            Some("replaced while being removed (kept)".to_string()),
        )
    };
    if !area.mount.holds(&opened.mount)
        || opened.inode != looked_at.inode
        || opened.kind != EntryKind::File
    {
        return replaced();
    }
    match file.try_lock() {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) => {
            return Removal::new(path, RemovalStatus::InUse, 0, None);
        }
        Err(std::fs::TryLockError::Error(error)) => return os_failure(path, &error),
    }
    // Unlinked while our lock is held, so no one can take it in between; the name must still
    // be this file.
    match stat_at(dir, name) {
        Ok(now) if now.inode == opened.inode && now.mount == opened.mount => {}
        Ok(_) => return replaced(),
        Err(error) => return os_failure(path, &error),
    }
    if dry_run {
        return Removal::new(path, RemovalStatus::Removed, opened.size, None);
    }
    let result = dir.remove_file(name);
    drop(file);
    match result {
        Ok(()) => Removal::new(path, RemovalStatus::Removed, opened.size, None),
        Err(error) => os_failure(path, &error),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capabilities::fs::{Areas, parse_proc_locks};
    use std::sync::Arc;
    use std::sync::atomic::AtomicBool;

    #[test]
    fn relative_paths_only() {
        assert_eq!(split_relative("a/b/c.tmp"), Ok((vec!["a", "b"], "c.tmp")));
        assert_eq!(split_relative("x"), Ok((vec![], "x")));
        for bad in [
            "",
            "/etc/passwd",
            "../outside",
            "a/../../b",
            "./a",
            "a/./b",
            "a\0b",
        ] {
            assert!(split_relative(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn a_cancelled_batch_removes_nothing_more() {
        let dir = tempfile::tempdir().expect("tempdir");
        let areas = Areas::open(&dir.path().join("data"), &["temp".to_string()]).expect("areas");
        let paths: Vec<String> = (0..600).map(|index| format!("f{index}")).collect();
        for path in &paths {
            std::fs::write(dir.path().join("data/temp").join(path), b"x").expect("write");
        }
        let context = CallContext::starting_now(Some(Arc::new(AtomicBool::new(true))));
        let outcomes = areas.remove_with("temp", &paths, &context);
        assert!(
            outcomes
                .iter()
                .all(|removal| removal.status == RemovalStatus::Cancelled)
        );
        assert_eq!(
            std::fs::read_dir(dir.path().join("data/temp"))
                .expect("list")
                .count(),
            600
        );
    }

    #[test]
    fn proc_locks_parsing() {
        let text = "1: FLOCK  ADVISORY  WRITE 4242 08:01:1234567 0 EOF\n\
                    1: -> FLOCK  ADVISORY  WRITE 4243 08:01:1234567 0 EOF\n\
                    2: POSIX  ADVISORY  READ 99 fd:00:77 0 EOF\n\
                    garbage\n";
        let locks = parse_proc_locks(text);
        assert!(locks.contains(&(8, 1, 1_234_567)));
        assert!(locks.contains(&(0xfd, 0, 77)));
        assert_eq!(locks.len(), 2);
    }
}
