//! The per-call store state: a deny-all WASI context, the limiter, the capabilities lent to
//! the call and the audit of what the policy did with them. The capabilities' `Host` impls
//! live in [`super::host`], one file per WIT interface.

use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use wasmtime::StoreLimitsBuilder;
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::{ResourceTable, WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};

use super::limits::{CallLimiter, Limits};
use crate::capabilities::fs::{Areas, CallContext, Progress, RemovalLog};
use crate::capabilities::metrics::Metrics;
use crate::capabilities::secrets::SecretSource;

/// Most paths one `host-fs.remove` call may name; the stock policy sends smaller batches.
pub const MAX_REMOVAL_BATCH: usize = 65_536;

/// Most entries one page of a scan holds, whatever the policy asks.
pub const MAX_PAGE: u32 = 65_536;

/// Most scans a call may open per area.
pub const MAX_SCANS_PER_AREA: u32 = 16;

/// Sample removals a cleanup report lists unless asked otherwise.
pub const DEFAULT_SAMPLES: u32 = 1000;

/// Most linear memory a call may have grown its instance to and still leave it for the next
/// call: a larger one is dropped, so waiting instances hold little memory.
pub const WARM_MEMORY_BYTES: usize = 16 << 20;

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
    /// What the host removed (in a dry run: answered it would remove): totals per area and
    /// reason, and the first few paths.
    pub(crate) removed: crate::types::removals::Removed,
    /// Scans opened, per area.
    pub(crate) scans_opened: std::collections::HashMap<String, u32>,
}

/// Most violations an audit keeps word for word.
const KEPT_VIOLATIONS: usize = 8;

impl Audit {
    pub(crate) fn violation(&mut self, sentence: String) {
        if self.violations.len() < KEPT_VIOLATIONS {
            self.violations.push(sentence);
        } else {
            self.more_violations += 1;
        }
    }

    /// How many entries the host removed during the call.
    pub(crate) fn removed_files(&self) -> u64 {
        self.removed.entries()
    }

    /// How many bytes the host freed during the call.
    pub(crate) fn removed_bytes(&self) -> u64 {
        self.removed.bytes()
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
    pub(crate) pose: Option<Arc<crate::capabilities::pose::PoseBatch>>,
    /// A dry run: `host-fs.remove` checks and answers, and removes nothing.
    pub(crate) dry_run: bool,
    /// Most sample removals the report may list (the audit keeps that many paths).
    pub(crate) max_samples: u32,
    /// Where every removal is logged, if anywhere.
    pub(crate) removals_log: Option<Arc<RemovalLog>>,
    /// Live counters for a progress display.
    pub(crate) progress: Option<Arc<Progress>>,
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
    pub(crate) capabilities: Capabilities,
    pub(crate) audit: Audit,
    stderr: MemoryOutputPipe,
    /// Scan and removal context (start time, cancel switch).
    pub(crate) context: CallContext,
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
            peak_memory: 0,
        };
        let (context, audit) = Self::call_parts(&capabilities);
        Self {
            wasi,
            table: ResourceTable::new(),
            limits,
            capabilities,
            audit,
            stderr,
            context,
            host_time: Duration::ZERO,
            deadline_exceeded: false,
        }
    }

    /// What a call starts with: its context (start time, cancel switch, dry run) and an
    /// empty audit.
    fn call_parts(capabilities: &Capabilities) -> (CallContext, Audit) {
        let mut context = CallContext::starting_now(capabilities.cancel.clone());
        context.dry_run = capabilities.dry_run;
        let audit = Audit {
            removed: crate::types::removals::Removed::new(capabilities.max_samples as usize),
            ..Audit::default()
        };
        (context, audit)
    }

    /// Readies a store an earlier call left clean for the next call: this call's
    /// capabilities, a fresh context and audit, no host time, no breach recorded.
    pub(crate) fn next_call(&mut self, capabilities: Capabilities) {
        let (context, audit) = Self::call_parts(&capabilities);
        self.capabilities = capabilities;
        self.context = context;
        self.audit = audit;
        self.host_time = Duration::ZERO;
        self.deadline_exceeded = false;
        self.limits.memory_refused = false;
        self.limits.peak_memory = 0;
    }

    /// Whether the call can leave its instance for the next one: it broke no rule, hit no
    /// limit, was not cancelled, wrote nothing to stderr, left no host resource open and did
    /// not grow its memory past [`WARM_MEMORY_BYTES`] (a waiting instance keeps its pages).
    pub(crate) fn clean(&self) -> bool {
        self.audit.violations.is_empty()
            && !self.deadline_exceeded
            && !self.limits.memory_refused
            && !self.cancelled()
            && self.limits.peak_memory <= WARM_MEMORY_BYTES
            && self.table.is_empty()
            && self.stderr.contents().is_empty()
    }

    /// The call's resources (open scans, WASI streams).
    pub(crate) fn table(&mut self) -> &mut ResourceTable {
        &mut self.table
    }

    /// Whether the call was asked to stop.
    pub(crate) fn cancelled(&self) -> bool {
        self.context.cancelled()
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
