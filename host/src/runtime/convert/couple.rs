//! The tracker's state and answers across the boundary; an answer is checked against what was
//! asked before the host uses it.

use super::super::bindings::wit::couple as wit;
use crate::types::couple::{DetectionRate, FrameRoles, Track, TrackerConfig, TrackerState};
use crate::types::pose::Bbox;

pub(crate) fn bbox(b: &Bbox) -> wit::Bbox {
    wit::Bbox {
        x1: b.x1,
        y1: b.y1,
        x2: b.x2,
        y2: b.y2,
    }
}

fn from_bbox(b: wit::Bbox) -> Bbox {
    Bbox {
        x1: b.x1,
        y1: b.y1,
        x2: b.x2,
        y2: b.y2,
    }
}

pub(crate) fn tracker_state(state: &TrackerState) -> wit::TrackerState {
    wit::TrackerState {
        tracks: state
            .tracks
            .iter()
            .map(|track| wit::Track {
                id: track.id,
                bbox: bbox(&track.bbox),
                unseen: track.unseen,
            })
            .collect(),
        next_id: state.next_id,
    }
}

pub(crate) fn tracker_config(config: &TrackerConfig) -> wit::TrackerConfig {
    wit::TrackerConfig {
        iou_threshold: config.iou_threshold,
        max_age: config.max_age,
    }
}

/// The state the policy answered, if it is one: ids unique and below the next id.
pub(crate) fn checked_state(state: wit::TrackerState) -> Result<TrackerState, String> {
    let mut ids: Vec<u64> = state.tracks.iter().map(|track| track.id).collect();
    ids.sort_unstable();
    if ids.windows(2).any(|pair| pair[0] == pair[1]) {
        return Err("answered a tracker state with one track id twice".to_string());
    }
    if ids.last().is_some_and(|&highest| highest >= state.next_id) {
        return Err("answered a tracker state whose next id is not above its ids".to_string());
    }
    Ok(TrackerState {
        tracks: state
            .tracks
            .into_iter()
            .map(|track| Track {
                id: track.id,
                bbox: from_bbox(track.bbox),
                unseen: track.unseen,
            })
            .collect(),
        next_id: state.next_id,
    })
}

/// A role index the policy answered for a frame of `people`, if it is one.
fn index(value: Option<u32>, people: usize) -> Result<Option<usize>, String> {
    match value {
        None => Ok(None),
        Some(index) if (index as usize) < people => Ok(Some(index as usize)),
        Some(index) => Err(format!(
            "answered person {index} of a frame of {people} people"
        )),
    }
}

/// The roles the policy answered for frames of `people` each, if they fit them: one id per
/// person, distinct, and role indices within the frame.
pub(crate) fn checked_roles(
    answers: Vec<wit::FrameRoles>,
    people: &[usize],
) -> Result<Vec<FrameRoles>, String> {
    if answers.len() != people.len() {
        return Err(format!(
            "answered {} frames for {}",
            answers.len(),
            people.len()
        ));
    }
    answers
        .into_iter()
        .zip(people)
        .map(|(answer, &people)| {
            if answer.ids.len() != people {
                return Err(format!(
                    "answered {} ids for a frame of {people} people",
                    answer.ids.len()
                ));
            }
            let mut ids = answer.ids.clone();
            ids.sort_unstable();
            if ids.windows(2).any(|pair| pair[0] == pair[1]) {
                return Err("answered one track id twice in a frame".to_string());
            }
            Ok(FrameRoles {
                ids: answer.ids,
                lead: index(answer.lead, people)?,
                follow: index(answer.follow, people)?,
            })
        })
        .collect()
}

/// The lead and follow the policy answered for `people` boxes, if they fit them.
pub(crate) fn checked_lead_follow(
    roles: wit::Roles,
    people: usize,
) -> Result<(Option<usize>, Option<usize>), String> {
    Ok((index(roles.lead, people)?, index(roles.follow, people)?))
}

pub(crate) fn checked_rate(rate: wit::DetectionRate) -> Result<DetectionRate, String> {
    if !(0.0..=1.0).contains(&rate.rate) {
        return Err(format!("answered a detection rate of {}", rate.rate));
    }
    Ok(DetectionRate {
        rate: rate.rate,
        low: rate.low,
    })
}
