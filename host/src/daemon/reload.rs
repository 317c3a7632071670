//! Hot reload of the policy files: when a file named by `--policy` / `BACHATA_POLICY`
//! changes, the daemon compiles and instantiates the new component, runs the self-check of
//! the set with it under the call limits, and only then swaps it in, keeping the other files'
//! components as they are. A component that fails any step is logged with the reason and
//! counted; the last good one of that file keeps serving.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use notify_debouncer_mini::notify::RecursiveMode;
use notify_debouncer_mini::{DebounceEventResult, Debouncer, new_debouncer};
use sha2::{Digest, Sha256};

use super::Shared;
use crate::runtime::Policy;
use crate::types::error::Error;

/// How long the file must be quiet before it is reloaded (writers often write in pieces).
pub const DEBOUNCE: Duration = Duration::from_millis(300);

/// What a reload did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reloaded {
    /// The new component passed and is now active.
    Swapped {
        /// sha256 of the policy replaced.
        from: String,
        /// sha256 of the policy now active.
        to: String,
    },
    /// The file holds the active component already (or is gone): nothing to do.
    Unchanged,
}

/// What identifies one version of the policy file without reading it: device, inode, size,
/// modification and status-change times.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fingerprint {
    device: u64,
    inode: u64,
    size: u64,
    mtime_ns: i128,
    ctime_ns: i128,
}

impl Fingerprint {
    /// The fingerprint of what `path` names now (following the operator's links); `None`
    /// when it cannot be looked at.
    pub fn of(path: &Path) -> Option<Self> {
        use std::os::unix::fs::MetadataExt as _;
        let metadata = std::fs::metadata(path).ok()?;
        let nanos = |secs: i64, nsec: i64| i128::from(secs) * 1_000_000_000 + i128::from(nsec);
        Some(Self {
            device: metadata.dev(),
            inode: metadata.ino(),
            size: metadata.len(),
            mtime_ns: nanos(metadata.mtime(), metadata.mtime_nsec()),
            ctime_ns: nanos(metadata.ctime(), metadata.ctime_nsec()),
        })
    }
}

/// Loads `path`, self-checks it and swaps it in when it differs from the active policy.
/// On failure the active policy is kept; the error says why. The file is read only when it
/// is a regular file within the size limit (see [`crate::runtime::file`]).
pub fn reload(shared: &Shared, path: &Path) -> Result<Reloaded, Error> {
    // One reload at a time, from reading the active set to the swap: two files of a set
    // changed at once each build on the other's result, and neither update is lost.
    static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());
    let _turn = ONE_AT_A_TIME
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let bytes = match crate::runtime::file::read(path) {
        Ok(bytes) => bytes,
        // Replaced by rename: the new file will raise its own event.
        Err(Error::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
            return Ok(Reloaded::Unchanged);
        }
        Err(error) => return Err(error),
    };
    let active = shared.manager.policy();
    let sha256 = hex::encode(Sha256::digest(&bytes));
    let current = active.component_of(path).map(|component| component.sha256);
    // An event without new content (a touch, a copy of the same file) compiles nothing.
    if current.as_deref() == Some(sha256.as_str()) {
        return Ok(Reloaded::Unchanged);
    }
    let candidate: Policy = active.replacing(path, &bytes)?;
    candidate.self_check()?;
    let candidate = Arc::new(candidate);
    shared.manager.swap_policy(Arc::clone(&candidate));
    shared.telemetry.policy_active(&candidate);
    Ok(Reloaded::Swapped {
        from: current.unwrap_or_default(),
        to: sha256,
    })
}

/// The last version of the policy file tried, and when a transient failure may be retried.
#[derive(Debug, Clone, Copy)]
struct Attempt {
    fingerprint: Option<Fingerprint>,
    retry_at: Option<Instant>,
    /// The file was found gone (and said so).
    gone: bool,
}

/// How long after a transient failure the same file may be tried again.
const TRANSIENT_RETRY: Duration = Duration::from_secs(30);

/// Whether a failed reload may pass by itself (a self-check that ran out of time on a loaded
/// machine) rather than being the file's fault.
fn transient(error: &Error) -> bool {
    match error {
        Error::App(crate::types::error::AppError::Resource { resource_type, .. }) => {
            matches!(
                resource_type.as_deref(),
                Some("cpu" | crate::runtime::POOL_RESOURCE)
            )
        }
        _ => false,
    }
}

/// Reloads and records the outcome in logs and metrics. A file version already tried (same
/// fingerprint) is not tried again: a rejected file is retried only when it changes, and is
/// counted and logged once. A file that is gone is said once: its last good component keeps
/// serving until a file appears at its path again.
fn reload_and_record(shared: &Shared, path: &Path, last: &Mutex<Attempt>) {
    let fingerprint = Fingerprint::of(path);
    {
        let mut last = last
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let due = last.retry_at.is_some_and(|at| Instant::now() >= at);
        if fingerprint.is_none() {
            if !last.gone && std::fs::symlink_metadata(path).is_err() {
                last.gone = true;
                last.fingerprint = None;
                shared.telemetry.policy_file_gone();
                tracing::warn!(
                    path = %path.display(),
                    "policy file is gone; its last good component keeps serving until a file \
                     appears there again"
                );
            }
            if last.gone {
                return;
            }
        }
        if fingerprint.is_some() && last.fingerprint == fingerprint && !due {
            tracing::debug!(path = %path.display(), "policy file unchanged since the last attempt");
            return;
        }
        if last.gone {
            tracing::info!(path = %path.display(), "policy file is back");
        }
        *last = Attempt {
            fingerprint,
            retry_at: None,
            gone: false,
        };
    }
    match reload(shared, path) {
        Ok(Reloaded::Swapped { from, to }) => {
            shared.telemetry.policy_reloaded(true);
            tracing::info!(path = %path.display(), %from, %to, "policy reloaded");
        }
        Ok(Reloaded::Unchanged) => {
            tracing::debug!(path = %path.display(), "policy file event without a new component");
        }
        Err(error) => {
            shared.telemetry.policy_reloaded(false);
            let keeping = shared
                .manager
                .policy()
                .component_of(path)
                .map(|component| component.sha256)
                .unwrap_or_default();
            tracing::error!(
                path = %path.display(),
                %error,
                %keeping,
                "policy reload rejected; the file's last good component keeps serving"
            );
            if transient(&error) {
                // Not the file's fault (a busy machine): the same file is tried again on an
                // event after a pause.
                last.lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .retry_at = Some(Instant::now() + TRANSIENT_RETRY);
            }
        }
    }
}

/// Watches the policy files until dropped.
pub struct Watcher {
    _debouncer: Arc<Mutex<Debouncer<notify_debouncer_mini::notify::RecommendedWatcher>>>,
    /// Dropping it stops the thread that looks for files that are gone.
    _stop: std::sync::mpsc::Sender<()>,
}

impl std::fmt::Debug for Watcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Watcher").finish_non_exhaustive()
    }
}

/// How often files that are gone are looked for (their directory may have gone with them,
/// and its watch with it).
pub const GONE_POLL: Duration = Duration::from_secs(1);

/// A policy file of the set, as watched.
struct Watched {
    /// The path as the set names it (the key of its component in the set).
    path: PathBuf,
    /// The directory it is in, links resolved: what is watched, and what events name.
    directory: PathBuf,
    /// The last version tried.
    last: Mutex<Attempt>,
}

impl Watched {
    fn new(path: &Path) -> Result<Self, Error> {
        let absolute = std::path::absolute(path).map_err(|source| Error::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let parent = absolute
            .parent()
            .map_or_else(|| PathBuf::from("/"), Path::to_path_buf);
        // Two names of one directory (a link) get one inotify watch, whose events come under
        // the name it was first added with: watch and match the resolved directory.
        let directory = std::fs::canonicalize(&parent).unwrap_or(parent);
        Ok(Self {
            path: path.to_path_buf(),
            directory,
            last: Mutex::new(Attempt {
                fingerprint: None,
                retry_at: None,
                gone: false,
            }),
        })
    }

    /// Whether an event's path names this file.
    fn named_by(&self, event: &Path) -> bool {
        event.parent() == Some(self.directory.as_path())
            && event.file_name() == self.path.file_name()
    }

    fn gone(&self) -> bool {
        self.last
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .gone
    }
}

/// Starts watching the policy files `paths` with one watcher (one inotify instance, whatever
/// their number), through their directories, so replacing a file by a rename is seen too.
/// Reloads run on the watcher's thread, one at a time, each file on its own. A file that is
/// gone is looked for every [`GONE_POLL`], its directory watched again when it is back.
pub fn watch(shared: Arc<Shared>, paths: &[PathBuf]) -> Result<Watcher, Error> {
    let files: Arc<Vec<Watched>> = Arc::new(
        paths
            .iter()
            .map(|path| Watched::new(path))
            .collect::<Result<_, _>>()?,
    );
    let directories: BTreeSet<PathBuf> = files.iter().map(|file| file.directory.clone()).collect();
    let handler = {
        let (shared, files) = (Arc::clone(&shared), Arc::clone(&files));
        move |result: DebounceEventResult| match result {
            Ok(events) => {
                // In the order of the set, each changed file once.
                for file in files.iter() {
                    if events.iter().any(|event| file.named_by(&event.path)) {
                        reload_and_record(&shared, &file.path, &file.last);
                    }
                }
            }
            Err(error) => tracing::warn!(%error, "policy file watcher error"),
        }
    };
    let mut debouncer =
        new_debouncer(DEBOUNCE, handler).map_err(|error| watch_error(Path::new("/"), error))?;
    for directory in &directories {
        debouncer
            .watcher()
            .watch(directory, RecursiveMode::NonRecursive)
            .map_err(|error| watch_error(directory, error))?;
    }
    for file in files.iter() {
        tracing::info!(path = %file.path.display(), "watching the policy file for changes");
    }
    let debouncer = Arc::new(Mutex::new(debouncer));
    let (stop, stopped) = std::sync::mpsc::channel::<()>();
    let poller = Arc::clone(&debouncer);
    std::thread::Builder::new()
        .name("policy-gone".into())
        .spawn(move || {
            while let Err(std::sync::mpsc::RecvTimeoutError::Timeout) =
                stopped.recv_timeout(GONE_POLL)
            {
                for file in files.iter().filter(|file| file.gone()) {
                    if Fingerprint::of(&file.path).is_none() {
                        continue;
                    }
                    // Back: its directory may be a new one, without the watch.
                    let _ = poller
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner)
                        .watcher()
                        .watch(&file.directory, RecursiveMode::NonRecursive);
                    reload_and_record(&shared, &file.path, &file.last);
                }
            }
        })
        .map_err(|source| Error::Io {
            path: PathBuf::from("policy-gone"),
            source,
        })?;
    Ok(Watcher {
        _debouncer: debouncer,
        _stop: stop,
    })
}

fn watch_error(directory: &Path, error: notify_debouncer_mini::notify::Error) -> Error {
    Error::Io {
        path: directory.to_path_buf(),
        source: std::io::Error::other(format!("cannot watch for policy changes: {error}")),
    }
}
