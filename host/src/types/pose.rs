//! People found by pose detection: boxes and 17 COCO keypoints in image pixels, and the time
//! each stage of a batch took.

use serde::Serialize;

/// An axis-aligned box in image pixels.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Bbox {
    /// Left.
    pub x1: f64,
    /// Top.
    pub y1: f64,
    /// Right.
    pub x2: f64,
    /// Bottom.
    pub y2: f64,
}

/// One keypoint in image pixels.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Keypoint {
    /// COCO name.
    pub name: String,
    /// Horizontal position.
    pub x: f64,
    /// Vertical position.
    pub y: f64,
    /// Visibility confidence, 0 to 1.
    pub confidence: f64,
}

/// One detected person.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Person {
    /// Detection score.
    pub score: f64,
    /// Box.
    pub bbox: Bbox,
    /// The 17 COCO keypoints in COCO order.
    pub keypoints: Vec<Keypoint>,
}

impl Person {
    /// The keypoint called `name`.
    pub fn keypoint(&self, name: &str) -> Option<&Keypoint> {
        self.keypoints.iter().find(|k| k.name == name)
    }
}

/// Time spent per stage for a batch.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct StageTimes {
    /// Letterboxing.
    pub preprocess_ms: f64,
    /// Model inference.
    pub inference_ms: f64,
    /// Post-processing in the policy (including the copy across the boundary).
    pub postprocess_ms: f64,
}
