//! `host-metrics`: a resource snapshot, all zero when the call was lent no metrics.

use std::time::Instant;

use super::super::bindings::bachata::common::host_metrics;
use super::super::convert::to_wit_snapshot;
use super::super::state::HostState;
use crate::capabilities::metrics;

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
