//! The `host-fs` capability: named managed areas under the data directory, scanned and
//! cleaned through cap-std directory handles.
//!
//! Whatever the policy asks, this module refuses absolute paths, `..` and `.`, never follows a
//! symbolic link (every directory is opened with `O_NOFOLLOW` relative to its parent handle, so
//! nothing is re-resolved from a path), never crosses into another filesystem (`st_dev` must be
//! the area's), and never unlinks a file someone holds a lock on: the file is opened without
//! following links, checked to be the file that was looked at, locked with a non-blocking
//! `flock`, and unlinked while the lock is held (the systemd-tmpfiles convention).

use std::collections::HashSet;
use std::io;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::time::SystemTime;

use cap_fs_ext::{DirExt, FollowSymlinks, OpenOptionsFollowExt};
use cap_std::fs::{Dir, MetadataExt, OpenOptions};

use crate::error::{AppError, Error};

/// What an entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryKind {
    /// A regular file.
    File,
    /// A directory.
    Directory,
    /// A symbolic link.
    Symlink,
    /// Anything else.
    Other,
}

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

/// One managed area: a directory handle and the device it lives on.
struct Area {
    name: String,
    path: PathBuf,
    dir: Dir,
    device: u64,
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

impl Areas {
    /// Opens (creating when missing) `data_dir/<name>` for every name.
    pub fn open(data_dir: &Path, names: &[String]) -> Result<Self, Error> {
        std::fs::create_dir_all(data_dir).map_err(|source| io_error(data_dir, source))?;
        let data_dir =
            &std::fs::canonicalize(data_dir).map_err(|source| io_error(data_dir, source))?;
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
            let path = data_dir.join(name);
            std::fs::create_dir_all(&path).map_err(|source| io_error(&path, source))?;
            let dir = Dir::open_ambient_dir(&path, cap_std::ambient_authority())
                .map_err(|source| io_error(&path, source))?;
            let device = dir
                .dir_metadata()
                .map_err(|source| io_error(&path, source))?
                .dev();
            areas.push(Area {
                name: name.clone(),
                path,
                dir,
                device,
            });
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
        let area = self
            .area(name)
            .ok_or_else(|| format!("unknown area `{name}`"))?;
        Ok(scan_area(area, &locked_files()))
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
            dir = match dir.open_dir_nofollow(part) {
                Ok(next) => next,
                Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(None),
                Err(error) => return Err(format!("cannot open `{relative}`: {error}")),
            };
        }
        let mut scan = Scan::default();
        let mut stack = Vec::new();
        let locks = locked_files();
        read_directory(area, &Rc::new(dir), relative, &locks, &mut scan, &mut stack);
        drain(area, &locks, &mut scan, stack);
        Ok(Some(scan))
    }

    /// Removes `paths` from area `name` in order.
    pub fn remove(&self, name: &str, paths: &[String]) -> Vec<Removal> {
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
        remove_batch(area, paths)
    }

    /// Size and file count of every area.
    pub fn usage(&self) -> Vec<AreaUsage> {
        let locks = HashSet::new();
        self.areas
            .iter()
            .map(|area| {
                let exists = area.path.is_dir();
                let scan = scan_area(area, &locks);
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

/// `(major, minor, inode)` of every file some process holds a lock on, from `/proc/locks`.
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
    name: String,
    path: String,
}

fn scan_area(area: &Area, locks: &HashSet<(u64, u64, u64)>) -> Scan {
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
    // Children are pushed as found; each directory is opened only when its turn comes, so
    // open handles stay bounded by the depth of the tree.
    let mut stack: Vec<Pending> = Vec::new();
    read_directory(area, &root, "", locks, &mut scan, &mut stack);
    drain(area, locks, &mut scan, stack);
    scan
}

/// Reads every pending directory, depth first.
fn drain(area: &Area, locks: &HashSet<(u64, u64, u64)>, scan: &mut Scan, mut stack: Vec<Pending>) {
    while let Some(pending) = stack.pop() {
        match pending.parent.open_dir_nofollow(&pending.name) {
            Ok(dir) => {
                let dir = Rc::new(dir);
                read_directory(area, &dir, &pending.path, locks, scan, &mut stack);
            }
            Err(error) => scan.problems.push(ScanProblem {
                path: pending.path,
                reason: error.to_string(),
            }),
        }
    }
}

/// Lists one directory into `scan`, pushing its subdirectories (on the area's filesystem)
/// onto `stack`.
fn read_directory(
    area: &Area,
    dir: &Rc<Dir>,
    prefix: &str,
    locks: &HashSet<(u64, u64, u64)>,
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
    for item in entries {
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
        let Some(name) = name.to_str() else {
            scan.problems.push(ScanProblem {
                path: join(prefix, &name.to_string_lossy()),
                reason: "the name is not UTF-8; left alone".to_string(),
            });
            continue;
        };
        let path = join(prefix, name);
        let metadata = match item.metadata() {
            Ok(metadata) => metadata,
            Err(error) if error.kind() == io::ErrorKind::NotFound => continue,
            Err(error) => {
                scan.problems.push(ScanProblem {
                    path,
                    reason: error.to_string(),
                });
                continue;
            }
        };
        let file_type = metadata.file_type();
        let kind = if file_type.is_symlink() {
            EntryKind::Symlink
        } else if file_type.is_dir() {
            EntryKind::Directory
        } else if file_type.is_file() {
            EntryKind::File
        } else {
            EntryKind::Other
        };
        let device = metadata.dev();
        if device != area.device {
            tracing::debug!(area = %area.name, %path, "not descending into another filesystem");
            continue;
        }
        let inode = metadata.ino();
        scan.entries.push(Entry {
            kind,
            size: if kind == EntryKind::Directory {
                0
            } else {
                metadata.len()
            },
            mtime: seconds(metadata.mtime()),
            atime: seconds(metadata.atime()),
            ctime: seconds(metadata.ctime()),
            device,
            inode,
            locked: kind == EntryKind::File && locks.contains(&lock_key(device, inode)),
            path: path.clone(),
        });
        if kind == EntryKind::Directory {
            stack.push(Pending {
                parent: Rc::clone(dir),
                name: name.to_string(),
                path,
            });
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

/// Removes a batch in order, spreading it over a few threads when it is large.
///
/// Paths are grouped by their first component: two paths with different first components
/// cannot be ancestor and descendant, so groups are independent, while the order within a
/// group (children before parents, as the policy sends them) is kept.
fn remove_batch(area: &Area, paths: &[String]) -> Vec<Removal> {
    let threads = std::thread::available_parallelism()
        .map_or(1, usize::from)
        .min(MAX_REMOVAL_THREADS);
    if paths.len() < PARALLEL_MIN_BATCH || threads < 2 {
        let mut parents = ParentCache::default();
        return paths
            .iter()
            .map(|path| remove_one(area, &mut parents, path))
            .collect();
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
                    let mut parents = ParentCache::default();
                    indices
                        .into_iter()
                        .map(|index| (index, remove_one(area, &mut parents, &paths[index])))
                        .collect::<Vec<_>>()
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

/// The last parent directory opened, reused while consecutive paths share it.
#[derive(Default)]
struct ParentCache {
    key: Vec<String>,
    dir: Option<Dir>,
}

/// Opens the parent chain of a path without following links or leaving the area's device.
fn open_parent<'a>(
    area: &Area,
    cache: &'a mut ParentCache,
    parents: &[&str],
) -> Result<&'a Dir, (RemovalStatus, String)> {
    let cached = cache.dir.is_some()
        && cache.key.len() == parents.len()
        && cache.key.iter().zip(parents).all(|(a, b)| a == b);
    if !cached {
        cache.dir = None;
        let mut dir = area
            .dir
            .try_clone()
            .map_err(|error| (RemovalStatus::Failed, error.to_string()))?;
        for part in parents {
            dir = match dir.open_dir_nofollow(part) {
                Ok(next) => next,
                Err(error) if error.kind() == io::ErrorKind::NotFound => {
                    return Err((
                        RemovalStatus::Vanished,
                        "parent directory is gone".to_string(),
                    ));
                }
                Err(error) => {
                    return Err((
                        RemovalStatus::OutOfBounds,
                        format!("cannot open `{part}` without following links: {error}"),
                    ));
                }
            };
            let device = dir
                .dir_metadata()
                .map_err(|error| (RemovalStatus::Failed, error.to_string()))?
                .dev();
            if device != area.device {
                return Err((
                    RemovalStatus::Refused,
                    "crosses into another filesystem".to_string(),
                ));
            }
        }
        cache.key = parents.iter().map(|part| part.to_string()).collect();
        cache.dir = Some(dir);
    }
    cache
        .dir
        .as_ref()
        .ok_or_else(|| (RemovalStatus::Failed, "no parent directory".to_string()))
}

/// The refusal for an entry on another filesystem (a mount point inside an area).
fn other_filesystem(path: &str) -> Removal {
    Removal::new(
        path,
        RemovalStatus::Refused,
        0,
        Some("a mount point of another filesystem".to_string()),
    )
}

fn os_failure(path: &str, error: &io::Error) -> Removal {
    if error.kind() == io::ErrorKind::NotFound {
        return Removal::new(path, RemovalStatus::Vanished, 0, None);
    }
    Removal::new(path, RemovalStatus::Failed, 0, Some(error.to_string()))
}

fn remove_one(area: &Area, parents: &mut ParentCache, path: &str) -> Removal {
    let (chain, name) = match split_relative(path) {
        Ok(split) => split,
        Err(reason) => return Removal::new(path, RemovalStatus::OutOfBounds, 0, Some(reason)),
    };
    let dir = match open_parent(area, parents, &chain) {
        Ok(dir) => dir,
        Err((status, reason)) => {
            let reason = (status != RemovalStatus::Vanished).then_some(reason);
            return Removal::new(path, status, 0, reason);
        }
    };
    // Regular files, the common case, are opened straight away (without following a link);
    // anything else is looked at first.
    match open_file(dir, name) {
        Ok(file) => return remove_open_file(area, dir, path, name, file),
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
    let metadata = match dir.symlink_metadata(name) {
        Ok(metadata) => metadata,
        Err(error) => return os_failure(path, &error),
    };
    if metadata.dev() != area.device {
        return other_filesystem(path);
    }
    if metadata.file_type().is_dir() {
        return remove_directory(dir, path, name);
    }
    // The link itself (or a socket/FIFO entry) goes; nothing it points at is touched.
    match dir.remove_file_or_symlink(name) {
        Ok(()) => Removal::new(path, RemovalStatus::Removed, metadata.len(), None),
        Err(error) => os_failure(path, &error),
    }
}

/// Opens `name` for reading without following a link and without blocking on a FIFO.
fn open_file(dir: &Dir, name: &str) -> io::Result<std::fs::File> {
    use cap_std::fs::OpenOptionsExt as _;
    let mut options = OpenOptions::new();
    options
        .read(true)
        .follow(FollowSymlinks::No)
        .custom_flags(rustix::fs::OFlags::NONBLOCK.bits() as i32);
    dir.open_with(name, &options)
        .map(cap_std::fs::File::into_std)
}

fn remove_directory(dir: &Dir, path: &str, name: &str) -> Removal {
    // A directory held under `flock` (a live temp directory) is in use.
    match dir.open_dir_nofollow(name) {
        Ok(handle) => {
            let file = handle.into_std_file();
            if let Err(std::fs::TryLockError::WouldBlock) = file.try_lock() {
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
/// (non-blocking) and unlinked while the lock is held; anything else is left to the caller.
fn remove_open_file(
    area: &Area,
    dir: &Dir,
    path: &str,
    name: &str,
    file: std::fs::File,
) -> Removal {
    use std::os::unix::fs::MetadataExt as _;
    let metadata = match file.metadata() {
        Ok(metadata) => metadata,
        Err(error) => return os_failure(path, &error),
    };
    if metadata.dev() != area.device {
        return other_filesystem(path);
    }
    if metadata.is_dir() {
        drop(file);
        return remove_directory(dir, path, name);
    }
    if !metadata.is_file() {
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
        Ok(()) => Removal::new(path, RemovalStatus::Removed, metadata.len(), None),
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
