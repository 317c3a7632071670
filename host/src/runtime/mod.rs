//! The policy runtime: loading a component (checked, compiled once, cached as native code),
//! and calling it in a sandbox with limits, lending the host's capabilities.
//!
//! One [`wasmtime::Engine`] serves the process. A [`Policy`] is a set of components, each
//! compiled once with one pre-linked instance (`InstancePre`): each [`Concern`] is answered by
//! the first component that exports its interface, else by the embedded stock policy. Every
//! call runs in a `Store` of the component answering its concern, with a deny-all WASI
//! context (no files, no sockets, no environment, no arguments, stdio discarded) and a memory
//! cap: a fresh one for a call lending capabilities, a warm one left clean by an earlier pure
//! call of the same policy otherwise ([`warm`] says what that guarantees).
//!
//! Layout: [`engine`](self) and limits; `bindings` (the generated types, visible nowhere
//! else); `convert` (every conversion between them and [`crate::types`]); `state` and `host`
//! (the store's state and one `Host` impl per imported interface); `concern` and `part` (the
//! concerns, and one loaded component of a set: its version check and exported interfaces);
//! `exports` (typed wrappers of the exported interfaces); `call` (the call plumbing) and `warm`
//! (the instances pure calls reuse); `cache`,
//! `file`, `check`, `wit_text` (compile cache, reading policy files, the self-check, the WIT of
//! a component).

mod bindings;
pub mod cache;
mod call;
mod check;
mod concern;
mod convert;
mod engine;
mod exports;
pub mod file;
mod host;
mod limits;
mod part;
mod state;
mod warm;
pub mod wit_text;

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use serde::Serialize;
use wasmtime::Engine;

use crate::capabilities::secrets::{SecretManager, SecretSource};
use crate::types::error::Error;
use part::Part;

pub use crate::types::catalog::{BuiltError, CatalogEntry};
pub use call::POOL_RESOURCE;
pub use check::SelfCheck;
pub use concern::Concern;
pub use engine::process_limits;
pub use exports::cleanup::CleanupOptions;
pub use limits::{CONCURRENCY_VAR, EPOCH_TICK, Limits, MAX_FILE_VAR, MEMORY_VAR, TIMEOUT_VAR};
pub use part::{PolicyOrigin, WIT_PACKAGE};
pub use state::{DEFAULT_SAMPLES, MAX_PAGE, MAX_REMOVAL_BATCH, MAX_SCANS_PER_AREA};

/// The default policy, built from `guest/` and embedded at compile time.
pub static EMBEDDED_POLICY: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/policy.wasm"));

/// A component of a policy set as the host sees it: where it came from, what it was built
/// against and which concerns it answers in this set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ComponentInfo {
    /// `embedded`, or the file's path.
    pub origin: String,
    /// The sha256 of the component, hex.
    pub sha256: String,
    /// Its size in bytes.
    pub size: usize,
    /// The contract version it was built against (`1.0.0`).
    pub contract: String,
    /// The interfaces it exports.
    pub exports: Vec<String>,
    /// The interfaces it imports.
    pub imports: Vec<String>,
    /// Whether its compiled code came from the compile cache.
    pub from_cache: bool,
    /// The concerns this set takes from it.
    pub answers: Vec<Concern>,
}

/// A loaded policy: a set of components, each concern answered by the first component that
/// exports it, else by the embedded stock policy.
///
/// ```no_run
/// use bachata_common::Policy;
/// let policy = Policy::embedded()?;
/// let message = policy.user_friendly_message("MUSIC_ANALYSIS_ERROR", "too_short")?;
/// assert!(message.contains("30 seconds"));
/// # Ok::<(), bachata_common::Error>(())
/// ```
///
/// Cloning is cheap: clones share the compiled components.
#[derive(Clone)]
pub struct Policy {
    engine: Engine,
    /// The given components in order, then the stock policy.
    parts: Vec<Arc<Part>>,
    /// For each concern (in [`Concern::ALL`] order), the part that answers it.
    routes: [usize; Concern::ALL.len()],
    secrets: Arc<dyn SecretSource>,
    limits: Limits,
    /// Instances left by pure calls of this policy (shared by its clones; a policy with
    /// other secrets or limits starts another).
    warm: Arc<warm::WarmPool>,
}

impl fmt::Debug for Policy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let origins: Vec<String> = self
            .parts
            .iter()
            .map(|part| part.origin.to_string())
            .collect();
        f.debug_struct("Policy")
            .field("components", &origins)
            .finish_non_exhaustive()
    }
}

/// Refuses a set naming one file twice (the same path, or a link to a file already named): a
/// hot reload could not say which entry a change is for.
fn refuse_repeated_files(paths: &[PathBuf]) -> Result<(), Error> {
    use std::os::unix::fs::MetadataExt as _;
    let mut seen: Vec<((u64, u64), &PathBuf)> = Vec::with_capacity(paths.len());
    for path in paths {
        // A file that cannot be looked at is reported when it is read.
        let Ok(metadata) = std::fs::metadata(path) else {
            continue;
        };
        let identity = (metadata.dev(), metadata.ino());
        if let Some((_, first)) = seen.iter().find(|(id, _)| *id == identity) {
            return Err(Error::PolicyLoad {
                origin: path.display().to_string(),
                reason: format!(
                    "names the same file as {} earlier in the policy set; name each file once",
                    first.display()
                ),
            });
        }
        seen.push((identity, path));
    }
    Ok(())
}

/// The stock part, compiled once per process.
fn stock(engine: &Engine) -> Result<Arc<Part>, Error> {
    static STOCK: OnceLock<Result<Arc<Part>, String>> = OnceLock::new();
    STOCK
        .get_or_init(|| {
            Part::load(engine, EMBEDDED_POLICY, PolicyOrigin::Embedded)
                .map(Arc::new)
                .map_err(|error| error.to_string())
        })
        .clone()
        .map_err(|reason| Error::PolicyLoad {
            origin: PolicyOrigin::Embedded.to_string(),
            reason,
        })
}

impl Policy {
    /// Loads the embedded default policy.
    pub fn embedded() -> Result<Self, Error> {
        Self::from_parts(Vec::new())
    }

    /// The embedded policy, loaded once per process and shared.
    pub fn shared() -> Result<&'static Self, Error> {
        static SHARED: OnceLock<Result<Policy, String>> = OnceLock::new();
        SHARED
            .get_or_init(|| Policy::embedded().map_err(|error| error.to_string()))
            .as_ref()
            .map_err(|reason| Error::PolicyLoad {
                origin: PolicyOrigin::Embedded.to_string(),
                reason: reason.clone(),
            })
    }

    /// Loads a policy component from a file; the concerns it does not export are the stock
    /// policy's. The file must be a regular file of at most `BACHATA_POLICY_MAX_FILE_MB`
    /// (64 MiB).
    pub fn from_file(path: &Path) -> Result<Self, Error> {
        Self::from_files(std::slice::from_ref(&path.to_path_buf()))
    }

    /// Loads a policy set: each concern from the first of `paths` that exports it, else from
    /// the stock policy.
    pub fn from_files(paths: &[PathBuf]) -> Result<Self, Error> {
        refuse_repeated_files(paths)?;
        let engine = engine::engine()?;
        let parts = paths
            .iter()
            .map(|path| {
                let bytes = file::read(path)?;
                Part::load(engine, &bytes, PolicyOrigin::File(path.clone())).map(Arc::new)
            })
            .collect::<Result<Vec<_>, Error>>()?;
        Self::from_parts(parts)
    }

    /// Loads a policy component from its bytes (with the stock policy for the concerns it
    /// does not export), checking that it is a component of this contract that exports
    /// something this host calls and imports only what this host provides.
    pub fn from_bytes(bytes: &[u8], origin: PolicyOrigin) -> Result<Self, Error> {
        let part = Part::load(engine::engine()?, bytes, origin)?;
        Self::from_parts(vec![Arc::new(part)])
    }

    /// This set with the component from `path` replaced by `bytes` (a hot reload): the
    /// other components are kept as they are.
    pub fn replacing(&self, path: &Path, bytes: &[u8]) -> Result<Self, Error> {
        let mut parts: Vec<Arc<Part>> = self.parts[..self.parts.len() - 1].to_vec();
        let position = self.position_of(path);
        let origin = match position {
            Some(index) => parts[index].origin.clone(),
            None => PolicyOrigin::File(path.to_path_buf()),
        };
        let part = Arc::new(Part::load(&self.engine, bytes, origin)?);
        match position {
            Some(index) => parts[index] = part,
            None => parts.push(part),
        }
        let mut set = Self::from_parts(parts)?;
        set.secrets = Arc::clone(&self.secrets);
        set.limits = self.limits.clone();
        Ok(set)
    }

    /// The position of the component loaded from `path` (compared as absolute paths).
    fn position_of(&self, path: &Path) -> Option<usize> {
        let wanted = std::path::absolute(path).ok()?;
        self.parts.iter().position(|part| match &part.origin {
            PolicyOrigin::File(file) => std::path::absolute(file).is_ok_and(|file| file == wanted),
            PolicyOrigin::Embedded => false,
        })
    }

    /// The component loaded from `path`, if the set has one.
    pub fn component_of(&self, path: &Path) -> Option<ComponentInfo> {
        let index = self.position_of(path)?;
        self.components().into_iter().nth(index)
    }

    /// The set of `given` components then the stock policy.
    fn from_parts(mut parts: Vec<Arc<Part>>) -> Result<Self, Error> {
        let engine = engine::engine()?.clone();
        parts.push(stock(&engine)?);
        let mut routes = [parts.len() - 1; Concern::ALL.len()];
        for concern in Concern::ALL {
            if let Some(index) = parts.iter().position(|part| part.answers(concern)) {
                routes[concern.index()] = index;
            }
        }
        Ok(Self {
            engine,
            warm: Arc::new(warm::WarmPool::new(parts.len())),
            parts,
            routes,
            secrets: Arc::new(SecretManager::from_env()),
            limits: process_limits()?.clone(),
        })
    }

    /// The component answering `concern`.
    fn part(&self, concern: Concern) -> &Part {
        &self.parts[self.routes[concern.index()]]
    }

    /// Drops the instances this policy's pure calls left (and its clones'): for a policy a
    /// hot reload replaced.
    pub fn release_instances(&self) {
        self.warm.drain();
    }

    /// Uses `secrets` for the `host-secrets` capability instead of Google Cloud Secret Manager.
    pub fn with_secrets(mut self, secrets: Arc<dyn SecretSource>) -> Self {
        self.secrets = secrets;
        self.warm = Arc::new(warm::WarmPool::new(self.parts.len()));
        self
    }

    /// Uses `limits` for every call. The memory cap cannot exceed the engine's pool slots
    /// (`BACHATA_POLICY_MAX_MEMORY_MB`, 64 MiB by default): a larger one is lowered to it.
    pub fn with_limits(mut self, mut limits: Limits) -> Self {
        if let Ok(process) = process_limits() {
            limits.max_memory_bytes = limits.max_memory_bytes.min(process.max_memory_bytes);
        }
        self.limits = limits;
        self.warm = Arc::new(warm::WarmPool::new(self.parts.len()));
        self
    }

    /// The limits every call runs under.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Every component of the set, the given ones in order and the stock policy last, with
    /// the concerns each answers.
    pub fn components(&self) -> Vec<ComponentInfo> {
        self.parts
            .iter()
            .enumerate()
            .map(|(index, part)| ComponentInfo {
                origin: part.origin.to_string(),
                sha256: part.sha256.clone(),
                size: part.size,
                contract: part.contract.clone(),
                exports: part.exports.clone(),
                imports: part.imports.clone(),
                from_cache: part.from_cache,
                answers: Concern::ALL
                    .into_iter()
                    .filter(|concern| self.routes[concern.index()] == index)
                    .collect(),
            })
            .collect()
    }

    /// Where `concern` is answered from: the component's origin (`embedded` or a path), its
    /// sha256 and its contract version.
    pub fn source(&self, concern: Concern) -> (&PolicyOrigin, &str, &str) {
        let part = self.part(concern);
        (&part.origin, &part.sha256, &part.contract)
    }

    /// The files of the set, in order.
    pub fn files(&self) -> Vec<PathBuf> {
        self.parts
            .iter()
            .filter_map(|part| match &part.origin {
                PolicyOrigin::File(path) => Some(path.clone()),
                PolicyOrigin::Embedded => None,
            })
            .collect()
    }

    /// Where the first component came from (the stock policy's `embedded` when none is given).
    pub fn origin(&self) -> &PolicyOrigin {
        &self.parts[0].origin
    }

    /// The sha256 of the first component, hex.
    pub fn sha256(&self) -> &str {
        &self.parts[0].sha256
    }

    /// The first component's size in bytes.
    pub fn size(&self) -> usize {
        self.parts[0].size
    }

    /// The interfaces the first component exports.
    pub fn exports(&self) -> &[String] {
        &self.parts[0].exports
    }

    /// Whether the first component's compiled code came from the compile cache.
    pub fn from_cache(&self) -> bool {
        self.parts[0].from_cache
    }

    /// The interfaces the first component imports.
    pub fn imports(&self) -> &[String] {
        &self.parts[0].imports
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::cleanup::CleanupSettings;

    #[test]
    fn embedded_policy_loads_and_answers() {
        let policy = Policy::embedded().expect("embedded policy loads");
        for concern in Concern::ALL {
            assert!(policy.exports().iter().any(|name| concern.matches(name)));
            assert_eq!(policy.source(concern).0, &PolicyOrigin::Embedded);
        }
        assert_eq!(
            policy.http_status("MOVE_ANALYSIS_ERROR").expect("call"),
            422
        );
        assert_eq!(policy.sha256().len(), 64);
    }

    #[test]
    fn default_cleanup_settings_are_the_policys_defaults() {
        let policy = Policy::embedded().expect("embedded policy loads");
        let config = policy.load_config(&[], None).expect("call").expect("valid");
        assert_eq!(config.resources.cleanup, CleanupSettings::default());
    }
}
