//! Following a couple through a video: the tracker (which detection is which person from frame
//! to frame), lead and follow, and a video's detection rate. The rules are those of the video
//! service's original `PersonTracker` and `YOLOv8CoupleDetector` (see `wit/couple.wit`).

mod assignment;
#[cfg(test)]
mod tests;

use crate::catalog;
use crate::types::{
    AppError, DetectionRate, ErrorKind, FrameRoles, Roles, Track, TrackBox as Bbox, TrackerConfig,
    TrackerState, ValidationContext,
};

pub use assignment::minimize;

/// Most people in one frame.
pub const MAX_PEOPLE: usize = 10_000;

/// Most live tracks in a state.
pub const MAX_TRACKS: usize = 100_000;

/// Most pairs of a frame's people and the live tracks.
pub const MAX_PAIRS: usize = 1_000_000;

/// Under this detection rate a video is low.
pub const LOW_RATE: f64 = 0.3;

fn invalid(field: &str, value: Option<String>, message: String) -> AppError {
    catalog::make_error(
        ErrorKind::Validation(ValidationContext {
            field: Some(field.to_string()),
            value,
        }),
        message,
        Vec::new(),
    )
}

/// Checks a box: finite, `x1 <= x2`, `y1 <= y2`.
fn check_box(field: &str, b: &Bbox) -> Result<(), AppError> {
    let finite = [b.x1, b.y1, b.x2, b.y2].iter().all(|v| v.is_finite());
    if !finite || b.x1 > b.x2 || b.y1 > b.y2 {
        return Err(invalid(
            field,
            Some(format!("[{}, {}, {}, {}]", b.x1, b.y1, b.x2, b.y2)),
            format!(
                "{field}: a box needs finite edges with x1 <= x2 and y1 <= y2, not [{}, {}, {}, {}]",
                b.x1, b.y1, b.x2, b.y2
            ),
        ));
    }
    Ok(())
}

/// The intersection over union of two boxes, from 0 to 1: 0 when they do not overlap or their
/// union is empty (as the original `_compute_iou`).
pub fn iou(a: &Bbox, b: &Bbox) -> f64 {
    let x1 = a.x1.max(b.x1);
    let y1 = a.y1.max(b.y1);
    let x2 = a.x2.min(b.x2);
    let y2 = a.y2.min(b.y2);
    if x2 < x1 || y2 < y1 {
        return 0.0;
    }
    let intersection = (x2 - x1) * (y2 - y1);
    let union = (a.x2 - a.x1) * (a.y2 - a.y1) + (b.x2 - b.x1) * (b.y2 - b.y1) - intersection;
    if union.is_nan() || union <= 0.0 {
        return 0.0;
    }
    (intersection / union).clamp(0.0, 1.0)
}

/// The lead and follow among `boxes`: nobody, neither; one, the lead; two or more, sorted by
/// the left edge (a stable sort: equal edges keep their order), the first leads and the last
/// follows.
pub fn lead_follow(boxes: &[Bbox]) -> Result<Roles, AppError> {
    for (index, b) in boxes.iter().enumerate() {
        check_box(&format!("boxes[{index}]"), b)?;
    }
    Ok(roles_of(boxes))
}

fn roles_of(boxes: &[Bbox]) -> Roles {
    match boxes.len() {
        0 => Roles {
            lead: None,
            follow: None,
        },
        1 => Roles {
            lead: Some(0),
            follow: None,
        },
        _ => {
            let mut order: Vec<usize> = (0..boxes.len()).collect();
            order.sort_by(|&a, &b| boxes[a].x1.total_cmp(&boxes[b].x1));
            Roles {
                lead: order.first().map(|&i| i as u32),
                follow: order.last().map(|&i| i as u32),
            }
        }
    }
}

/// A video's detection rate: `both` of `processed` frames had a lead and a follow.
pub fn rate(processed: u64, both: u64) -> DetectionRate {
    let rate = if processed == 0 {
        0.0
    } else {
        (both.min(processed) as f64) / (processed as f64)
    };
    DetectionRate {
        rate,
        low: rate < LOW_RATE,
    }
}

fn check(state: &TrackerState, cfg: &TrackerConfig) -> Result<(), AppError> {
    if !(0.0..=1.0).contains(&cfg.iou_threshold) {
        return Err(invalid(
            "iou_threshold",
            Some(cfg.iou_threshold.to_string()),
            format!(
                "iou_threshold must be from 0 to 1, not {}",
                cfg.iou_threshold
            ),
        ));
    }
    if state.tracks.len() > MAX_TRACKS {
        return Err(invalid(
            "state.tracks",
            Some(state.tracks.len().to_string()),
            format!(
                "the tracker's state holds {} tracks; at most {MAX_TRACKS}",
                state.tracks.len()
            ),
        ));
    }
    let mut ids: Vec<u64> = state.tracks.iter().map(|t| t.id).collect();
    ids.sort_unstable();
    if ids.windows(2).any(|pair| pair[0] == pair[1]) {
        return Err(invalid(
            "state.tracks",
            None,
            "the tracker's state holds the same track id twice".to_string(),
        ));
    }
    if let Some(&highest) = ids.last()
        && highest >= state.next_id
    {
        return Err(invalid(
            "state.next_id",
            Some(state.next_id.to_string()),
            format!(
                "the tracker's next id {} is not above its track id {highest}",
                state.next_id
            ),
        ));
    }
    for (index, track) in state.tracks.iter().enumerate() {
        check_box(&format!("state.tracks[{index}].bbox"), &track.bbox)?;
    }
    Ok(())
}

/// Ages every unmatched track by one and drops those unseen for more than `max_age` frames.
fn age(tracks: &mut Vec<Track>, matched: &[bool], max_age: u32) {
    let mut index = 0;
    tracks.retain_mut(|track| {
        let keep = if matched[index] {
            true
        } else {
            track.unseen = track.unseen.saturating_add(1);
            track.unseen <= max_age
        };
        index += 1;
        keep
    });
}

/// One frame: the ids of `boxes`, updating `state`.
fn step(
    state: &mut TrackerState,
    boxes: &[Bbox],
    cfg: &TrackerConfig,
    frame: usize,
) -> Result<Vec<u64>, AppError> {
    if boxes.len() > MAX_PEOPLE {
        return Err(invalid(
            &format!("frames[{frame}]"),
            Some(boxes.len().to_string()),
            format!(
                "frame {frame} has {} people; at most {MAX_PEOPLE}",
                boxes.len()
            ),
        ));
    }
    for (index, b) in boxes.iter().enumerate() {
        check_box(&format!("frames[{frame}][{index}]"), b)?;
    }
    let tracks = state.tracks.len();
    if boxes.len().saturating_mul(tracks) > MAX_PAIRS {
        return Err(invalid(
            &format!("frames[{frame}]"),
            Some(boxes.len().to_string()),
            format!(
                "frame {frame} pairs {} people with {tracks} live tracks; at most {MAX_PAIRS} pairs",
                boxes.len()
            ),
        ));
    }
    // The original maximizes the summed IoU by minimizing its negation.
    let mut cost = Vec::with_capacity(boxes.len() * tracks);
    for b in boxes {
        for track in &state.tracks {
            cost.push(-iou(b, &track.bbox));
        }
    }
    let mut matched_track = vec![false; tracks];
    let mut track_of = vec![None; boxes.len()];
    for (detection, track) in minimize(&cost, boxes.len(), tracks) {
        if -cost[detection * tracks + track] >= cfg.iou_threshold {
            track_of[detection] = Some(track);
        }
    }
    let mut ids = Vec::with_capacity(boxes.len());
    let mut born = Vec::new();
    for (detection, b) in boxes.iter().enumerate() {
        match track_of[detection] {
            Some(index) => {
                matched_track[index] = true;
                let track = &mut state.tracks[index];
                track.bbox = *b;
                track.unseen = 0;
                ids.push(track.id);
            }
            None => {
                let id = state.next_id;
                state.next_id = id.checked_add(1).ok_or_else(|| {
                    invalid(
                        "state.next_id",
                        Some(id.to_string()),
                        "the tracker ran out of track ids".to_string(),
                    )
                })?;
                // As in the original, a new track is not among the frame's matched tracks: it
                // ages with them, so it is already one frame unseen.
                born.push(Track {
                    id,
                    bbox: *b,
                    unseen: 1,
                });
                ids.push(id);
            }
        }
    }
    age(&mut state.tracks, &matched_track, cfg.max_age);
    state
        .tracks
        .extend(born.into_iter().filter(|track| track.unseen <= cfg.max_age));
    Ok(ids)
}

/// Tracks the people of `frames` from `state`: each frame's ids and roles, and the state after
/// the last frame.
pub fn update(
    mut state: TrackerState,
    frames: &[Vec<Bbox>],
    cfg: &TrackerConfig,
) -> Result<(TrackerState, Vec<FrameRoles>), AppError> {
    check(&state, cfg)?;
    let mut answers = Vec::with_capacity(frames.len());
    for (frame, boxes) in frames.iter().enumerate() {
        let ids = step(&mut state, boxes, cfg, frame)?;
        let Roles { lead, follow } = roles_of(boxes);
        answers.push(FrameRoles { ids, lead, follow });
    }
    Ok((state, answers))
}
