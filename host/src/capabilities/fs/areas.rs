//! The managed areas: each root opened once, relative to the data directory's handle and
//! without following a link, with the mount it lives on; scans and removal batches are
//! dispatched to the area they name.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use cap_std::fs::Dir;

use super::area::{Area, io_error, open_area, prepare_data_dir};
use super::locks::locked_files;
use super::remove::{remove_batch, split_relative};
use super::stat::{self, EntryKind, stat_fd};
use super::walk::{Found, Locks, Walker};
use super::{
    AreaUsage, CallContext, Removal, RemovalStatus, Scan, ScanFailure, names, open_dir_nofollow,
};
use crate::types::error::{AppError, Error};

/// The managed areas under a data directory.
pub struct Areas {
    root: PathBuf,
    /// The data directory's handle, to check that each area root is still in place.
    data: Option<Dir>,
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
            data: Some(data),
            areas,
        })
    }

    /// No areas at all: every request is refused as naming an unknown area.
    pub fn none() -> Self {
        Self {
            root: PathBuf::new(),
            data: None,
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

    /// Scans area `name` recursively into one list. `Err` when the area is unknown or its
    /// root was moved.
    pub fn scan(&self, name: &str) -> Result<Scan, String> {
        self.scan_with(name, &CallContext::default())
            .map_err(|failure| match failure {
                ScanFailure::UnknownArea(name) => format!("unknown area `{name}`"),
                ScanFailure::Cancelled => "the scan was cancelled".to_string(),
                ScanFailure::Displaced(reason) => reason,
            })
    }

    /// Scans area `name` recursively into one list, stopping when `context` is cancelled.
    pub fn scan_with(&self, name: &str, context: &CallContext) -> Result<Scan, ScanFailure> {
        let mut walker = self.walk(name, Arc::new(locked_files()), context)?;
        let scan = collect(&mut walker);
        if walker.was_cancelled() {
            return Err(ScanFailure::Cancelled);
        }
        Ok(scan)
    }

    /// Starts a streaming walk of area `name`, checking entries against `locks`.
    pub fn walk(
        &self,
        name: &str,
        locks: Arc<Locks>,
        context: &CallContext,
    ) -> Result<Walker, ScanFailure> {
        let area = self
            .area(name)
            .ok_or_else(|| ScanFailure::UnknownArea(name.to_string()))?;
        if let Some(reason) = self.displaced(area) {
            return Err(ScanFailure::Displaced(reason));
        }
        let root = area
            .dir
            .try_clone()
            .map_err(|error| ScanFailure::Displaced(format!("cannot read the area: {error}")))?;
        Walker::new(root, "", area.mount, locks, context.clone())
            .map_err(|error| ScanFailure::Displaced(format!("cannot read the area: {error}")))
    }

    /// Scans the directory `relative` (a plain relative path) of area `name` recursively into
    /// one list; `Ok(None)` when it does not exist. Entry paths are relative to the area root.
    pub fn scan_under(&self, name: &str, relative: &str) -> Result<Option<Scan>, String> {
        Ok(self
            .walk_under(name, relative)?
            .map(|mut walker| collect(&mut walker)))
    }

    /// Starts a streaming walk of the directory `relative` (a plain relative path) of area
    /// `name`; `Ok(None)` when it does not exist. Entry paths are relative to the area root.
    pub fn walk_under(&self, name: &str, relative: &str) -> Result<Option<Walker>, String> {
        let area = self
            .area(name)
            .ok_or_else(|| format!("unknown area `{name}`"))?;
        if let Some(reason) = self.displaced(area) {
            return Err(reason);
        }
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
        Walker::new(
            dir,
            relative,
            area.mount,
            Arc::new(locked_files()),
            CallContext::default(),
        )
        .map(Some)
        .map_err(|error| format!("cannot read `{relative}`: {error}"))
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
        if let Some(reason) = self.displaced(area) {
            return paths
                .iter()
                .map(|path| Removal::new(path, RemovalStatus::Refused, 0, Some(reason.clone())))
                .collect();
        }
        remove_batch(area, paths, context)
    }

    fn displaced(&self, area: &Area) -> Option<String> {
        self.data.as_ref().and_then(|data| area.displaced(data))
    }

    /// Size and file count of every area, by a streaming walk (memory does not grow with
    /// the areas).
    pub fn usage(&self) -> Vec<AreaUsage> {
        let locks = Arc::new(Locks::new());
        let context = CallContext::default();
        self.areas
            .iter()
            .map(|area| {
                let exists = std::fs::symlink_metadata(&area.path).is_ok_and(|m| m.is_dir());
                let (mut size, mut file_count) = (0u64, 0u64);
                let walker = area.dir.try_clone().and_then(|root| {
                    Walker::new(root, "", area.mount, Arc::clone(&locks), context.clone())
                });
                if let Ok(walker) = walker {
                    for found in walker {
                        if let Found::Entry(entry) = found
                            && entry.kind == EntryKind::File
                        {
                            size = size.saturating_add(entry.size);
                            file_count += 1;
                        }
                    }
                }
                AreaUsage {
                    name: area.name.clone(),
                    exists,
                    size,
                    file_count,
                }
            })
            .collect()
    }
}

/// Every entry and problem of a walk, in one list.
fn collect(walker: &mut Walker) -> Scan {
    let mut scan = Scan::default();
    for found in walker {
        match found {
            Found::Entry(entry) => scan.entries.push(entry),
            Found::Problem(problem) => scan.problems.push(problem),
        }
    }
    scan
}

/// Whether `name` can name an area: 1 to 64 of `a-z`, `0-9`, `_`, `-` (the policy's rule too).
fn valid_area_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
}
