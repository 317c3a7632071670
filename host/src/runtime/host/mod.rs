//! The capabilities lent to a policy call, one `Host` impl per WIT interface. Each measures
//! the time it spends (not charged to the policy's deadline) and, for `host-fs`, keeps the
//! audit of what the policy asked.

mod fs;
mod metrics;
mod pose;
mod secrets;

use super::bindings::bachata::common::types;
use super::state::HostState;

/// `types` declares only types: nothing to implement.
impl types::Host for HostState {}
