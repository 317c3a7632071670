//! How a call into the policy runs: a store with a deny-all WASI context, the limits, the
//! capabilities lent and a deadline that counts only the policy's own time (fresh for a call
//! lending capabilities, warm for a pure one: [`super::warm`]); what a failed or
//! rule-breaking call becomes.

use std::sync::Arc;
use std::time::{Duration, Instant};

use wasmtime::{Store, UpdateDeadline};

use super::Policy;
use super::concern::Concern;
use super::limits;
use super::part::{Exports, Part};
use super::state::{self, Audit, Capabilities, HostState};
use super::warm::Warm;
use crate::types::error::{AppError, Error};

/// The `resource_type` of a call refused because the instance pool is full.
pub const POOL_RESOURCE: &str = "policy-instances";

impl Policy {
    /// Runs `body` lending only secrets, in a warm instance of this policy when one waits
    /// (see [`super::warm`]), else in a fresh one; a call that ends cleanly leaves its
    /// instance for the next.
    pub(super) fn call<R>(
        &self,
        function: &'static str,
        body: impl FnOnce(&Exports<'_>, &mut Store<HostState>) -> wasmtime::Result<R>,
    ) -> Result<R, Error> {
        self.call_judged(function, body, Ok)
    }

    /// [`Policy::call`] with the host's judgement of the answer: `judge` turns it into what
    /// the caller gets, or refuses it (the policy broke a rule of the contract, or answered an
    /// error); the call then fails with that error and its instance is dropped, not reused.
    pub(super) fn call_judged<R, T>(
        &self,
        function: &'static str,
        body: impl FnOnce(&Exports<'_>, &mut Store<HostState>) -> wasmtime::Result<R>,
        judge: impl FnOnce(R) -> Result<T, Error>,
    ) -> Result<T, Error> {
        let concern = Concern::of_function(function).unwrap_or(Concern::Errors);
        let index = self.routes[concern.index()];
        let part = &self.parts[index];
        let capabilities = self.lend_secrets();
        let (mut store, waiting, loaded) = match self.warm.take(index) {
            Some(Warm {
                mut store,
                instance,
                loaded,
            }) => {
                store.data_mut().next_call(capabilities);
                (store, Some(instance), loaded)
            }
            None => (self.new_store(capabilities), None, Box::default()),
        };
        self.arm_deadline(&mut store);
        let instance = match waiting {
            Some(instance) => Ok(instance),
            None => part.pre.instantiate(&mut store),
        };
        let result = instance.and_then(|instance| {
            let exports = Exports {
                part,
                instance,
                loaded: Some(&loaded),
            };
            body(&exports, &mut store).map(|value| (value, instance))
        });
        match result {
            Ok((value, instance)) if store.data().clean() => {
                log_finished(function, store.data());
                let value = judge(value)?;
                self.warm.put(
                    index,
                    Warm {
                        store,
                        instance,
                        loaded,
                    },
                );
                Ok(value)
            }
            result => {
                let result = result.map(|(value, _)| value);
                let value = self
                    .outcome(part, function, result, store.into_data())
                    .map(|(value, _)| value)?;
                judge(value)
            }
        }
    }

    /// What every call is lent: the policy's secret source and nothing else.
    pub(super) fn lend_secrets(&self) -> Capabilities {
        Capabilities {
            secrets: Arc::clone(&self.secrets),
            areas: None,
            metrics: None,
            pose: None,
            dry_run: false,
            max_samples: state::DEFAULT_SAMPLES,
            removals_log: None,
            progress: None,
            cancel: None,
        }
    }

    /// Runs `body` against a fresh instance in a fresh store lending `capabilities`, and
    /// returns what the host saw the policy do. A call that broke the host's rules fails,
    /// whatever it returned.
    pub(super) fn call_with<R>(
        &self,
        function: &'static str,
        capabilities: Capabilities,
        body: impl FnOnce(&Exports<'_>, &mut Store<HostState>) -> wasmtime::Result<R>,
    ) -> Result<(R, Audit), Error> {
        let concern = Concern::of_function(function).unwrap_or(Concern::Errors);
        self.call_part(self.part(concern), function, capabilities, body)
    }

    /// A store for one call: the policy's limits, `capabilities` lent.
    fn new_store(&self, capabilities: Capabilities) -> Store<HostState> {
        let mut store = Store::new(&self.engine, HostState::new(&self.limits, capabilities));
        store.limiter(|state| &mut state.limits);
        store
    }

    /// Starts the call's deadline. It is checked every few ticks: the policy is charged only
    /// for its own time (time inside host capabilities, such as removal I/O, is not), and a
    /// cancelled call stops at the next check even in a loop that never calls the host.
    fn arm_deadline(&self, store: &mut Store<HostState>) {
        let timeout = Duration::from_millis(self.limits.timeout_ms);
        let started = Instant::now();
        store.set_epoch_deadline(self.limits.deadline_ticks().min(limits::CHECK_TICKS));
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
            let left = limits::ticks_for(timeout - own);
            Ok(UpdateDeadline::Continue(left.min(limits::CHECK_TICKS)))
        });
    }

    /// A call of `function` on one component of the set, in a fresh instance.
    fn call_part<R>(
        &self,
        part: &Part,
        function: &'static str,
        capabilities: Capabilities,
        body: impl FnOnce(&Exports<'_>, &mut Store<HostState>) -> wasmtime::Result<R>,
    ) -> Result<(R, Audit), Error> {
        let mut store = self.new_store(capabilities);
        self.arm_deadline(&mut store);
        let result = part.pre.instantiate(&mut store).and_then(|instance| {
            let exports = Exports {
                part,
                instance,
                loaded: None,
            };
            body(&exports, &mut store)
        });
        // The store (and the instance in it) is dropped here, trapped or not: the next call
        // starts from a fresh instance.
        self.outcome(part, function, result, store.into_data())
    }

    /// What a call that ran in a store now dropped amounts to: its value and audit, or the
    /// error for a broken rule, a cancellation, a breached limit or a failure.
    fn outcome<R>(
        &self,
        part: &Part,
        function: &'static str,
        result: wasmtime::Result<R>,
        state: HostState,
    ) -> Result<(R, Audit), Error> {
        log_finished(function, &state);
        if let Some(violations) = state.audit.summary() {
            return Err(violation(part, function, violations));
        }
        match result {
            Ok(value) => Ok((value, state.audit)),
            Err(_) if state.cancelled() => Err(Error::Cancelled {
                function,
                files_removed: state.audit.removed_files(),
                bytes_freed: state.audit.removed_bytes(),
            }),
            Err(error) => Err(self.call_failure(
                part,
                function,
                &error,
                state.limits.memory_refused,
                state.deadline_exceeded,
                state.stderr_tail(),
            )),
        }
    }

    /// The error for a call that broke the host's rules or answered nonsense.
    /// A rule broken by the component answering `function`'s concern.
    pub(super) fn violation(&self, function: &'static str, reason: String) -> Error {
        let concern = Concern::of_function(function).unwrap_or(Concern::Errors);
        violation(self.part(concern), function, reason)
    }

    pub(super) fn call_failure(
        &self,
        part: &Part,
        function: &'static str,
        error: &wasmtime::Error,
        memory_refused: bool,
        deadline_exceeded: bool,
        stderr: Option<String>,
    ) -> Error {
        let trap = error.downcast_ref::<wasmtime::Trap>().copied();
        let policy = format!("policy {} (sha256 {})", part.origin, &part.sha256[..12]);
        if error
            .downcast_ref::<wasmtime::PoolConcurrencyLimitError>()
            .is_some()
        {
            // The host's pool is full: not the policy's fault; another try may find room.
            return Error::App(AppError::Resource {
                message: format!(
                    "too many policy calls at once: `{function}` found no free instance \
                     (BACHATA_POLICY_MAX_CONCURRENT_CALLS raises the pool); try again shortly"
                ),
                resource_type: Some(POOL_RESOURCE.to_string()),
                details: vec![("function".to_string(), function.to_string())],
            });
        }
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
        tracing::debug!(policy = %part.origin, function, error = ?error, "policy call failed");
        let mut reason = match trap {
            Some(trap) => trap.to_string(),
            None => format!("{error:#}").replace('\n', " "),
        };
        if let Some(stderr) = stderr {
            reason.push_str(&format!("; the policy wrote: {stderr}"));
        }
        Error::PolicyCall {
            origin: part.origin.to_string(),
            sha256: part.sha256[..12].to_string(),
            function,
            reason,
        }
    }

    /// Instantiates the component in a fresh store and drops it: what every call pays before
    /// its function runs.
    pub fn instantiate(&self) -> Result<(), Error> {
        for part in &self.parts {
            self.call_part(part, "instantiate", self.lend_secrets(), |_, _| Ok(()))?;
        }
        Ok(())
    }
}

/// The debug line of a finished call: its peak memory and its time inside host capabilities.
fn log_finished(function: &'static str, state: &HostState) {
    tracing::debug!(
        function,
        peak_memory_bytes = state.limits.peak_memory,
        host_ms = state.host_time.as_millis() as u64,
        "policy call finished"
    );
}

/// A rule broken by `part` in `function`.
fn violation(part: &Part, function: &'static str, reason: String) -> Error {
    Error::PolicyViolation {
        origin: part.origin.to_string(),
        sha256: part.sha256[..12].to_string(),
        function,
        reason,
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicBool;

    use super::*;
    use crate::capabilities::fs::Areas;
    use crate::capabilities::secrets::SecretSource;
    use crate::runtime::CleanupOptions;
    use crate::runtime::engine::process_limits;
    use crate::runtime::limits::Limits;
    use crate::types::cleanup::CleanupSettings;

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
        let options = CleanupOptions {
            force: true,
            ..CleanupOptions::default()
        };
        let outcome = policy.cleanup_with(
            &areas,
            None,
            &CleanupSettings::default(),
            crate::capabilities::fs::now_secs(),
            &options,
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
        match policy.call_failure(
            policy.part(Concern::Cleanup),
            "cleanup.run",
            &trap,
            false,
            false,
            None,
        ) {
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
            policy.call_failure(
                policy.part(Concern::Errors),
                "errors.catalog",
                &other,
                false,
                false,
                None
            ),
            Error::PolicyCall { .. }
        ));
    }
}
