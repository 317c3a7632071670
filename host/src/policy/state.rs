//! The per-call store state: a deny-all WASI context, limits and the host capabilities.

use std::sync::Arc;

use wasmtime::{StoreLimits, StoreLimitsBuilder};
use wasmtime_wasi::{ResourceTable, WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};

use super::bindings::bachata::common::{host_secrets, types};
use crate::capabilities::secrets::SecretSource;

/// Resource limits applied to every policy call.
///
/// The defaults are generous for configuration and catalog work and small enough that a
/// runaway policy cannot hurt the host.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Limits {
    /// Most linear memory one instance may grow to, in bytes (default 64 MiB).
    pub max_memory_bytes: usize,
    /// Most instances one call may create (default 32).
    pub max_instances: usize,
    /// Most tables one call may create (default 32).
    pub max_tables: usize,
    /// Most elements a table may hold (default 100,000).
    pub max_table_elements: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_memory_bytes: 64 << 20,
            max_instances: 32,
            max_tables: 32,
            max_table_elements: 100_000,
        }
    }
}

/// What a store holds for one call.
pub(crate) struct HostState {
    wasi: WasiCtx,
    table: ResourceTable,
    pub(crate) limits: StoreLimits,
    secrets: Arc<dyn SecretSource>,
}

impl HostState {
    pub(crate) fn new(limits: &Limits, secrets: Arc<dyn SecretSource>) -> Self {
        // No preopens, no environment, no arguments, no network, stdin closed and
        // stdout/stderr discarded: the policy sees only what the host passes explicitly.
        let wasi = WasiCtxBuilder::new()
            .allow_tcp(false)
            .allow_udp(false)
            .allow_ip_name_lookup(false)
            .build();
        let limits = StoreLimitsBuilder::new()
            .memory_size(limits.max_memory_bytes)
            .instances(limits.max_instances)
            .tables(limits.max_tables)
            .table_elements(limits.max_table_elements)
            .build();
        Self {
            wasi,
            table: ResourceTable::new(),
            limits,
            secrets,
        }
    }
}

impl WasiView for HostState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl types::Host for HostState {}

impl host_secrets::Host for HostState {
    fn access(&mut self, project: String, name: String) -> Result<Option<String>, String> {
        self.secrets.access(&project, &name)
    }
}
