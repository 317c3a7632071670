//! `host-pose`: inference on the call's prepared frames.

use std::time::Instant;

use super::super::bindings::bachata::common::host_pose;
use super::super::convert;
use super::super::state::HostState;

impl host_pose::Host for HostState {
    fn infer(&mut self, frames: Vec<u32>) -> Result<Vec<host_pose::Tensor>, String> {
        let Some(batch) = &self.capabilities.pose else {
            return Err("pose inference is not available in this call".to_string());
        };
        let started = Instant::now();
        let outcome = batch.infer(&frames);
        self.host_time += started.elapsed();
        outcome.map(convert::tensors)
    }
}
