//! `couple`: the tracker and lead/follow, as the policy decides them. A long run of frames is
//! tracked in calls of at most [`FRAMES_PER_CALL`] frames, the state passed from one to the
//! next; every answer is checked against what was asked.

use super::super::Policy;
use super::super::convert;
use crate::types::couple::{DetectionRate, FrameRoles, TrackerConfig, TrackerState};
use crate::types::error::{AppError, Error};
use crate::types::pose::Bbox;

/// The most frames one `couple.update` call is given.
pub const FRAMES_PER_CALL: usize = 256;

impl Policy {
    /// Tracks the people of `frames` (each frame's boxes) from `state`: each frame's ids and
    /// roles; `state` becomes the state after the last frame (unchanged on error).
    pub fn track_couple(
        &self,
        state: &mut TrackerState,
        frames: &[Vec<Bbox>],
        config: &TrackerConfig,
    ) -> Result<Vec<FrameRoles>, Error> {
        const FUNCTION: &str = "couple.update";
        let cfg = convert::tracker_config(config);
        let mut next = state.clone();
        let mut answers = Vec::with_capacity(frames.len());
        for chunk in frames.chunks(FRAMES_PER_CALL) {
            let boxes: Vec<Vec<_>> = chunk
                .iter()
                .map(|frame| frame.iter().map(convert::bbox).collect())
                .collect();
            let people: Vec<usize> = chunk.iter().map(Vec::len).collect();
            let wit_state = convert::tracker_state(&next);
            let (after, mut roles) = self.call_judged(
                FUNCTION,
                |exports, store| {
                    exports
                        .couple(&mut *store)?
                        .call_update(store, &wit_state, &boxes, cfg)
                },
                |answer| {
                    let (after, roles) = answer.map_err(|error| Error::App(error.into()))?;
                    let after = convert::checked_state(after)
                        .map_err(|reason| self.violation(FUNCTION, reason))?;
                    let roles = convert::checked_roles(roles, &people)
                        .map_err(|reason| self.violation(FUNCTION, reason))?;
                    Ok((after, roles))
                },
            )?;
            next = after;
            answers.append(&mut roles);
        }
        *state = next;
        Ok(answers)
    }

    /// The lead and follow among one frame's boxes (indices into `boxes`).
    pub fn lead_follow(&self, boxes: &[Bbox]) -> Result<(Option<usize>, Option<usize>), Error> {
        const FUNCTION: &str = "couple.lead-follow";
        let wit_boxes: Vec<_> = boxes.iter().map(convert::bbox).collect();
        self.call_judged(
            FUNCTION,
            |exports, store| {
                exports
                    .couple(&mut *store)?
                    .call_lead_follow(store, &wit_boxes)
            },
            |answer| {
                let roles = answer.map_err(|error| Error::App(AppError::from(error)))?;
                convert::checked_lead_follow(roles, boxes.len())
                    .map_err(|reason| self.violation(FUNCTION, reason))
            },
        )
    }

    /// The intersection over union of two boxes, as the tracker measures it.
    pub fn box_iou(&self, a: &Bbox, b: &Bbox) -> Result<f64, Error> {
        const FUNCTION: &str = "couple.iou";
        let (a, b) = (convert::bbox(a), convert::bbox(b));
        self.call_judged(
            FUNCTION,
            |exports, store| exports.couple(&mut *store)?.call_iou(store, a, b),
            |iou| {
                if (0.0..=1.0).contains(&iou) {
                    Ok(iou)
                } else {
                    Err(self.violation(FUNCTION, format!("answered an IoU of {iou}")))
                }
            },
        )
    }

    /// The detection rate of a video: `both` of `processed` frames had both dancers.
    pub fn detection_rate(&self, processed: u64, both: u64) -> Result<DetectionRate, Error> {
        const FUNCTION: &str = "couple.rate";
        self.call_judged(
            FUNCTION,
            |exports, store| {
                exports
                    .couple(&mut *store)?
                    .call_rate(store, processed, both)
            },
            |rate| convert::checked_rate(rate).map_err(|reason| self.violation(FUNCTION, reason)),
        )
    }
}
