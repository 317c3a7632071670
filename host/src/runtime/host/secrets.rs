//! `host-secrets`: the policy's secret source (Secret Manager by default).

use std::time::Instant;

use super::super::bindings::bachata::common::host_secrets;
use super::super::state::HostState;

impl host_secrets::Host for HostState {
    fn access(&mut self, project: String, name: String) -> Result<Option<String>, String> {
        let started = Instant::now();
        let outcome = self.capabilities.secrets.access(&project, &name);
        self.host_time += started.elapsed();
        outcome
    }
}
