//! The per-call store state: a deny-all WASI context, limits and the host capabilities.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use wasmtime::{ResourceLimiter, StoreLimits, StoreLimitsBuilder};
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::{ResourceTable, WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};

use super::bindings::bachata::common::{host_fs, host_metrics, host_pose, host_secrets, types};
use crate::capabilities::fs::{self, Areas, CallContext, ScanFailure};
use crate::capabilities::metrics::{self, Metrics};
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
    /// Longest a single call may run, in milliseconds (default 5,000); measured in
    /// [`EPOCH_TICK`] steps of the engine's epoch.
    pub timeout_ms: u64,
    /// Most calls running at once in the process (default 32): the size of the engine's
    /// pre-allocated instance pool. Read once, when the engine starts; a call beyond it
    /// fails with a clear error rather than allocating more.
    pub max_concurrent_calls: u32,
}

/// How often the engine's epoch advances; call deadlines are counted in these ticks.
pub const EPOCH_TICK: std::time::Duration = std::time::Duration::from_millis(50);

/// How often, in epoch ticks, a running call's deadline and cancel switch are checked.
pub(crate) const CHECK_TICKS: u64 = 4;

/// `duration` in epoch ticks, at least one.
pub(crate) fn ticks_for(duration: std::time::Duration) -> u64 {
    u64::try_from(duration.as_millis() / EPOCH_TICK.as_millis())
        .unwrap_or(u64::MAX)
        .max(1)
}

/// Environment variable: call deadline in milliseconds.
pub const TIMEOUT_VAR: &str = "BACHATA_POLICY_TIMEOUT_MS";
/// Environment variable: memory cap of one call in MiB.
pub const MEMORY_VAR: &str = "BACHATA_POLICY_MAX_MEMORY_MB";
/// Environment variable: most policy calls running at once (the instance pool's size).
pub const CONCURRENCY_VAR: &str = "BACHATA_POLICY_MAX_CONCURRENT_CALLS";

/// Reads an integer setting in `range` from `value`, naming the variable when it is wrong.
fn parse_setting(
    name: &str,
    value: &str,
    range: std::ops::RangeInclusive<u64>,
) -> Result<u64, String> {
    value
        .trim()
        .parse::<u64>()
        .ok()
        .filter(|number| range.contains(number))
        .ok_or_else(|| {
            format!(
                "{name}={value:?} is invalid: expected a whole number from {} to {}",
                range.start(),
                range.end()
            )
        })
}

impl Limits {
    /// The defaults, changed by `BACHATA_POLICY_TIMEOUT_MS` (1 to 600000),
    /// `BACHATA_POLICY_MAX_MEMORY_MB` (1 to 4096) and `BACHATA_POLICY_MAX_CONCURRENT_CALLS`
    /// (1 to 1024) when `var` (usually the process environment) sets them.
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Result<Self, String> {
        let mut limits = Self::default();
        if let Some(value) = var(TIMEOUT_VAR) {
            limits.timeout_ms = parse_setting(TIMEOUT_VAR, &value, 1..=600_000)?;
        }
        if let Some(value) = var(MEMORY_VAR) {
            let mib = parse_setting(MEMORY_VAR, &value, 1..=4096)?;
            limits.max_memory_bytes = usize::try_from(mib << 20).map_err(|_| {
                format!("{MEMORY_VAR}={value:?} is more than this machine can address")
            })?;
        }
        if let Some(value) = var(CONCURRENCY_VAR) {
            limits.max_concurrent_calls = parse_setting(CONCURRENCY_VAR, &value, 1..=1024)? as u32;
        }
        Ok(limits)
    }

    /// The call deadline in epoch ticks (at least one).
    pub(crate) fn deadline_ticks(&self) -> u64 {
        ticks_for(std::time::Duration::from_millis(self.timeout_ms))
    }
}

/// The store's limiter: wasmtime's `StoreLimits`, remembering whether it refused memory, so a
/// trap that follows can be reported as the memory cap it is.
pub(crate) struct CallLimiter {
    inner: StoreLimits,
    pub(crate) memory_refused: bool,
}

impl ResourceLimiter for CallLimiter {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let allowed = self.inner.memory_growing(current, desired, maximum)?;
        if !allowed {
            self.memory_refused = true;
        }
        Ok(allowed)
    }

    fn table_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        self.inner.table_growing(current, desired, maximum)
    }

    fn instances(&self) -> usize {
        self.inner.instances()
    }

    fn tables(&self) -> usize {
        self.inner.tables()
    }

    fn memories(&self) -> usize {
        self.inner.memories()
    }
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_memory_bytes: 64 << 20,
            max_instances: 32,
            max_tables: 32,
            max_table_elements: 100_000,
            timeout_ms: 5_000,
            max_concurrent_calls: 32,
        }
    }
}

/// Most paths one `host-fs.remove` call may name; the stock policy sends smaller batches.
pub const MAX_REMOVAL_BATCH: usize = 65_536;

/// How much of a policy's stderr a call keeps (for the error when the call fails).
const STDERR_CAPACITY: usize = 64 << 10;

/// What the host saw a policy do during one call, for the checks after it.
#[derive(Debug, Default)]
pub(crate) struct Audit {
    /// Rules the policy broke: removals outside the areas, removals during a dry run,
    /// oversized batches. Each entry is one sentence.
    pub(crate) violations: Vec<String>,
    /// Violations beyond the ones kept in `violations`.
    pub(crate) more_violations: usize,
    /// Every path the host actually removed, by area, with the bytes freed.
    pub(crate) removed: crate::cleanup::Removed,
}

/// Most violations an audit keeps word for word.
const KEPT_VIOLATIONS: usize = 8;

impl Audit {
    fn violation(&mut self, sentence: String) {
        if self.violations.len() < KEPT_VIOLATIONS {
            self.violations.push(sentence);
        } else {
            self.more_violations += 1;
        }
    }

    /// How many files (and links) the host removed during the call.
    pub(crate) fn removed_files(&self) -> u64 {
        self.removed.values().map(|paths| paths.len() as u64).sum()
    }

    /// How many bytes the host freed during the call.
    pub(crate) fn removed_bytes(&self) -> u64 {
        self.removed
            .values()
            .flat_map(|paths| paths.values())
            .fold(0u64, |sum, bytes| sum.saturating_add(*bytes))
    }

    /// The violations as one sentence, if any.
    pub(crate) fn summary(&self) -> Option<String> {
        if self.violations.is_empty() {
            return None;
        }
        let mut text = self.violations.join("; ");
        if self.more_violations > 0 {
            text.push_str(&format!("; and {} more", self.more_violations));
        }
        Some(text)
    }
}

/// The capabilities lent to one call.
#[derive(Clone)]
pub(crate) struct Capabilities {
    pub(crate) secrets: Arc<dyn SecretSource>,
    /// The managed areas; without them `host-fs` knows no area.
    pub(crate) areas: Option<Arc<Areas>>,
    /// The metrics source; without it `host-metrics` answers an all-zero snapshot.
    pub(crate) metrics: Option<Arc<Metrics>>,
    /// Frames and the model for `host-pose`; without them inference is refused.
    pub(crate) pose: Option<Arc<crate::pose::PoseBatch>>,
    /// A dry run: `host-fs.remove` is refused (and is a violation).
    pub(crate) dry_run: bool,
    /// When set, the call is stopped at the next host call or deadline check: scans and
    /// removal batches end early, what was removed stays recorded in the audit.
    pub(crate) cancel: Option<Arc<AtomicBool>>,
}

/// The error a host capability raises to stop a cancelled call.
#[derive(Debug, thiserror::Error)]
#[error("the call was cancelled")]
pub(crate) struct Cancelled;

/// What a store holds for one call.
pub(crate) struct HostState {
    wasi: WasiCtx,
    table: ResourceTable,
    pub(crate) limits: CallLimiter,
    capabilities: Capabilities,
    pub(crate) audit: Audit,
    stderr: MemoryOutputPipe,
    /// Scan and removal context (start time, cancel switch).
    context: CallContext,
    /// Time spent inside host capabilities during this call (secrets, metrics, files,
    /// inference): not charged to the policy's deadline.
    pub(crate) host_time: Duration,
    /// Set when the call's own time passed its deadline.
    pub(crate) deadline_exceeded: bool,
}

impl HostState {
    pub(crate) fn new(limits: &Limits, capabilities: Capabilities) -> Self {
        // No preopens, no environment, no arguments, no network, stdin closed, stdout
        // discarded, stderr kept (bounded) for the error of a failed call: the policy sees
        // only what the host passes explicitly.
        let stderr = MemoryOutputPipe::new(STDERR_CAPACITY);
        let wasi = WasiCtxBuilder::new()
            .stderr(stderr.clone())
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
        let limits = CallLimiter {
            inner: limits,
            memory_refused: false,
        };
        let context = CallContext::starting_now(capabilities.cancel.clone());
        Self {
            wasi,
            table: ResourceTable::new(),
            limits,
            capabilities,
            audit: Audit::default(),
            stderr,
            context,
            host_time: Duration::ZERO,
            deadline_exceeded: false,
        }
    }

    /// Whether the call was asked to stop.
    pub(crate) fn cancelled(&self) -> bool {
        self.capabilities
            .cancel
            .as_ref()
            .is_some_and(|flag| flag.load(Ordering::Relaxed))
    }

    /// The last lines the policy wrote to stderr (at most about 1 KiB), if any.
    pub(crate) fn stderr_tail(&self) -> Option<String> {
        const TAIL: usize = 1024;
        let bytes = self.stderr.contents();
        let text = String::from_utf8_lossy(&bytes);
        let text = text.trim();
        if text.is_empty() {
            return None;
        }
        let start = text.len().saturating_sub(TAIL);
        let start = (start..text.len())
            .find(|&index| text.is_char_boundary(index))
            .unwrap_or(text.len());
        Some(text[start..].replace('\n', " | "))
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
        let started = Instant::now();
        let outcome = self.capabilities.secrets.access(&project, &name);
        self.host_time += started.elapsed();
        outcome
    }
}

fn to_wit_kind(kind: fs::EntryKind) -> host_fs::EntryKind {
    match kind {
        fs::EntryKind::File => host_fs::EntryKind::File,
        fs::EntryKind::Directory => host_fs::EntryKind::Directory,
        fs::EntryKind::Symlink => host_fs::EntryKind::Symlink,
        fs::EntryKind::Other => host_fs::EntryKind::Other,
    }
}

fn to_wit_status(status: fs::RemovalStatus) -> host_fs::RemovalStatus {
    match status {
        fs::RemovalStatus::Removed => host_fs::RemovalStatus::Removed,
        fs::RemovalStatus::Vanished => host_fs::RemovalStatus::Vanished,
        fs::RemovalStatus::InUse => host_fs::RemovalStatus::InUse,
        fs::RemovalStatus::Refused
        | fs::RemovalStatus::OutOfBounds
        | fs::RemovalStatus::Cancelled => host_fs::RemovalStatus::Refused,
        fs::RemovalStatus::Failed => host_fs::RemovalStatus::Failed,
    }
}

impl host_fs::Host for HostState {
    fn areas(&mut self) -> Vec<String> {
        self.capabilities
            .areas
            .as_ref()
            .map(|areas| areas.names())
            .unwrap_or_default()
    }

    fn scan(
        &mut self,
        area: String,
    ) -> wasmtime::Result<Result<host_fs::ScanResult, host_fs::FsError>> {
        let started = Instant::now();
        let outcome = self.scan_area(area);
        self.host_time += started.elapsed();
        outcome
    }

    fn remove(
        &mut self,
        area: String,
        paths: Vec<String>,
    ) -> wasmtime::Result<Vec<host_fs::Removal>> {
        let started = Instant::now();
        let outcome = self.remove_paths(area, paths);
        self.host_time += started.elapsed();
        outcome
    }
}

impl HostState {
    fn scan_area(
        &mut self,
        area: String,
    ) -> wasmtime::Result<Result<host_fs::ScanResult, host_fs::FsError>> {
        if self.cancelled() {
            return Err(Cancelled.into());
        }
        let Some(areas) = &self.capabilities.areas else {
            return Ok(Err(host_fs::FsError::UnknownArea(area)));
        };
        let scan = match areas.scan_with(&area, &self.context) {
            Ok(scan) => scan,
            Err(ScanFailure::UnknownArea(name)) => {
                return Ok(Err(host_fs::FsError::UnknownArea(name)));
            }
            Err(ScanFailure::Cancelled) => return Err(Cancelled.into()),
        };
        Ok(Ok(host_fs::ScanResult {
            entries: scan
                .entries
                .into_iter()
                .map(|entry| host_fs::Entry {
                    path: entry.path,
                    kind: to_wit_kind(entry.kind),
                    size: entry.size,
                    mtime: entry.mtime,
                    atime: entry.atime,
                    ctime: entry.ctime,
                    device: entry.device,
                    locked: entry.locked,
                })
                .collect(),
            problems: scan
                .problems
                .into_iter()
                .map(|problem| host_fs::ScanProblem {
                    path: problem.path,
                    reason: problem.reason,
                })
                .collect(),
        }))
    }

    fn remove_paths(
        &mut self,
        area: String,
        paths: Vec<String>,
    ) -> wasmtime::Result<Vec<host_fs::Removal>> {
        if self.cancelled() {
            return Err(Cancelled.into());
        }
        if paths.len() > MAX_REMOVAL_BATCH {
            self.audit.violation(format!(
                "asked to remove {} paths in one call (at most {MAX_REMOVAL_BATCH})",
                paths.len()
            ));
            wasmtime::bail!(
                "host-fs.remove called with {} paths; the limit is {MAX_REMOVAL_BATCH} per call",
                paths.len()
            );
        }
        if self.capabilities.dry_run {
            self.audit.violation(format!(
                "asked to remove {} path(s) in area `{area}` during a dry run",
                paths.len()
            ));
            let refusal = |path: String| host_fs::Removal {
                path,
                status: host_fs::RemovalStatus::Refused,
                bytes: 0,
                reason: Some("a dry run removes nothing".to_string()),
            };
            return Ok(paths.into_iter().map(refusal).collect());
        }
        let outcomes = match &self.capabilities.areas {
            Some(areas) => areas.remove_with(&area, &paths, &self.context),
            None => Areas::none().remove(&area, &paths),
        };
        for removal in &outcomes {
            match removal.status {
                fs::RemovalStatus::OutOfBounds => self.audit.violation(format!(
                    "asked to remove `{}` in area `{area}`, which is outside the area ({})",
                    removal.path,
                    removal.reason.as_deref().unwrap_or("refused")
                )),
                fs::RemovalStatus::Removed => {
                    self.audit
                        .removed
                        .entry(area.clone())
                        .or_default()
                        .insert(removal.path.clone(), removal.bytes);
                }
                _ => {}
            }
        }
        if outcomes
            .iter()
            .any(|removal| removal.status == fs::RemovalStatus::Cancelled)
        {
            return Err(Cancelled.into());
        }
        Ok(outcomes
            .into_iter()
            .map(|removal| host_fs::Removal {
                path: removal.path,
                status: to_wit_status(removal.status),
                bytes: removal.bytes,
                reason: removal.reason,
            })
            .collect())
    }
}

/// Converts a host snapshot to the WIT record.
pub(crate) fn to_wit_snapshot(
    snapshot: &metrics::SystemResources,
) -> host_metrics::SystemResources {
    host_metrics::SystemResources {
        taken_at: snapshot.taken_at,
        memory: host_metrics::Memory {
            total: snapshot.memory.total,
            available: snapshot.memory.available,
            used: snapshot.memory.used,
            used_ratio: snapshot.memory.used_ratio,
            container_limited: snapshot.memory.container_limited,
        },
        disk: host_metrics::Disk {
            total: snapshot.disk.total,
            free: snapshot.disk.free,
            used: snapshot.disk.used,
            used_ratio: snapshot.disk.used_ratio,
        },
        cpu_ratio: snapshot.cpu_ratio,
        load_average: snapshot.load_average,
        areas: snapshot
            .areas
            .iter()
            .map(|area| host_metrics::AreaUsage {
                name: area.name.clone(),
                exists: area.exists,
                size: area.size,
                file_count: area.file_count,
            })
            .collect(),
    }
}

impl host_metrics::Host for HostState {
    fn snapshot(&mut self) -> host_metrics::SystemResources {
        let started = Instant::now();
        let snapshot = match &self.capabilities.metrics {
            Some(metrics) => to_wit_snapshot(&metrics.snapshot()),
            None => to_wit_snapshot(&metrics::SystemResources::empty()),
        };
        self.host_time += started.elapsed();
        snapshot
    }
}

impl host_pose::Host for HostState {
    fn infer(&mut self, frames: Vec<u32>) -> Result<Vec<host_pose::Tensor>, String> {
        let Some(batch) = &self.capabilities.pose else {
            return Err("pose inference is not available in this call".to_string());
        };
        let started = Instant::now();
        let outcome = batch.infer(&frames);
        self.host_time += started.elapsed();
        outcome.map(|tensors| {
            tensors
                .into_iter()
                .map(|tensor| host_pose::Tensor {
                    shape: tensor.shape,
                    data: tensor.data,
                })
                .collect()
        })
    }
}
