//! `pose`: decoding the model's output for a batch of prepared frames (the policy calls back
//! into `host-pose` for inference).

use std::sync::Arc;

use super::super::Policy;
use super::super::bindings::wit;
use super::super::convert;
use super::super::state::Capabilities;
use crate::types::error::Error;
use crate::types::pose::Person;

impl Policy {
    /// Detects people in a batch of prepared frames (the policy calls back for inference).
    pub(crate) fn detect_pose(
        &self,
        batch: &Arc<crate::capabilities::pose::PoseBatch>,
        config: &crate::types::config::YoloConfig,
    ) -> Result<Vec<Vec<crate::types::pose::Person>>, Error> {
        let frames: Vec<wit::pose::Frame> = batch
            .frames
            .iter()
            .enumerate()
            .map(|(id, frame)| convert::frame(id, frame))
            .collect();
        let cfg = convert::yolo_config(config);
        let lend = Capabilities {
            pose: Some(Arc::clone(batch)),
            ..self.lend_secrets()
        };
        let (outcome, _) = self.call_with("pose.detect", lend, |exports, store| {
            exports.pose(&mut *store)?.call_detect(store, &frames, &cfg)
        })?;
        let people = outcome.map_err(|error| Error::App(error.into()))?;
        Ok(people
            .into_iter()
            .map(|frame| frame.into_iter().map(Person::from).collect())
            .collect())
    }
}
