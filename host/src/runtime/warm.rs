//! Warm instances for pure decisions: a call that lends the policy nothing but its secret
//! source (errors, configuration, assignment, analysis, metrics maths, event rules) runs in
//! an instance an earlier such call of the same [`super::Policy`] left behind, instead of
//! instantiating the component again.
//!
//! What the host guarantees a call (`tests/e2e/warm.rs` proves each with a policy that keeps
//! a counter in a global):
//! - the sandbox is the one a fresh instance gets: the deny-all WASI context, the memory cap
//!   (of the instance, whatever earlier calls grew it to), the deadline counted afresh, and
//!   the capabilities of this call only;
//! - an instance is reused only within one `Policy` value and its clones (the same
//!   components, secret source and limits), only for the concern's component, and only by
//!   calls lending nothing else: a call lending files, metrics or frames always starts from
//!   a fresh instance;
//! - an instance whose call trapped, ran past its deadline or its memory cap, was cancelled,
//!   broke a host rule (during the call or in the answer the host checks after it), wrote to
//!   stderr, left a host resource open, grew its memory past
//!   [`super::state::WARM_MEMORY_BYTES`] or failed in the host is dropped, so no later call
//!   sees what such a call left in memory;
//! - a policy replaced by a hot reload drops its waiting instances ([`WarmPool::drain`]).
//!
//! What a policy keeps in its globals between two successful calls may still be there on
//! the next one (or not: instances are dropped and created at any time). Policies answer
//! from their arguments; the contract (`wit/world.wit`) says so.
//!
//! At most [`MAX_IDLE`] instances wait in the whole process; each holds a slot of the
//! engine's instance pool, which is sized for them on top of the concurrent calls.

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use wasmtime::Store;
use wasmtime::component::Instance;

use super::part::Loaded;
use super::state::HostState;

/// Most instances waiting for a call, in the whole process.
pub(super) const MAX_IDLE: u32 = 16;

/// Instances waiting now, in the whole process.
static IDLE: AtomicUsize = AtomicUsize::new(0);

/// An instance in its store, between two calls.
pub(super) struct Warm {
    pub store: Store<HostState>,
    pub instance: Instance,
    /// The interfaces calls loaded from it so far.
    pub loaded: Box<Loaded>,
}

/// A waiting instance, counted in [`IDLE`] for as long as it waits.
struct Idle(Option<Warm>);

impl Drop for Idle {
    fn drop(&mut self) {
        IDLE.fetch_sub(1, Ordering::Relaxed);
    }
}

/// The instances waiting for calls, one list per component of a policy set.
pub(super) struct WarmPool {
    parts: Vec<Mutex<Vec<Idle>>>,
}

impl WarmPool {
    /// An empty pool for a set of `parts` components.
    pub fn new(parts: usize) -> Self {
        Self {
            parts: (0..parts).map(|_| Mutex::new(Vec::new())).collect(),
        }
    }

    /// A waiting instance of component `part`, if there is one.
    pub fn take(&self, part: usize) -> Option<Warm> {
        let mut idle = self.parts.get(part)?.lock().ok()?;
        idle.pop().and_then(|mut idle| idle.0.take())
    }

    /// Drops every waiting instance (a policy replaced by a hot reload frees its instances
    /// and its share of [`MAX_IDLE`] at once, whoever still holds the policy).
    pub fn drain(&self) {
        for list in &self.parts {
            if let Ok(mut list) = list.lock() {
                list.clear();
            }
        }
    }

    /// Puts back an instance whose call ended cleanly, unless the process already keeps
    /// [`MAX_IDLE`] (it is dropped then).
    pub fn put(&self, part: usize, warm: Warm) {
        let Some(list) = self.parts.get(part) else {
            return;
        };
        if IDLE.fetch_add(1, Ordering::Relaxed) >= MAX_IDLE as usize {
            IDLE.fetch_sub(1, Ordering::Relaxed);
            return;
        }
        let idle = Idle(Some(warm));
        if let Ok(mut list) = list.lock() {
            list.push(idle);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::Policy;

    #[test]
    fn the_process_keeps_at_most_max_idle_instances_and_frees_them_with_their_policy() {
        let policies: Vec<Policy> = (0..MAX_IDLE + 8)
            .map(|_| {
                let policy = Policy::embedded().expect("policy");
                assert_eq!(policy.http_status("VALIDATION_ERROR").expect("call"), 400);
                policy
            })
            .collect();
        assert!(IDLE.load(Ordering::Relaxed) <= MAX_IDLE as usize);
        // Calls beyond the idle cap still run (in fresh instances).
        for policy in &policies {
            assert_eq!(policy.http_status("VALIDATION_ERROR").expect("call"), 400);
        }
        drop(policies);
        assert!(IDLE.load(Ordering::Relaxed) <= MAX_IDLE as usize);
    }
}
