//! Following a couple through a video: the tracker's state and settings, who is who in a
//! frame, and a video's detection rate (the policy's `couple` interface decides them).

use serde::Serialize;

use super::pose::Bbox;

/// A person followed from frame to frame.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Track {
    /// Its id, unique within a video.
    pub id: u64,
    /// Its box in the last frame it was seen.
    pub bbox: Bbox,
    /// Frames since it was last matched.
    pub unseen: u32,
}

/// What the tracker carries from one frame to the next; a video starts from the default.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct TrackerState {
    /// The live tracks, in the order they started.
    pub tracks: Vec<Track>,
    /// The id of the next new track.
    pub next_id: u64,
}

/// The tracker's settings.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct TrackerConfig {
    /// Least IoU, 0 to 1, for a detection to keep a track's id.
    pub iou_threshold: f64,
    /// Frames a track survives unseen.
    pub max_age: u32,
}

impl Default for TrackerConfig {
    /// The original video service's settings: IoU 0.5, 30 frames.
    fn default() -> Self {
        Self {
            iou_threshold: 0.5,
            max_age: 30,
        }
    }
}

/// Who is who in one frame.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct FrameRoles {
    /// The track id of each person, in the order of the frame's people.
    pub ids: Vec<u64>,
    /// The lead's index among the frame's people.
    pub lead: Option<usize>,
    /// The follow's index, when two or more people are there.
    pub follow: Option<usize>,
}

/// How a video went.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct DetectionRate {
    /// Frames with both dancers over the processed frames.
    pub rate: f64,
    /// Whether the rate is too low for the video to be useful.
    pub low: bool,
}
