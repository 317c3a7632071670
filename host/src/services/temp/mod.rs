//! The temp file manager: scoped temp files and directories in the `temp` area, per-user
//! directories, and tracking of what is in use.
//!
//! Files are created exclusively with mode 0600 and held under an exclusive `flock` while
//! their guard lives; directories are created with mode 0700 and locked the same way. The
//! cleaner skips anything locked, so a live temp file is never removed under its user. Guards
//! remove their file or directory on drop, also when the code using them fails or panics.
//!
//! ```no_run
//! # fn demo(temp: &bachata_common::temp::TempManager) -> Result<(), Box<dyn std::error::Error>> {
//! let audio = temp.temp_file(".wav", "mix_", Some("42"))?;
//! std::fs::write(audio.path(), b"RIFF")?;
//! // removed here, when `audio` goes out of scope
//! # Ok(()) }
//! ```

use std::ffi::OsStr;

use cap_std::fs::Dir;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::capabilities::fs::{Areas, EntryKind, Found, RemovalStatus};
use crate::types::error::{AppError, Error};

mod guards;

use guards::{Kind, Live, Registry};

/// Files removed per batch when a user's directory is cleaned.
const USER_BATCH: usize = 4096;
pub use guards::{TempDir, TempFile};

/// The area temp files live in.
pub const TEMP_AREA: &str = "temp";

/// What `cleanup_user` removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct UserCleanup {
    /// Files removed.
    pub files_removed: u64,
    /// Bytes freed.
    pub bytes_freed: u64,
    /// Files kept because they are in use.
    pub skipped_in_use: u64,
    /// Whether the user's directory itself is gone.
    pub directory_removed: bool,
}

/// Creates and tracks temp files and directories in the `temp` area.
#[derive(Debug, Clone)]
pub struct TempManager {
    areas: Arc<Areas>,
    root: PathBuf,
    registry: Arc<Registry>,
}

fn invalid(field: &str, value: &str, message: String) -> Error {
    Error::App(AppError::Validation {
        message,
        field: Some(field.to_string()),
        value: Some(value.to_string()),
        details: Vec::new(),
    })
}

/// Checks a user id: 1 to 64 of `A-Z`, `a-z`, `0-9`, `_`, `-`.
pub fn check_user_id(user_id: &str) -> Result<(), Error> {
    let valid = (1..=64).contains(&user_id.len())
        && user_id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if valid {
        Ok(())
    } else {
        Err(invalid(
            "user_id",
            user_id,
            format!("invalid user id {user_id:?}: use 1 to 64 letters, digits, `_` or `-`"),
        ))
    }
}

/// Checks a file-name prefix or suffix: at most 64 of letters, digits, `.`, `_`, `-`.
fn check_affix(field: &str, affix: &str) -> Result<(), Error> {
    let valid = affix.len() <= 64
        && affix
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
        && !affix.contains("..");
    if valid {
        Ok(())
    } else {
        Err(invalid(
            field,
            affix,
            format!("invalid {field} {affix:?}: use at most 64 letters, digits, `.`, `_` or `-`"),
        ))
    }
}

/// A path that reaches the directory `handle` itself (`/proc/self/fd/N`), so that creating an
/// entry in it does not re-resolve `path` through links someone may have put there since;
/// `path` where `/proc` is not mounted.
fn through_handle(handle: &Dir, path: &Path) -> PathBuf {
    use std::os::fd::AsRawFd as _;
    let proc_path = PathBuf::from(format!("/proc/self/fd/{}", handle.as_raw_fd()));
    if proc_path.is_dir() {
        proc_path
    } else {
        path.to_path_buf()
    }
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |source| Error::Io {
        path: path.to_path_buf(),
        source,
    }
}

impl TempManager {
    /// A manager for the `temp` area of `areas`.
    pub fn new(areas: Arc<Areas>) -> Result<Self, Error> {
        let root = areas
            .path(TEMP_AREA)
            .ok_or_else(|| {
                invalid(
                    "BACHATA_AREAS",
                    &areas.names().join(","),
                    "the `temp` area must be managed".to_string(),
                )
            })?
            .to_path_buf();
        Ok(Self {
            areas,
            root,
            registry: Arc::default(),
        })
    }

    /// The `temp` area's directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The directory new temp entries go to, as a path and as a handle.
    fn parent_for(&self, user_id: Option<&str>) -> Result<(PathBuf, Arc<Dir>), Error> {
        match user_id {
            Some(user_id) => self
                .user_dir(user_id)
                .map(|(path, dir)| (path, Arc::new(dir))),
            None => {
                let area = self.temp_area()?;
                let dir = area.try_clone().map_err(io(&self.root))?;
                Ok((self.root.clone(), Arc::new(dir)))
            }
        }
    }

    fn temp_area(&self) -> Result<&Dir, Error> {
        self.areas.dir(TEMP_AREA).ok_or_else(|| {
            invalid(
                "BACHATA_AREAS",
                &self.areas.names().join(","),
                "the `temp` area must be managed".to_string(),
            )
        })
    }

    /// The directory of user `user_id` (`temp/user_<id>`, mode 0700), created when missing.
    ///
    /// It is created and checked through the `temp` area's handle, never through a link. An
    /// existing one must be a directory owned by this process's user: one owned by someone
    /// else (or a link, or a file) is refused; one whose mode lets others in is tightened to
    /// 0700 (logged).
    pub fn user_temp_dir(&self, user_id: &str) -> Result<PathBuf, Error> {
        self.user_dir(user_id).map(|(path, _)| path)
    }

    /// [`user_temp_dir`](Self::user_temp_dir) with the directory's handle.
    fn user_dir(&self, user_id: &str) -> Result<(PathBuf, Dir), Error> {
        use cap_std::fs::DirBuilderExt as _;
        check_user_id(user_id)?;
        let name = format!("user_{user_id}");
        let path = self.root.join(&name);
        let area = self.temp_area()?;
        let mut builder = cap_std::fs::DirBuilder::new();
        builder.mode(0o700);
        match area.create_dir_with(&name, &builder) {
            Ok(()) => {}
            Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(error) => return Err(io(&path)(error)),
        }
        let refuse = |why: &str| {
            Err(Error::App(AppError::Validation {
                message: format!(
                    "the temp directory of user {user_id:?} ({}) {why}; it is not used",
                    crate::types::text::printable(&path.display().to_string())
                ),
                field: Some("user_id".to_string()),
                value: Some(user_id.to_string()),
                details: Vec::new(),
            }))
        };
        let dir =
            match crate::capabilities::fs::open_dir_nofollow(area, std::ffi::OsStr::new(&name)) {
                Ok(dir) => dir,
                Err(error)
                    if [rustix::io::Errno::LOOP, rustix::io::Errno::NOTDIR]
                        .iter()
                        .any(|errno| error.raw_os_error() == Some(errno.raw_os_error())) =>
                {
                    return refuse("is a symbolic link or not a directory");
                }
                Err(error) => return Err(io(&path)(error)),
            };
        let found = crate::capabilities::fs::stat::stat_fd(&dir).map_err(io(&path))?;
        if found.uid != rustix::process::geteuid().as_raw() {
            return refuse(&format!("belongs to another user (uid {})", found.uid));
        }
        if found.mode & 0o077 != 0 {
            rustix::fs::fchmod(&dir, rustix::fs::Mode::from_raw_mode(0o700))
                .map_err(|error| io(&path)(error.into()))?;
            tracing::warn!(
                user_id,
                mode = format!("{:o}", found.mode),
                "a user temp directory was open to others; its mode is now 0700"
            );
        }
        Ok((path, dir))
    }

    /// Creates a temp file (exclusively, mode 0600, locked) named `<prefix>XXXXXX<suffix>`,
    /// in the user's directory when `user_id` is given.
    pub fn temp_file(
        &self,
        suffix: &str,
        prefix: &str,
        user_id: Option<&str>,
    ) -> Result<TempFile, Error> {
        check_affix("suffix", suffix)?;
        check_affix("prefix", prefix)?;
        let (parent, handle) = self.parent_for(user_id)?;
        let (file, created) = tempfile::Builder::new()
            .prefix(prefix)
            .suffix(suffix)
            .permissions(std::os::unix::fs::PermissionsExt::from_mode(0o600))
            .tempfile_in(through_handle(&handle, &parent))
            .map_err(io(&parent))?
            .keep()
            .map_err(|error| io(&parent)(error.error))?;
        let name = created
            .file_name()
            .map(OsStr::to_os_string)
            .unwrap_or_default();
        let path = parent.join(&name);
        file.lock().map_err(io(&path))?;
        let id = self.registry.track(Live {
            path: path.clone(),
            kind: Kind::File,
            parent: handle,
            name,
        });
        tracing::debug!(path = %path.display(), "temp file created");
        Ok(TempFile {
            id,
            path,
            file,
            registry: Arc::clone(&self.registry),
        })
    }

    /// Creates a temp directory (mode 0700, locked) named `<prefix>XXXXXX`.
    pub fn temp_dir(&self, prefix: &str, user_id: Option<&str>) -> Result<TempDir, Error> {
        check_affix("prefix", prefix)?;
        let (parent, handle) = self.parent_for(user_id)?;
        let created = tempfile::Builder::new()
            .prefix(prefix)
            .tempdir_in(through_handle(&handle, &parent))
            .map_err(io(&parent))?
            .keep();
        let name = created
            .file_name()
            .map(OsStr::to_os_string)
            .unwrap_or_default();
        let path = parent.join(&name);
        let lock = crate::capabilities::fs::open_dir_nofollow(&handle, &name)
            .map_err(io(&path))?
            .into_std_file();
        lock.lock().map_err(io(&path))?;
        let id = self.registry.track(Live {
            path: path.clone(),
            kind: Kind::Directory,
            parent: handle,
            name,
        });
        Ok(TempDir {
            id,
            path,
            _lock: lock,
            registry: Arc::clone(&self.registry),
        })
    }

    /// Runs `body` with a temp file that is removed afterwards, whatever `body` returns.
    pub fn with_temp_file<T, E: From<Error>>(
        &self,
        suffix: &str,
        prefix: &str,
        user_id: Option<&str>,
        body: impl FnOnce(&TempFile) -> Result<T, E>,
    ) -> Result<T, E> {
        let file = self.temp_file(suffix, prefix, user_id)?;
        body(&file)
    }

    /// Async form of [`with_temp_file`](Self::with_temp_file): the file is removed when the
    /// future completes, fails or is dropped.
    pub async fn with_temp_file_async<T, E, F, Fut>(
        &self,
        suffix: &str,
        prefix: &str,
        user_id: Option<&str>,
        body: F,
    ) -> Result<T, E>
    where
        E: From<Error>,
        F: FnOnce(PathBuf) -> Fut,
        Fut: std::future::Future<Output = Result<T, E>>,
    {
        let file = self.temp_file(suffix, prefix, user_id)?;
        let result = body(file.path().to_path_buf()).await;
        drop(file);
        result
    }

    /// Runs `body` with a temp directory that is removed afterwards, whatever `body` returns.
    pub fn with_temp_dir<T, E: From<Error>>(
        &self,
        prefix: &str,
        user_id: Option<&str>,
        body: impl FnOnce(&TempDir) -> Result<T, E>,
    ) -> Result<T, E> {
        let dir = self.temp_dir(prefix, user_id)?;
        body(&dir)
    }

    /// Async form of [`with_temp_dir`](Self::with_temp_dir).
    pub async fn with_temp_dir_async<T, E, F, Fut>(
        &self,
        prefix: &str,
        user_id: Option<&str>,
        body: F,
    ) -> Result<T, E>
    where
        E: From<Error>,
        F: FnOnce(PathBuf) -> Fut,
        Fut: std::future::Future<Output = Result<T, E>>,
    {
        let dir = self.temp_dir(prefix, user_id)?;
        let result = body(dir.path().to_path_buf()).await;
        drop(dir);
        result
    }

    /// How many temp files and directories are alive.
    pub fn active_count(&self) -> usize {
        self.registry.lock().len()
    }

    /// Removes every live temp file and directory now (their guards become no-ops);
    /// returns how many were released.
    pub fn cleanup_all_active(&self) -> usize {
        let ids: Vec<u64> = self.registry.lock().keys().copied().collect();
        ids.into_iter()
            .filter(|id| self.registry.release(*id))
            .count()
    }

    /// Removes user `user_id`'s directory and everything in it that is not in use; other
    /// users' directories are never touched (`1` is not a prefix of `10`).
    pub fn cleanup_user(&self, user_id: &str) -> Result<UserCleanup, Error> {
        check_user_id(user_id)?;
        let directory = format!("user_{user_id}");
        let walker = self
            .areas
            .walk_under(TEMP_AREA, &directory)
            .map_err(|reason| io(&self.root.join(&directory))(std::io::Error::other(reason)))?;
        let mut report = UserCleanup::default();
        let Some(walker) = walker else {
            return Ok(report);
        };
        // Files go in batches as the walk lists them; only directories are kept for the end
        // (deepest first), so memory grows with the directories, not the files.
        let mut directories: Vec<String> = Vec::new();
        let mut files: Vec<String> = Vec::new();
        for found in walker {
            let Found::Entry(entry) = found else { continue };
            if entry.kind == EntryKind::Directory {
                directories.push(entry.path);
            } else {
                files.push(entry.path);
                if files.len() >= USER_BATCH {
                    self.remove_user_files(&mut files, &mut report);
                }
            }
        }
        self.remove_user_files(&mut files, &mut report);
        directories.sort_by_key(|path| std::cmp::Reverse(path.matches('/').count()));
        directories.push(directory);
        let outcomes = self.areas.remove(TEMP_AREA, &directories);
        report.directory_removed = outcomes
            .last()
            .is_some_and(|removal| removal.status == RemovalStatus::Removed);
        Ok(report)
    }

    /// Removes the queued files of a user cleanup, counting into `report`.
    fn remove_user_files(&self, files: &mut Vec<String>, report: &mut UserCleanup) {
        if files.is_empty() {
            return;
        }
        let batch = std::mem::take(files);
        for (path, removal) in batch.iter().zip(self.areas.remove(TEMP_AREA, &batch)) {
            match removal.status {
                RemovalStatus::Removed => {
                    report.files_removed += 1;
                    report.bytes_freed += removal.bytes;
                }
                RemovalStatus::InUse => report.skipped_in_use += 1,
                RemovalStatus::Vanished | RemovalStatus::NotEmpty => {}
                RemovalStatus::Refused
                | RemovalStatus::OutOfBounds
                | RemovalStatus::Failed
                | RemovalStatus::Cancelled => {
                    tracing::warn!(
                        path = %crate::types::text::printable(path),
                        reason = %crate::types::text::printable(removal.reason.as_deref().unwrap_or("")),
                        "could not remove"
                    );
                }
            }
        }
    }
}
