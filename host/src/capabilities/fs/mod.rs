//! The `host-fs` capability: named managed areas under the data directory, scanned and
//! cleaned through cap-std directory handles.
//!
//! Whatever the policy asks, this module refuses absolute paths, `..` and `.`, never follows a
//! symbolic link (an area root is opened with `O_NOFOLLOW` relative to the data directory's
//! handle, and every directory below it relative to its parent's handle, so nothing is
//! re-resolved from a path), never crosses into another mount (mount ids, so a bind mount of
//! the same filesystem is seen), never touches anything inside a directory someone holds an
//! `flock` on, and never unlinks a file someone holds a lock on: the file is opened without
//! following links, checked to be the file that was looked at, locked with a non-blocking
//! `flock`, and unlinked while the lock is held (the systemd-tmpfiles convention).
//!
//! Names that are not UTF-8 (or contain a backslash) reach the policy in the reversible
//! form of [`names`], so every entry can be cleaned.

pub mod names;
pub mod stat;

use std::borrow::Cow;
use std::collections::HashSet;
use std::ffi::OsStr;
use std::io;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::SystemTime;

use cap_fs_ext::{DirExt, FollowSymlinks, OpenOptionsFollowExt};
use cap_std::fs::{Dir, OpenOptions};

use crate::error::{AppError, Error};
pub use stat::EntryKind;
use stat::{Mount, Stat, stat_at, stat_fd};

/// One entry found by a scan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Path relative to the area root, `/`-separated.
    pub path: String,
    /// What it is.
    pub kind: EntryKind,
    /// Size in bytes (0 for directories).
    pub size: u64,
    /// Modification time, seconds since the epoch.
    pub mtime: u64,
    /// Access time, seconds since the epoch.
    pub atime: u64,
    /// Status-change time, seconds since the epoch.
    pub ctime: u64,
    /// Device id.
    pub device: u64,
    /// Inode number.
    pub inode: u64,
    /// Whether a process holds a lock on it.
    pub locked: bool,
}

/// Something a scan could not read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScanProblem {
    /// Path relative to the area root.
    pub path: String,
    /// Why.
    pub reason: String,
}

/// The result of scanning an area.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scan {
    /// Entries, parents before children.
    pub entries: Vec<Entry>,
    /// What could not be read.
    pub problems: Vec<ScanProblem>,
}

/// What happened to one path of a removal batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RemovalStatus {
    /// Removed.
    Removed,
    /// Already gone.
    Vanished,
    /// Locked by a process; kept.
    InUse,
    /// Refused by the host's rules (for example a directory that is not empty).
    Refused,
    /// Refused because the path does not name an entry inside the area: absolute, with `..`,
    /// `.` or empty segments, through a symbolic link, or in an area that does not exist.
    /// A policy that only removes what a scan listed never gets this answer.
    OutOfBounds,
    /// The operating system refused.
    Failed,
    /// Not attempted: the cleanup was cancelled (the daemon is shutting down).
    Cancelled,
}

/// The outcome for one path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Removal {
    /// The path as given.
    pub path: String,
    /// What happened.
    pub status: RemovalStatus,
    /// Bytes freed.
    pub bytes: u64,
    /// Why, when not removed.
    pub reason: Option<String>,
}

impl Removal {
    fn new(path: &str, status: RemovalStatus, bytes: u64, reason: Option<String>) -> Self {
        Self {
            path: path.to_string(),
            status,
            bytes,
            reason,
        }
    }
}

/// Usage of one area.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct AreaUsage {
    /// Area name.
    pub name: String,
    /// Whether its directory exists.
    pub exists: bool,
    /// Bytes in its files.
    pub size: u64,
    /// Number of files.
    pub file_count: u64,
}

/// What a caller lends a scan or a removal batch beyond the paths: a switch that stops it,
/// and the moment the work began (a symbolic link on a path that appeared after it is a race
/// with someone else, not a request to follow a link).
#[derive(Debug, Clone, Default)]
pub struct CallContext {
    /// When set, the work stops at the next entry.
    pub cancel: Option<Arc<AtomicBool>>,
    /// When the caller's work began, nanoseconds since the epoch.
    pub since_nanos: Option<i128>,
}

impl CallContext {
    /// A context that records now as the start.
    pub fn starting_now(cancel: Option<Arc<AtomicBool>>) -> Self {
        let since_nanos = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .ok()
            .map(|elapsed| elapsed.as_nanos() as i128);
        Self {
            cancel,
            since_nanos,
        }
    }

    /// Whether the work was asked to stop.
    pub fn cancelled(&self) -> bool {
        self.cancel
            .as_ref()
            .is_some_and(|flag| flag.load(Ordering::Relaxed))
    }
}

/// Why a scan gave no result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScanFailure {
    /// No area of that name.
    UnknownArea(String),
    /// The scan was cancelled.
    Cancelled,
}

/// One managed area: a directory handle and the mount it lives on.
struct Area {
    name: String,
    path: PathBuf,
    dir: Dir,
    mount: Mount,
}

/// The managed areas under a data directory.
pub struct Areas {
    root: PathBuf,
    areas: Vec<Area>,
}

impl std::fmt::Debug for Areas {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Areas")
            .field("root", &self.root)
            .field("areas", &self.names())
            .finish()
    }
}

fn io_error(path: &Path, source: io::Error) -> Error {
    Error::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn data_dir_error(path: &Path, message: String) -> Error {
    Error::App(AppError::Validation {
        message,
        field: Some("BACHATA_DATA_DIR".to_string()),
        value: Some(path.display().to_string()),
        details: Vec::new(),
    })
}

/// Makes sure the data directory exists and is a directory (it may be reached through
/// symbolic links the operator set up), with a clear error for a file or a dangling link.
fn prepare_data_dir(data_dir: &Path) -> Result<(), Error> {
    match std::fs::metadata(data_dir) {
        Ok(metadata) if metadata.is_dir() => return Ok(()),
        Ok(_) => {
            return Err(data_dir_error(
                data_dir,
                format!(
                    "the data directory {} exists and is not a directory",
                    crate::text::printable(&data_dir.display().to_string())
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
                crate::text::printable(&data_dir.display().to_string())
            ),
        ));
    }
    std::fs::create_dir_all(data_dir).map_err(|source| io_error(data_dir, source))
}

/// Opens area `name` of `data`: created when missing, refused when it is a symbolic link or
/// not a directory.
fn open_area(data: &Dir, data_dir: &Path, name: &str) -> Result<Area, Error> {
    let path = data_dir.join(name);
    let shown = crate::text::printable(&path.display().to_string()).into_owned();
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
    let mount = stat_fd(&dir).map_err(|error| io_error(&path, error))?.mount;
    Ok(Area {
        name: name.to_string(),
        path,
        dir,
        mount,
    })
}

impl Areas {
    /// Opens (creating when missing) `data_dir/<name>` for every name. An area root that is
    /// a symbolic link or not a directory is refused with an error saying so.
    pub fn open(data_dir: &Path, names: &[String]) -> Result<Self, Error> {
        stat::raise_open_file_limit();
        prepare_data_dir(data_dir)?;
        let data_dir =
            &std::fs::canonicalize(data_dir).map_err(|source| io_error(data_dir, source))?;
        let data = Dir::open_ambient_dir(data_dir, cap_std::ambient_authority())
            .map_err(|source| io_error(data_dir, source))?;
        let mut areas = Vec::with_capacity(names.len());
        for name in names {
            if !valid_area_name(name) {
                return Err(Error::App(AppError::Validation {
                    message: format!("invalid area name {name:?}"),
                    field: Some("BACHATA_AREAS".to_string()),
                    value: Some(name.clone()),
                    details: Vec::new(),
                }));
            }
            areas.push(open_area(&data, data_dir, name)?);
        }
        Ok(Self {
            root: data_dir.to_path_buf(),
            areas,
        })
    }

    /// No areas at all: every request is refused as naming an unknown area.
    pub fn none() -> Self {
        Self {
            root: PathBuf::new(),
            areas: Vec::new(),
        }
    }

    /// The data directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The area names.
    pub fn names(&self) -> Vec<String> {
        self.areas.iter().map(|area| area.name.clone()).collect()
    }

    /// The directory of area `name`.
    pub fn path(&self, name: &str) -> Option<&Path> {
        self.area(name).map(|area| area.path.as_path())
    }

    /// A handle on the directory of area `name`.
    pub fn dir(&self, name: &str) -> Option<&Dir> {
        self.area(name).map(|area| &area.dir)
    }

    fn area(&self, name: &str) -> Option<&Area> {
        self.areas.iter().find(|area| area.name == name)
    }

    /// Scans area `name` recursively. `Err` only when the area is unknown.
    pub fn scan(&self, name: &str) -> Result<Scan, String> {
        self.scan_with(name, &CallContext::default())
            .map_err(|_| format!("unknown area `{name}`"))
    }

    /// Scans area `name` recursively, stopping when `context` is cancelled.
    pub fn scan_with(&self, name: &str, context: &CallContext) -> Result<Scan, ScanFailure> {
        let area = self
            .area(name)
            .ok_or_else(|| ScanFailure::UnknownArea(name.to_string()))?;
        let scan = scan_area(area, &locked_files(), context);
        if context.cancelled() {
            return Err(ScanFailure::Cancelled);
        }
        Ok(scan)
    }

    /// Scans the directory `relative` (a plain relative path) of area `name` recursively;
    /// `Ok(None)` when it does not exist. Entry paths are relative to the area root.
    pub fn scan_under(&self, name: &str, relative: &str) -> Result<Option<Scan>, String> {
        let area = self
            .area(name)
            .ok_or_else(|| format!("unknown area `{name}`"))?;
        let (mut chain, last) = split_relative(relative)?;
        chain.push(last);
        let mut dir = area.dir.try_clone().map_err(|error| error.to_string())?;
        for part in chain {
            let part = names::decode(part)?;
            dir = match open_dir_nofollow(&dir, &part) {
                Ok(next) => next,
                Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(None),
                Err(error) => return Err(format!("cannot open `{relative}`: {error}")),
            };
        }
        let mount = stat_fd(&dir).map_err(|error| error.to_string())?.mount;
        if !area.mount.holds(&mount) {
            return Err(format!("`{relative}` is on another mount"));
        }
        let mut scan = Scan::default();
        let mut stack = Vec::new();
        let locks = locked_files();
        let context = CallContext::default();
        let walk = Walk {
            area,
            locks: &locks,
            context: &context,
        };
        walk.read_directory(&Rc::new(dir), relative, &mut scan, &mut stack);
        walk.drain(&mut scan, stack);
        Ok(Some(scan))
    }

    /// Removes `paths` from area `name` in order.
    pub fn remove(&self, name: &str, paths: &[String]) -> Vec<Removal> {
        self.remove_with(name, paths, &CallContext::default())
    }

    /// Removes `paths` from area `name` in order; once `context` is cancelled, the paths not
    /// yet attempted are answered [`RemovalStatus::Cancelled`].
    pub fn remove_with(&self, name: &str, paths: &[String], context: &CallContext) -> Vec<Removal> {
        let Some(area) = self.area(name) else {
            return paths
                .iter()
                .map(|path| {
                    Removal::new(
                        path,
                        RemovalStatus::OutOfBounds,
                        0,
                        Some(format!("unknown area `{name}`")),
                    )
                })
                .collect();
        };
        remove_batch(area, paths, context)
    }

    /// Size and file count of every area.
    pub fn usage(&self) -> Vec<AreaUsage> {
        let locks = HashSet::new();
        let context = CallContext::default();
        self.areas
            .iter()
            .map(|area| {
                let exists = std::fs::symlink_metadata(&area.path).is_ok_and(|m| m.is_dir());
                let scan = scan_area(area, &locks, &context);
                let files = scan.entries.iter().filter(|e| e.kind == EntryKind::File);
                AreaUsage {
                    name: area.name.clone(),
                    exists,
                    size: files.clone().map(|e| e.size).sum(),
                    file_count: files.count() as u64,
                }
            })
            .collect()
    }
}

/// Whether `name` can name an area: 1 to 64 of `a-z`, `0-9`, `_`, `-` (the policy's rule too).
fn valid_area_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
}

fn seconds(time: i64) -> u64 {
    u64::try_from(time).unwrap_or(0)
}

/// `(major, minor, inode)` of every file or directory some process holds a lock on, from
/// `/proc/locks`.
pub fn locked_files() -> HashSet<(u64, u64, u64)> {
    std::fs::read_to_string("/proc/locks")
        .map(|text| parse_proc_locks(&text))
        .unwrap_or_default()
}

/// Parses `/proc/locks`: `1: FLOCK ADVISORY WRITE 123 08:01:456 0 EOF` (device numbers hex).
pub fn parse_proc_locks(text: &str) -> HashSet<(u64, u64, u64)> {
    text.lines()
        .filter_map(|line| {
            let id = line
                .split_whitespace()
                .filter(|field| *field != "->")
                .nth(5)?;
            let mut parts = id.split(':');
            let major = u64::from_str_radix(parts.next()?, 16).ok()?;
            let minor = u64::from_str_radix(parts.next()?, 16).ok()?;
            let inode = parts.next()?.parse().ok()?;
            Some((major, minor, inode))
        })
        .collect()
}

fn lock_key(device: u64, inode: u64) -> (u64, u64, u64) {
    (
        u64::from(rustix::fs::major(device)),
        u64::from(rustix::fs::minor(device)),
        inode,
    )
}

fn join(prefix: &str, name: &str) -> String {
    if prefix.is_empty() {
        name.to_string()
    } else {
        format!("{prefix}/{name}")
    }
}

/// A directory waiting to be opened: its parent handle, its name and its relative path.
struct Pending {
    parent: Rc<Dir>,
    name: std::ffi::OsString,
    path: String,
}

/// How often (in entries) a scan looks at its cancel switch.
const CANCEL_CHECK_EVERY: usize = 1024;

/// One recursive walk of an area.
struct Walk<'a> {
    area: &'a Area,
    locks: &'a HashSet<(u64, u64, u64)>,
    context: &'a CallContext,
}

fn scan_area(area: &Area, locks: &HashSet<(u64, u64, u64)>, context: &CallContext) -> Scan {
    let mut scan = Scan::default();
    let root = match area.dir.try_clone() {
        Ok(dir) => Rc::new(dir),
        Err(error) => {
            scan.problems.push(ScanProblem {
                path: String::new(),
                reason: error.to_string(),
            });
            return scan;
        }
    };
    let walk = Walk {
        area,
        locks,
        context,
    };
    // Children are pushed as found; each directory is opened only when its turn comes, so
    // open handles stay bounded by the depth of the tree.
    let mut stack: Vec<Pending> = Vec::new();
    walk.read_directory(&root, "", &mut scan, &mut stack);
    walk.drain(&mut scan, stack);
    scan
}

impl Walk<'_> {
    /// Reads every pending directory, depth first.
    fn drain(&self, scan: &mut Scan, mut stack: Vec<Pending>) {
        while let Some(pending) = stack.pop() {
            if self.context.cancelled() {
                return;
            }
            match open_dir_nofollow(&pending.parent, &pending.name) {
                Ok(dir) => {
                    let dir = Rc::new(dir);
                    self.read_directory(&dir, &pending.path, scan, &mut stack);
                }
                Err(error) if error.kind() == io::ErrorKind::NotFound => {}
                Err(error) => scan.problems.push(ScanProblem {
                    path: pending.path,
                    reason: error.to_string(),
                }),
            }
        }
    }

    /// Lists one directory into `scan`, pushing its subdirectories (on the area's mount)
    /// onto `stack`.
    fn read_directory(
        &self,
        dir: &Rc<Dir>,
        prefix: &str,
        scan: &mut Scan,
        stack: &mut Vec<Pending>,
    ) {
        let entries = match dir.entries() {
            Ok(entries) => entries,
            Err(error) => {
                scan.problems.push(ScanProblem {
                    path: prefix.to_string(),
                    reason: error.to_string(),
                });
                return;
            }
        };
        for (index, item) in entries.enumerate() {
            if index % CANCEL_CHECK_EVERY == CANCEL_CHECK_EVERY - 1 && self.context.cancelled() {
                return;
            }
            let item = match item {
                Ok(item) => item,
                Err(error) => {
                    scan.problems.push(ScanProblem {
                        path: prefix.to_string(),
                        reason: error.to_string(),
                    });
                    continue;
                }
            };
            let name = item.file_name();
            let path = join(prefix, &names::encode(&name));
            let found = match stat_at(&**dir, &name) {
                Ok(found) => found,
                Err(error) if error.kind() == io::ErrorKind::NotFound => continue,
                Err(error) => {
                    scan.problems.push(ScanProblem {
                        path,
                        reason: error.to_string(),
                    });
                    continue;
                }
            };
            if !self.area.mount.holds(&found.mount) {
                tracing::debug!(
                    area = %self.area.name,
                    path = %crate::text::printable(&path),
                    "not descending into another mount"
                );
                continue;
            }
            let kind = found.kind;
            let device = found.mount.device;
            scan.entries.push(Entry {
                kind,
                size: if kind == EntryKind::Directory {
                    0
                } else {
                    found.size
                },
                mtime: seconds(found.mtime),
                atime: seconds(found.atime),
                ctime: seconds(found.ctime),
                device,
                inode: found.inode,
                locked: matches!(kind, EntryKind::File | EntryKind::Directory)
                    && self.locks.contains(&lock_key(device, found.inode)),
                path: path.clone(),
            });
            if kind == EntryKind::Directory {
                stack.push(Pending {
                    parent: Rc::clone(dir),
                    name,
                    path,
                });
            }
        }
    }
}

/// Splits a policy-supplied path into its parent components and final name, refusing
/// anything but plain relative components.
fn split_relative(path: &str) -> Result<(Vec<&str>, &str), String> {
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
fn remove_batch(area: &Area, paths: &[String], context: &CallContext) -> Vec<Removal> {
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

/// The chain of directories opened for the last path, reused for the next one as far as the
/// two share parents: removing a deep tree children first opens each directory once.
#[derive(Default)]
struct ParentCache {
    chain: Vec<(String, Dir)>,
}

/// Opens the directory `name` inside `base` for reading, without following a link: a real
/// descriptor (not `O_PATH`), so it can be listed, locked and `fchmod`ed.
pub fn open_dir_nofollow(base: &Dir, name: &OsStr) -> io::Result<Dir> {
    use rustix::fs::{Mode, OFlags, openat};
    let fd = openat(
        base,
        name,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::empty(),
    )?;
    Ok(Dir::from_std_file(std::fs::File::from(fd)))
}

/// Whether someone holds an `flock` on the directory `dir` (tested without keeping a lock).
fn directory_locked(dir: &Dir) -> bool {
    use rustix::fs::{FlockOperation, flock};
    match flock(dir, FlockOperation::NonBlockingLockExclusive) {
        Ok(()) => {
            let _ = flock(dir, FlockOperation::Unlock);
            false
        }
        Err(error) => error == rustix::io::Errno::WOULDBLOCK,
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
fn open_parent<'a>(
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
    cache.chain.truncate(common);
    for part in &parents[common..] {
        let name = names::decode(part).map_err(|reason| (RemovalStatus::OutOfBounds, reason))?;
        let base = cache.chain.last().map_or(&area.dir, |(_, dir)| dir);
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
        cache.chain.push(((*part).to_string(), next));
    }
    Ok(cache.chain.last().map_or(&area.dir, |(_, dir)| dir))
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
    // Regular files, the common case, are opened straight away (without following a link);
    // anything else is looked at first.
    match open_file(dir, &name) {
        Ok(file) => return remove_open_file(area, dir, path, &name, file),
        Err(error) if error.kind() == io::ErrorKind::NotFound => {
            return Removal::new(path, RemovalStatus::Vanished, 0, None);
        }
        Err(error) if error.kind() == io::ErrorKind::PermissionDenied => {
            return Removal::new(
                path,
                RemovalStatus::Failed,
                0,
                Some("permission denied: cannot check whether the file is in use".to_string()),
            );
        }
        // A link (ELOOP), a FIFO or socket (ENXIO, EOPNOTSUPP...): look before acting.
        Err(_) => {}
    }
    let found: Stat = match stat_at(dir, &name) {
        Ok(found) => found,
        Err(error) => return os_failure(path, &error),
    };
    if !area.mount.holds(&found.mount) {
        return other_mount(path);
    }
    if found.kind == EntryKind::Directory {
        return remove_directory(dir, path, &name);
    }
    // The link itself (or a socket/FIFO/device entry) goes; nothing it points at is touched.
    match dir.remove_file_or_symlink(&*name) {
        Ok(()) => Removal::new(path, RemovalStatus::Removed, found.size, None),
        Err(error) => os_failure(path, &error),
    }
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

fn remove_directory(dir: &Dir, path: &str, name: &OsStr) -> Removal {
    // A directory held under `flock` (a live temp directory) is in use.
    match open_dir_nofollow(dir, name) {
        Ok(handle) => {
            if directory_locked(&handle) {
                return Removal::new(path, RemovalStatus::InUse, 0, None);
            }
        }
        Err(error) => return os_failure(path, &error),
    }
    match dir.remove_dir(name) {
        Ok(()) => Removal::new(path, RemovalStatus::Removed, 0, None),
        Err(error) if error.raw_os_error() == Some(rustix::io::Errno::NOTEMPTY.raw_os_error()) => {
            Removal::new(
                path,
                RemovalStatus::Refused,
                0,
                Some("directory is not empty".to_string()),
            )
        }
        Err(error) => os_failure(path, &error),
    }
}

/// Removes an opened entry: a directory goes the directory way; a regular file is locked
/// (non-blocking) and unlinked while the lock is held; anything else is unlinked itself.
fn remove_open_file(
    area: &Area,
    dir: &Dir,
    path: &str,
    name: &OsStr,
    file: std::fs::File,
) -> Removal {
    let found = match stat_fd(&file) {
        Ok(found) => found,
        Err(error) => return os_failure(path, &error),
    };
    if !area.mount.holds(&found.mount) {
        return other_mount(path);
    }
    if found.kind == EntryKind::Directory {
        drop(file);
        return remove_directory(dir, path, name);
    }
    if found.kind != EntryKind::File {
        drop(file);
        return match dir.remove_file_or_symlink(name) {
            Ok(()) => Removal::new(path, RemovalStatus::Removed, 0, None),
            Err(error) => os_failure(path, &error),
        };
    }
    match file.try_lock() {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) => {
            return Removal::new(path, RemovalStatus::InUse, 0, None);
        }
        Err(std::fs::TryLockError::Error(error)) => return os_failure(path, &error),
    }
    // Unlinked while our lock is held, so no one can take it in between.
    let result = dir.remove_file(name);
    drop(file);
    match result {
        Ok(()) => Removal::new(path, RemovalStatus::Removed, found.size, None),
        Err(error) => os_failure(path, &error),
    }
}

/// Seconds since the Unix epoch, now.
pub fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|elapsed| elapsed.as_secs())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

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
