//! The guards of live temp files and directories and the registry they share: each entry
//! is removed through its parent directory's handle when its guard drops (or when the
//! manager releases everything at shutdown).

use std::collections::HashMap;
use std::ffi::OsString;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use cap_std::fs::Dir;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    File,
    Directory,
}

/// One live temp entry: its path (for users and logs), what it is, and its parent
/// directory's handle and its name there (what removal uses, never the path).
#[derive(Debug)]
pub(super) struct Live {
    pub(super) path: PathBuf,
    pub(super) kind: Kind,
    pub(super) parent: Arc<Dir>,
    pub(super) name: OsString,
}

/// The live temp files and directories, shared by the manager and its guards.
#[derive(Debug, Default)]
pub(super) struct Registry {
    active: Mutex<HashMap<u64, Live>>,
    next: AtomicU64,
}

impl Registry {
    pub(super) fn track(&self, live: Live) -> u64 {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        self.lock().insert(id, live);
        id
    }

    pub(super) fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Live>> {
        match self.active.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    /// Untracks `id` and removes what it names; false when it was already released.
    pub(super) fn release(&self, id: u64) -> bool {
        let Some(Live {
            path,
            kind,
            parent,
            name,
        }) = self.lock().remove(&id)
        else {
            return false;
        };
        // Through the parent's handle: a path re-resolved now could lead elsewhere.
        let result = match kind {
            Kind::File => parent.remove_file(&name),
            // cap-std's remove_dir_all never follows symbolic links.
            Kind::Directory => parent.remove_dir_all(&name),
        };
        match result {
            Ok(()) => true,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => true,
            Err(error) => {
                tracing::warn!(path = %path.display(), %error, "could not remove temp entry");
                true
            }
        }
    }
}

/// A temp file that is removed when dropped. The file stays locked while the guard lives.
#[derive(Debug)]
pub struct TempFile {
    pub(super) id: u64,
    pub(super) path: PathBuf,
    pub(super) file: File,
    pub(super) registry: Arc<Registry>,
}

impl TempFile {
    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The open, locked file.
    pub fn file(&self) -> &File {
        &self.file
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        // Removed while our lock is still held; the lock goes with the handle afterwards.
        self.registry.release(self.id);
    }
}

/// A temp directory that is removed with its contents when dropped.
#[derive(Debug)]
pub struct TempDir {
    pub(super) id: u64,
    pub(super) path: PathBuf,
    pub(super) _lock: File,
    pub(super) registry: Arc<Registry>,
}

impl TempDir {
    /// The directory's path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        self.registry.release(self.id);
    }
}
