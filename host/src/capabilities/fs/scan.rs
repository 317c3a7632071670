//! The recursive walk of an area: depth first, one directory handle per level, never through
//! a link or into another mount, stopping when cancelled.

use std::collections::HashSet;
use std::io;
use std::rc::Rc;

use cap_std::fs::Dir;

use super::area::Area;
use super::locks::lock_key;
use super::stat::{EntryKind, stat_at};
use super::{CallContext, Entry, Scan, ScanProblem, names, open_dir_nofollow};
use crate::types::text::printable;

fn seconds(time: i64) -> u64 {
    u64::try_from(time).unwrap_or(0)
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
pub(super) struct Walk<'a> {
    pub(super) area: &'a Area,
    pub(super) locks: &'a HashSet<(u64, u64, u64)>,
    pub(super) context: &'a CallContext,
}

pub(super) fn scan_area(
    area: &Area,
    locks: &HashSet<(u64, u64, u64)>,
    context: &CallContext,
) -> Scan {
    let root = match area.dir.try_clone() {
        Ok(dir) => Rc::new(dir),
        Err(error) => {
            let mut scan = Scan::default();
            scan.problems.push(ScanProblem {
                path: String::new(),
                reason: error.to_string(),
            });
            return scan;
        }
    };
    // Children are pushed as found; each directory is opened only when its turn comes, so
    // open handles stay bounded by the depth of the tree.
    Walk {
        area,
        locks,
        context,
    }
    .walk(root, "")
}

impl Walk<'_> {
    /// Lists `dir` (the directory at `prefix` in the area) and everything below it.
    pub(super) fn walk(&self, dir: Rc<Dir>, prefix: &str) -> Scan {
        let mut scan = Scan::default();
        let mut stack = Vec::new();
        self.read_directory(&dir, prefix, &mut scan, &mut stack);
        self.drain(&mut scan, stack);
        scan
    }

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
                    path = %printable(&path),
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
