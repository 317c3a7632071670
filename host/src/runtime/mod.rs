//! The policy runtime: loading a component (checked, compiled once, cached as native code),
//! and calling it in a sandbox with limits, lending the host's capabilities.
//!
//! One [`wasmtime::Engine`] serves the process; each [`Policy`] compiles its component once
//! and keeps one pre-linked instance (`InstancePre`). Every call gets a fresh `Store` with a
//! deny-all WASI context (no files, no sockets, no environment, no arguments, stdio discarded)
//! and a memory cap, so one call cannot leave state behind for the next.
//!
//! Layout: [`engine`](self) and limits; `bindings` (the generated types, visible nowhere
//! else); `convert` (every conversion between them and [`crate::types`]); `state` and `host`
//! (the store's state and one `Host` impl per imported interface); `exports` (typed wrappers
//! of the exported interfaces); `call` (the call plumbing); `cache`, `file`, `check`,
//! `wit_text` (compile cache, reading policy files, the self-check, the WIT of a component).

mod bindings;
pub mod cache;
mod call;
mod check;
mod convert;
mod engine;
mod exports;
pub mod file;
mod host;
mod limits;
mod state;
pub mod wit_text;

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use sha2::{Digest, Sha256};
use wasmtime::Engine;
use wasmtime::component::{Component, Linker};

use crate::capabilities::secrets::{SecretManager, SecretSource};
use crate::types::error::Error;
use bindings::{Common, CommonPre};
use state::HostState;

pub use crate::types::catalog::{BuiltError, CatalogEntry};
pub use check::SelfCheck;
pub use engine::process_limits;
pub use exports::cleanup::CleanupOptions;
pub use limits::{CONCURRENCY_VAR, EPOCH_TICK, Limits, MAX_FILE_VAR, MEMORY_VAR, TIMEOUT_VAR};
pub use state::{DEFAULT_SAMPLES, MAX_PAGE, MAX_REMOVAL_BATCH, MAX_SCANS_PER_AREA};

/// The default policy, built from `guest/` and embedded at compile time.
pub static EMBEDDED_POLICY: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/policy.wasm"));

/// The WIT package the host implements, read from `wit/world.wit` when the host is built.
pub const WIT_PACKAGE: &str = concat!(env!("BACHATA_WIT_NAME"), "@", env!("BACHATA_WIT_VERSION"));

/// Interfaces every policy must export.
pub const REQUIRED_EXPORTS: &[&str] = &[
    concat!(
        env!("BACHATA_WIT_NAME"),
        "/errors@",
        env!("BACHATA_WIT_VERSION")
    ),
    concat!(
        env!("BACHATA_WIT_NAME"),
        "/config@",
        env!("BACHATA_WIT_VERSION")
    ),
];

/// Where a policy came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PolicyOrigin {
    /// The component embedded in the host binary.
    Embedded,
    /// A component file loaded at run time.
    File(PathBuf),
}

impl fmt::Display for PolicyOrigin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Embedded => f.write_str("embedded"),
            Self::File(path) => write!(f, "{}", path.display()),
        }
    }
}

/// A loaded policy component, ready to call.
///
/// ```no_run
/// use bachata_common::Policy;
/// let policy = Policy::embedded()?;
/// let message = policy.user_friendly_message("MUSIC_ANALYSIS_ERROR", "too_short")?;
/// assert!(message.contains("30 seconds"));
/// # Ok::<(), bachata_common::Error>(())
/// ```
///
/// Cloning is cheap: clones share the compiled component.
#[derive(Clone)]
pub struct Policy {
    engine: Engine,
    pre: CommonPre<HostState>,
    origin: PolicyOrigin,
    sha256: String,
    size: usize,
    exports: Vec<String>,
    imports: Vec<String>,
    from_cache: bool,
    secrets: Arc<dyn SecretSource>,
    limits: Limits,
}

impl fmt::Debug for Policy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Policy")
            .field("origin", &self.origin)
            .field("sha256", &self.sha256)
            .field("size", &self.size)
            .finish_non_exhaustive()
    }
}

impl Policy {
    /// Loads the embedded default policy.
    pub fn embedded() -> Result<Self, Error> {
        Self::from_bytes(EMBEDDED_POLICY, PolicyOrigin::Embedded)
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

    /// Loads a policy component from a file.
    /// The file must be a regular file of at most `BACHATA_POLICY_MAX_FILE_MB` (64 MiB).
    pub fn from_file(path: &Path) -> Result<Self, Error> {
        let bytes = file::read(path)?;
        Self::from_bytes(&bytes, PolicyOrigin::File(path.to_path_buf()))
    }

    /// Loads a policy component from its bytes, checking that it is a component that exports
    /// the interfaces this host calls and imports only what this host provides.
    pub fn from_bytes(bytes: &[u8], origin: PolicyOrigin) -> Result<Self, Error> {
        let reject = |reason: String| Error::PolicyLoad {
            origin: origin.to_string(),
            reason,
        };
        check_header(bytes).map_err(reject)?;
        let engine = engine::engine()?.clone();
        let sha256 = hex::encode(Sha256::digest(bytes));
        let (component, from_cache) = match cache::CompileCache::from_env() {
            Some(cache) => cache.load_or_compile(&engine, bytes, &sha256),
            None => Component::new(&engine, bytes).map(|component| (component, false)),
        }
        .map_err(|error| reject(format!("not a valid component: {error:#}")))?;
        let component_type = component.component_type();
        let exports: Vec<String> = component_type
            .exports(&engine)
            .map(|(name, _)| name.to_string())
            .collect();
        let imports: Vec<String> = component_type
            .imports(&engine)
            .map(|(name, _)| name.to_string())
            .collect();
        if let Some(other) = other_package_version(exports.iter().chain(&imports)) {
            return Err(reject(format!(
                "built against {other}; this host speaks {WIT_PACKAGE}: rebuild the policy \
                 against the WIT of {WIT_PACKAGE}"
            )));
        }
        let missing: Vec<&str> = REQUIRED_EXPORTS
            .iter()
            .copied()
            .filter(|required| !exports.iter().any(|name| name == required))
            .collect();
        if !missing.is_empty() {
            let found = if exports.is_empty() {
                "nothing".to_string()
            } else {
                exports.join(", ")
            };
            return Err(reject(format!(
                "missing required export(s) {}; the component exports {found}",
                missing.join(", ")
            )));
        }
        let mut linker = Linker::<HostState>::new(&engine);
        wasmtime_wasi::p2::add_to_linker_sync(&mut linker)
            .map_err(|error| reject(format!("cannot link WASI: {error:#}")))?;
        Common::add_to_linker::<HostState, wasmtime::component::HasSelf<HostState>>(
            &mut linker,
            |state| state,
        )
        .map_err(|error| reject(format!("cannot link host capabilities: {error:#}")))?;
        let instance_pre = linker.instantiate_pre(&component).map_err(|error| {
            reject(format!(
                "needs an import this host does not provide: {error:#}"
            ))
        })?;
        let pre = CommonPre::new(instance_pre)
            .map_err(|error| reject(format!("exports do not match {WIT_PACKAGE}: {error:#}")))?;
        tracing::debug!(policy = %origin, %sha256, size = bytes.len(), from_cache, "policy loaded");
        Ok(Self {
            engine,
            pre,
            origin,
            sha256,
            size: bytes.len(),
            exports,
            imports,
            from_cache,
            secrets: Arc::new(SecretManager::from_env()),
            limits: process_limits()?.clone(),
        })
    }

    /// Uses `secrets` for the `host-secrets` capability instead of Google Cloud Secret Manager.
    pub fn with_secrets(mut self, secrets: Arc<dyn SecretSource>) -> Self {
        self.secrets = secrets;
        self
    }

    /// Uses `limits` for every call. The memory cap cannot exceed the engine's pool slots
    /// (`BACHATA_POLICY_MAX_MEMORY_MB`, 64 MiB by default): a larger one is lowered to it.
    pub fn with_limits(mut self, mut limits: Limits) -> Self {
        if let Ok(process) = process_limits() {
            limits.max_memory_bytes = limits.max_memory_bytes.min(process.max_memory_bytes);
        }
        self.limits = limits;
        self
    }

    /// The limits every call runs under.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Where the policy came from.
    pub fn origin(&self) -> &PolicyOrigin {
        &self.origin
    }

    /// The sha256 of the component, hex.
    pub fn sha256(&self) -> &str {
        &self.sha256
    }

    /// The component's size in bytes.
    pub fn size(&self) -> usize {
        self.size
    }

    /// The interfaces the component exports.
    pub fn exports(&self) -> &[String] {
        &self.exports
    }

    /// Whether the compiled code came from the compile cache.
    pub fn from_cache(&self) -> bool {
        self.from_cache
    }

    /// The interfaces the component imports.
    pub fn imports(&self) -> &[String] {
        &self.imports
    }
}

/// The first `bachata:common` package version other than this host's among `names`
/// (`bachata:common/cleanup@0.1.0` gives `bachata:common@0.1.0`).
fn other_package_version<'a>(mut names: impl Iterator<Item = &'a String>) -> Option<String> {
    let package = env!("BACHATA_WIT_NAME");
    names.find_map(|name| {
        let rest = name.strip_prefix(package)?.strip_prefix('/')?;
        let (_, version) = rest.split_once('@')?;
        (version != env!("BACHATA_WIT_VERSION")).then(|| format!("{package}@{version}"))
    })
}

/// Rejects, with a reason a person can act on, bytes that are not a component.
fn check_header(bytes: &[u8]) -> Result<(), String> {
    const MAGIC: &[u8; 4] = b"\0asm";
    const CORE_VERSION: [u8; 4] = [1, 0, 0, 0];
    if bytes.is_empty() {
        return Err("the file is empty".to_string());
    }
    if bytes.len() < 8 || &bytes[..4] != MAGIC {
        return Err("not a WebAssembly file (no `\\0asm` header)".to_string());
    }
    if bytes[4..8] == CORE_VERSION {
        return Err(
            "a core WebAssembly module, not a component; build the policy with `--target wasm32-wasip2`"
                .to_string(),
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::cleanup::CleanupSettings;

    #[test]
    fn header_check_explains_what_the_bytes_are() {
        assert!(check_header(b"").unwrap_err().contains("empty"));
        assert!(
            check_header(b"hello world")
                .unwrap_err()
                .contains("not a WebAssembly")
        );
        assert!(
            check_header(b"\0asm\x01\0\0\0")
                .unwrap_err()
                .contains("core WebAssembly module")
        );
        assert!(check_header(b"\0asm\x0d\0\x01\0").is_ok());
    }

    #[test]
    fn embedded_policy_loads_and_answers() {
        let policy = Policy::embedded().expect("embedded policy loads");
        for required in REQUIRED_EXPORTS {
            assert!(policy.exports().iter().any(|name| name == required));
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
