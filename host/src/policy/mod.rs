//! Loading and calling the policy component.
//!
//! One [`wasmtime::Engine`] serves the process; each [`Policy`] compiles its component once
//! and keeps one pre-linked instance (`InstancePre`). Every call gets a fresh `Store` with a
//! deny-all WASI context (no files, no sockets, no environment, no arguments, stdio discarded)
//! and a memory cap, so one call cannot leave state behind for the next.

mod bindings;
pub mod cache;
mod check;
pub mod file;
mod state;
pub mod wit_text;

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};
use wasmtime::component::{Component, Linker};
use wasmtime::{Engine, Store, UpdateDeadline};

use crate::capabilities::fs::Areas;
use crate::capabilities::metrics::{Metrics, SystemResources};
use crate::capabilities::secrets::{SecretManager, SecretSource};
use crate::cleanup::{Assessment, CleanupReport, CleanupSettings};
use crate::config::{Config, ConfigFailure};
use crate::error::{AppError, Error};
use bindings::{Common, CommonPre};
use state::{Audit, Capabilities, HostState};

pub use check::SelfCheck;
pub use state::{Limits, MAX_REMOVAL_BATCH};

/// The WIT types as generated for the host, for conversions.
pub(crate) mod wit {
    pub use super::bindings::bachata::common::types::{AppError, ErrorKind, ValidationContext};
    pub use super::bindings::exports::bachata::common::cleanup;
    pub use super::bindings::exports::bachata::common::config::{
        ConfigError, Device, Environment, ResolvedConfig, Source, YoloConfig,
    };
    pub use super::bindings::exports::bachata::common::errors::CatalogEntry;
    pub use super::bindings::exports::bachata::common::pose;
}

/// The default policy, built from `guest/` and embedded at compile time.
pub static EMBEDDED_POLICY: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/policy.wasm"));

/// The WIT package the host implements.
pub const WIT_PACKAGE: &str = "bachata:common@0.1.0";

/// Interfaces every policy must export.
pub const REQUIRED_EXPORTS: &[&str] =
    &["bachata:common/errors@0.1.0", "bachata:common/config@0.1.0"];

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

/// The limits of this process, from the environment (read once).
pub fn process_limits() -> Result<&'static Limits, Error> {
    static LIMITS: OnceLock<Result<Limits, String>> = OnceLock::new();
    LIMITS
        .get_or_init(|| Limits::from_vars(|name| std::env::var(name).ok()))
        .as_ref()
        .map_err(|reason| {
            Error::App(AppError::Validation {
                message: reason.clone(),
                field: Some("policy limits".to_string()),
                value: None,
                details: Vec::new(),
            })
        })
}

/// Per component instance: most core instances, memories and tables the pool reserves room
/// for. The stock component needs fewer; a component needing more is refused at load.
const POOL_CORE_INSTANCES: u32 = 32;
const POOL_MEMORIES: u32 = 4;
const POOL_TABLES: u32 = 8;

/// The process-wide engine: compiled code is shareable between all policies. Instances come
/// from a pre-allocated pool sized by [`process_limits`]: each memory slot holds at most the
/// memory cap, and at most `max_concurrent_calls` calls run at once.
fn engine() -> Result<&'static Engine, Error> {
    static ENGINE: OnceLock<Result<Engine, String>> = OnceLock::new();
    let limits = process_limits()?;
    ENGINE
        .get_or_init(|| {
            let calls = limits.max_concurrent_calls;
            let mut pool = wasmtime::PoolingAllocationConfig::new();
            pool.total_component_instances(calls)
                .max_core_instances_per_component(POOL_CORE_INSTANCES)
                .total_core_instances(calls * POOL_CORE_INSTANCES)
                .max_memories_per_component(POOL_MEMORIES)
                .total_memories(calls * POOL_MEMORIES)
                .max_tables_per_component(POOL_TABLES)
                .total_tables(calls * POOL_TABLES)
                .max_memory_size(limits.max_memory_bytes)
                .table_elements(limits.max_table_elements);
            let mut config = wasmtime::Config::new();
            config.wasm_component_model(true);
            config.concurrency_support(false);
            config.epoch_interruption(true);
            config.allocation_strategy(wasmtime::InstanceAllocationStrategy::Pooling(pool));
            let engine = Engine::new(&config).map_err(|error| format!("{error:#}"))?;
            start_epoch_ticker(engine.weak());
            Ok(engine)
        })
        .as_ref()
        .map_err(|reason| Error::PolicyLoad {
            origin: "engine".to_string(),
            reason: reason.clone(),
        })
}

/// Advances the engine's epoch every [`state::EPOCH_TICK`] for as long as the engine lives,
/// so call deadlines can interrupt a policy that runs too long.
fn start_epoch_ticker(engine: wasmtime::EngineWeak) {
    let spawned = std::thread::Builder::new()
        .name("policy-epoch".to_string())
        .spawn(move || {
            while let Some(engine) = engine.upgrade() {
                engine.increment_epoch();
                drop(engine);
                std::thread::sleep(state::EPOCH_TICK);
            }
        });
    if let Err(error) = spawned {
        tracing::error!(%error, "cannot start the policy deadline ticker; calls have no deadline");
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
        let engine = engine()?.clone();
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

    /// Runs `body` against a fresh instance in a fresh store lending only secrets.
    fn call<R>(
        &self,
        function: &'static str,
        body: impl FnOnce(&Common, &mut Store<HostState>) -> wasmtime::Result<R>,
    ) -> Result<R, Error> {
        self.call_with(function, self.lend_secrets(), body)
            .map(|(result, _)| result)
    }

    /// What every call is lent: the policy's secret source and nothing else.
    fn lend_secrets(&self) -> Capabilities {
        Capabilities {
            secrets: Arc::clone(&self.secrets),
            areas: None,
            metrics: None,
            pose: None,
            dry_run: false,
            cancel: None,
        }
    }

    /// Runs `body` against a fresh instance in a fresh store lending `capabilities`, and
    /// returns what the host saw the policy do. A call that broke the host's rules fails,
    /// whatever it returned.
    fn call_with<R>(
        &self,
        function: &'static str,
        capabilities: Capabilities,
        body: impl FnOnce(&Common, &mut Store<HostState>) -> wasmtime::Result<R>,
    ) -> Result<(R, Audit), Error> {
        let mut store = Store::new(&self.engine, HostState::new(&self.limits, capabilities));
        store.limiter(|state| &mut state.limits);
        // The deadline is checked every few ticks: the policy is charged only for its own
        // time (time inside host capabilities, such as removal I/O, is not), and a cancelled
        // call stops at the next check even in a loop that never calls the host.
        let timeout = Duration::from_millis(self.limits.timeout_ms);
        let started = Instant::now();
        store.set_epoch_deadline(self.limits.deadline_ticks().min(state::CHECK_TICKS));
        store.epoch_deadline_callback(move |mut context| {
            let state = context.data();
            if state.cancelled() {
                return Err(state::Cancelled.into());
            }
            let own = started.elapsed().saturating_sub(state.host_time);
            if own >= timeout {
                context.data_mut().deadline_exceeded = true;
                return Ok(UpdateDeadline::Interrupt);
            }
            let left = state::ticks_for(timeout - own);
            Ok(UpdateDeadline::Continue(left.min(state::CHECK_TICKS)))
        });
        let result = self
            .pre
            .instantiate(&mut store)
            .and_then(|instance| body(&instance, &mut store));
        // The store (and the instance in it) is dropped below, trapped or not: the next call
        // starts from a fresh instance.
        let state = store.into_data();
        if let Some(violations) = state.audit.summary() {
            return Err(self.violation(function, violations));
        }
        match result {
            Ok(value) => Ok((value, state.audit)),
            Err(_) if state.cancelled() => Err(Error::Cancelled {
                function,
                files_removed: state.audit.removed_files(),
                bytes_freed: state.audit.removed_bytes(),
            }),
            Err(error) => Err(self.call_failure(
                function,
                &error,
                state.limits.memory_refused,
                state.deadline_exceeded,
                state.stderr_tail(),
            )),
        }
    }

    /// The error for a call that broke the host's rules or answered nonsense.
    fn violation(&self, function: &'static str, reason: String) -> Error {
        Error::PolicyViolation {
            origin: self.origin.to_string(),
            sha256: self.sha256[..12].to_string(),
            function,
            reason,
        }
    }

    /// Turns a failed call into a typed error: deadline and memory cap are resource errors;
    /// anything else carries the trap and the end of what the policy wrote to stderr.
    fn call_failure(
        &self,
        function: &'static str,
        error: &wasmtime::Error,
        memory_refused: bool,
        deadline_exceeded: bool,
        stderr: Option<String>,
    ) -> Error {
        let trap = error.downcast_ref::<wasmtime::Trap>().copied();
        let policy = format!("policy {} (sha256 {})", self.origin, &self.sha256[..12]);
        if deadline_exceeded || trap == Some(wasmtime::Trap::Interrupt) {
            return Error::App(AppError::Resource {
                message: format!(
                    "{policy} exceeded its {} ms deadline in `{function}` and was stopped",
                    self.limits.timeout_ms
                ),
                resource_type: Some("cpu".to_string()),
                details: vec![("function".to_string(), function.to_string())],
            });
        }
        if memory_refused {
            return Error::App(AppError::Resource {
                message: format!(
                    "{policy} exceeded its memory limit of {} bytes in `{function}` and was \
                     stopped (BACHATA_POLICY_MAX_MEMORY_MB raises it)",
                    self.limits.max_memory_bytes
                ),
                resource_type: Some("memory".to_string()),
                details: vec![("function".to_string(), function.to_string())],
            });
        }
        // One line: the trap (or the error chain); the wasm backtrace goes to the debug log.
        tracing::debug!(policy = %self.origin, function, error = ?error, "policy call failed");
        let mut reason = match trap {
            Some(trap) => trap.to_string(),
            None => format!("{error:#}").replace('\n', " "),
        };
        if let Some(stderr) = stderr {
            reason.push_str(&format!("; the policy wrote: {stderr}"));
        }
        Error::PolicyCall {
            origin: self.origin.to_string(),
            sha256: self.sha256[..12].to_string(),
            function,
            reason,
        }
    }

    /// Instantiates the component in a fresh store and drops it: what every call pays before
    /// its function runs.
    pub fn instantiate(&self) -> Result<(), Error> {
        self.call("instantiate", |_, _| Ok(()))
    }

    /// The end-user message for an error code and type.
    pub fn user_friendly_message(
        &self,
        error_code: &str,
        error_type: &str,
    ) -> Result<String, Error> {
        self.call("errors.user-friendly-message", |instance, store| {
            instance
                .bachata_common_errors()
                .call_user_friendly_message(store, error_code, error_type)
        })
    }

    /// Builds an error through the policy's `errors.make-error`, from `error`'s kind (with its
    /// context), message and details.
    pub fn make_error(&self, error: &AppError) -> Result<BuiltError, Error> {
        let kind = wit::AppError::from(error).kind;
        let built = self.call("errors.make-error", |instance, store| {
            instance.bachata_common_errors().call_make_error(
                store,
                &kind,
                error.message(),
                error.details(),
            )
        })?;
        Ok(BuiltError {
            error_code: built.error_code.clone(),
            message: built.message.clone(),
            details: built.details.clone(),
            error: AppError::from(built),
        })
    }

    /// Every catalog entry.
    pub fn catalog(&self) -> Result<Vec<CatalogEntry>, Error> {
        let entries = self.call("errors.catalog", |instance, store| {
            instance.bachata_common_errors().call_catalog(store)
        })?;
        Ok(entries.into_iter().map(CatalogEntry::from).collect())
    }

    /// The HTTP status for an error code, as the policy decides it.
    pub fn http_status(&self, error_code: &str) -> Result<u16, Error> {
        self.call("errors.http-status", |instance, store| {
            instance
                .bachata_common_errors()
                .call_http_status(store, error_code)
        })
    }

    /// Renders `error` as an RFC 9457 `application/problem+json` document.
    pub fn problem_json(
        &self,
        error: &AppError,
        error_type: Option<&str>,
        instance_uri: Option<&str>,
    ) -> Result<String, Error> {
        let wit_error = wit::AppError::from(error);
        self.call("errors.problem-json", |instance, store| {
            instance.bachata_common_errors().call_problem_json(
                store,
                &wit_error,
                error_type,
                instance_uri,
            )
        })
    }

    /// Resolves configuration from environment pairs and optional `.env` text.
    pub fn load_config(
        &self,
        env: &[(String, String)],
        dotenv: Option<&str>,
    ) -> Result<Result<Config, ConfigFailure>, Error> {
        let outcome = self.call("config.load", |instance, store| {
            instance
                .bachata_common_config()
                .call_load(store, env, dotenv)
        })?;
        Ok(outcome.map(Config::from).map_err(ConfigFailure::from))
    }
}

impl Policy {
    /// Runs the cleanup policy over `areas`, lending `metrics` for `host-metrics` (without
    /// them the policy sees an all-zero snapshot).
    #[allow(clippy::too_many_arguments, reason = "one per input of `cleanup.run`")]
    pub fn cleanup(
        &self,
        areas: &Arc<Areas>,
        metrics: Option<&Arc<Metrics>>,
        settings: &CleanupSettings,
        now: u64,
        force: bool,
        dry_run: bool,
    ) -> Result<CleanupReport, Error> {
        self.cleanup_cancellable(areas, metrics, settings, now, force, dry_run, None)
    }

    /// [`cleanup`](Self::cleanup) that stops when `cancel` is set: at the next scan, removal
    /// batch (between two paths) or deadline check. A stopped call is [`Error::Cancelled`],
    /// with what was removed until then.
    #[allow(clippy::too_many_arguments, reason = "one per input of `cleanup.run`")]
    pub fn cleanup_cancellable(
        &self,
        areas: &Arc<Areas>,
        metrics: Option<&Arc<Metrics>>,
        settings: &CleanupSettings,
        now: u64,
        force: bool,
        dry_run: bool,
        cancel: Option<Arc<AtomicBool>>,
    ) -> Result<CleanupReport, Error> {
        let wit_settings = settings.to_wit();
        let lend = Capabilities {
            areas: Some(Arc::clone(areas)),
            metrics: metrics.cloned(),
            dry_run,
            cancel,
            ..self.lend_secrets()
        };
        let (outcome, audit) = self.call_with("cleanup.run", lend, |instance, store| {
            instance
                .bachata_common_cleanup()
                .call_run(store, wit_settings, now, force, dry_run)
        })?;
        let report = outcome
            .map(CleanupReport::from)
            .map_err(|error| Error::App(error.into()))?;
        report.check(dry_run, &audit.removed).map_err(|reason| {
            self.violation(
                "cleanup.run",
                format!("returned an impossible report: {reason}"),
            )
        })?;
        Ok(report)
    }

    /// Detects people in a batch of prepared frames (the policy calls back for inference).
    pub(crate) fn detect_pose(
        &self,
        batch: &Arc<crate::pose::PoseBatch>,
        config: &crate::config::YoloConfig,
    ) -> Result<Vec<Vec<crate::pose::Person>>, Error> {
        let frames: Vec<wit::pose::Frame> = batch
            .frames
            .iter()
            .enumerate()
            .map(|(id, frame)| wit::pose::Frame {
                id: id as u32,
                width: frame.width,
                height: frame.height,
                scale: frame.scale,
                pad_x: frame.pad_x,
                pad_y: frame.pad_y,
            })
            .collect();
        let cfg = config.to_wit();
        let lend = Capabilities {
            pose: Some(Arc::clone(batch)),
            ..self.lend_secrets()
        };
        let (outcome, _) = self.call_with("pose.detect", lend, |instance, store| {
            instance
                .bachata_common_pose()
                .call_detect(store, &frames, &cfg)
        })?;
        let people = outcome.map_err(|error| Error::App(error.into()))?;
        Ok(people
            .into_iter()
            .map(|frame| frame.into_iter().map(crate::pose::Person::from).collect())
            .collect())
    }

    /// Judges a resource snapshot against the thresholds.
    pub fn assess(
        &self,
        settings: &CleanupSettings,
        snapshot: &SystemResources,
    ) -> Result<Assessment, Error> {
        let wit_settings = settings.to_wit();
        let wit_snapshot = state::to_wit_snapshot(snapshot);
        let assessment = self.call("cleanup.assess", |instance, store| {
            instance
                .bachata_common_cleanup()
                .call_assess(store, wit_settings, &wit_snapshot)
        })?;
        let assessment = Assessment::from(assessment);
        assessment.check().map_err(|reason| {
            self.violation(
                "cleanup.assess",
                format!("returned an impossible assessment: {reason}"),
            )
        })?;
        Ok(assessment)
    }
}

/// An error as the policy's catalog built it (`errors.make-error`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuiltError {
    /// The stable machine code the policy gave.
    pub error_code: String,
    /// The message.
    pub message: String,
    /// The details in the policy's order (the kind's context first).
    pub details: crate::error::Details,
    /// The same error as the host's type.
    pub error: AppError,
}

/// One entry of the error catalog.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CatalogEntry {
    /// The machine code.
    pub error_code: String,
    /// The situation within the code (`default` for the general message).
    pub error_type: String,
    /// The end-user message.
    pub message: String,
    /// The HTTP status for the code.
    pub http_status: u16,
}

impl From<wit::CatalogEntry> for CatalogEntry {
    fn from(entry: wit::CatalogEntry) -> Self {
        Self {
            error_code: entry.error_code,
            error_type: entry.error_type,
            message: entry.message,
            http_status: entry.http_status,
        }
    }
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

#[cfg(test)]
mod limit_tests {
    use super::*;

    #[test]
    fn memory_cap_is_a_resource_error_and_the_next_call_starts_fresh() {
        let tight = Limits {
            max_memory_bytes: 64 << 10,
            ..Limits::default()
        };
        let policy = Policy::embedded().expect("policy").with_limits(tight);
        match policy.catalog() {
            Err(Error::App(AppError::Resource {
                resource_type,
                message,
                ..
            })) => {
                assert_eq!(resource_type.as_deref(), Some("memory"));
                assert!(message.contains("memory limit of 65536 bytes"), "{message}");
                assert!(message.contains("embedded"), "{message}");
            }
            other => panic!("expected a memory resource error, got {other:?}"),
        }
        let policy = policy.with_limits(process_limits().expect("limits").clone());
        assert_eq!(policy.catalog().expect("fresh instance").len(), 37);
    }

    /// A secret store that takes `delay` to answer, like a slow network.
    struct SlowSecrets {
        delay: Duration,
    }

    impl SecretSource for SlowSecrets {
        fn access(&self, _project: &str, name: &str) -> Result<Option<String>, String> {
            std::thread::sleep(self.delay);
            Ok(Some(match name {
                "elasticsearch-port" => "9243".to_string(),
                _ => format!("value-of-{name}"),
            }))
        }
    }

    fn cloud_env() -> Vec<(String, String)> {
        [("ENVIRONMENT", "cloud"), ("GCP_PROJECT_ID", "p")]
            .iter()
            .map(|(name, value)| (name.to_string(), value.to_string()))
            .collect()
    }

    #[test]
    fn time_inside_host_capabilities_is_not_charged_to_the_deadline() {
        // Five secrets of 150 ms each: 750 ms in the host, far past a 200 ms deadline that
        // the policy's own work stays well within.
        let policy = Policy::embedded()
            .expect("policy")
            .with_secrets(Arc::new(SlowSecrets {
                delay: Duration::from_millis(150),
            }))
            .with_limits(Limits {
                timeout_ms: 200,
                ..Limits::default()
            });
        let config = policy
            .load_config(&cloud_env(), None)
            .expect("the call is not interrupted")
            .expect("valid configuration");
        assert_eq!(config.elasticsearch.port, 9243);
    }

    #[test]
    fn a_cancelled_cleanup_stops_with_what_it_removed() {
        let dir = tempfile::tempdir().expect("tempdir");
        let areas =
            Arc::new(Areas::open(&dir.path().join("data"), &["temp".to_string()]).expect("areas"));
        std::fs::write(dir.path().join("data/temp/a"), b"abc").expect("write");
        let cancel = Arc::new(AtomicBool::new(true));
        let policy = Policy::embedded().expect("policy");
        let outcome = policy.cleanup_cancellable(
            &areas,
            None,
            &CleanupSettings::default(),
            crate::capabilities::fs::now_secs(),
            true,
            false,
            Some(cancel),
        );
        match outcome {
            Err(Error::Cancelled { files_removed, .. }) => assert_eq!(files_removed, 0),
            other => panic!("expected a cancellation, got {other:?}"),
        }
        assert!(dir.path().join("data/temp/a").exists());
    }

    #[test]
    fn an_interrupted_call_is_a_cpu_resource_error() {
        let policy = Policy::embedded().expect("policy");
        let trap = wasmtime::Error::from(wasmtime::Trap::Interrupt);
        match policy.call_failure("cleanup.run", &trap, false, false, None) {
            Error::App(AppError::Resource {
                resource_type,
                message,
                ..
            }) => {
                assert_eq!(resource_type.as_deref(), Some("cpu"));
                assert!(message.contains("5000 ms deadline"), "{message}");
                assert!(message.contains("cleanup.run"), "{message}");
            }
            other => panic!("expected a cpu resource error, got {other:?}"),
        }
        let other = wasmtime::Error::from(wasmtime::Trap::UnreachableCodeReached);
        assert!(matches!(
            policy.call_failure("errors.catalog", &other, false, false, None),
            Error::PolicyCall { .. }
        ));
    }

    #[test]
    fn limits_from_the_environment() {
        let vars = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                pairs
                    .iter()
                    .find(|(key, _)| *key == name)
                    .map(|(_, value)| value.to_string())
            }
        };
        assert_eq!(Limits::from_vars(vars(&[])), Ok(Limits::default()));
        let set = Limits::from_vars(vars(&[
            ("BACHATA_POLICY_TIMEOUT_MS", "250"),
            ("BACHATA_POLICY_MAX_MEMORY_MB", "16"),
            ("BACHATA_POLICY_MAX_CONCURRENT_CALLS", "4"),
        ]))
        .expect("valid");
        assert_eq!(
            (
                set.timeout_ms,
                set.max_memory_bytes,
                set.max_concurrent_calls
            ),
            (250, 16 << 20, 4)
        );
        for (name, value) in [
            ("BACHATA_POLICY_TIMEOUT_MS", "0"),
            ("BACHATA_POLICY_TIMEOUT_MS", "5s"),
            ("BACHATA_POLICY_MAX_MEMORY_MB", "-1"),
            ("BACHATA_POLICY_MAX_MEMORY_MB", "9999"),
            ("BACHATA_POLICY_MAX_CONCURRENT_CALLS", ""),
        ] {
            let reason =
                Limits::from_vars(|asked: &str| (asked == name).then(|| value.to_string()))
                    .expect_err(value);
            assert!(reason.starts_with(name), "{reason}");
            assert!(reason.contains("whole number"), "{reason}");
        }
    }

    #[test]
    fn deadline_ticks() {
        let limits = Limits::default();
        assert_eq!(limits.deadline_ticks(), 100);
        let tiny = Limits {
            timeout_ms: 1,
            ..Limits::default()
        };
        assert_eq!(tiny.deadline_ticks(), 1);
    }
}
