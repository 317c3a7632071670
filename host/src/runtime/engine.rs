//! The process-wide wasmtime engine: the pooling allocator sized by the process's limits and
//! the epoch ticker that call deadlines count on.

use std::sync::OnceLock;

use wasmtime::Engine;

use super::limits::{EPOCH_TICK, Limits};
use crate::types::error::{AppError, Error};

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

/// Environment variable: `1` writes a perf map of the compiled policy code.
pub const PERFMAP_VAR: &str = "BACHATA_PERFMAP";

/// Per component instance: most core instances, memories and tables the pool reserves room
/// for. The stock component needs fewer; a component needing more is refused at load.
const POOL_CORE_INSTANCES: u32 = 32;
const POOL_MEMORIES: u32 = 4;
const POOL_TABLES: u32 = 8;

/// The process-wide engine: compiled code is shareable between all policies. Instances come
/// from a pre-allocated pool sized by [`process_limits`]: each memory slot holds at most the
/// memory cap, and at most `max_concurrent_calls` calls run at once (with room besides for
/// the warm instances waiting, [`super::warm::MAX_IDLE`]).
pub(crate) fn engine() -> Result<&'static Engine, Error> {
    static ENGINE: OnceLock<Result<Engine, String>> = OnceLock::new();
    let limits = process_limits()?;
    ENGINE
        .get_or_init(|| {
            // Room for the calls running at once and the warm instances waiting.
            let calls = limits.max_concurrent_calls + super::warm::MAX_IDLE;
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
            // `BACHATA_PERFMAP=1` names the policy's compiled functions for `perf`
            // (/tmp/perf-<pid>.map), to see where a call spends its time.
            if std::env::var_os(PERFMAP_VAR).is_some_and(|value| value == "1") {
                match create_perf_map() {
                    Ok(()) => {
                        config.profiler(wasmtime::ProfilingStrategy::PerfMap);
                    }
                    Err(error) => tracing::warn!(
                        %error,
                        "{PERFMAP_VAR}=1: cannot create a new /tmp/perf-<pid>.map; profiling stays off"
                    ),
                }
            }
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

/// Creates this process's perf map, new and readable by its owner only, before wasmtime
/// appends to it: a file, link or directory already at that path is refused, never followed.
fn create_perf_map() -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt as _;
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(format!("/tmp/perf-{}.map", std::process::id()))
        .map(drop)
}

/// Advances the engine's epoch every [`EPOCH_TICK`] for as long as the engine lives,
/// so call deadlines can interrupt a policy that runs too long.
fn start_epoch_ticker(engine: wasmtime::EngineWeak) {
    let spawned = std::thread::Builder::new()
        .name("policy-epoch".to_string())
        .spawn(move || {
            while let Some(engine) = engine.upgrade() {
                engine.increment_epoch();
                drop(engine);
                std::thread::sleep(EPOCH_TICK);
            }
        });
    if let Err(error) = spawned {
        tracing::error!(%error, "cannot start the policy deadline ticker; calls have no deadline");
    }
}
