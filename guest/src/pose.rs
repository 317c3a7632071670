//! Pose post-processing: the YOLO pose output (`[1, 56, anchors]`: box centre and size,
//! person score, then 17 keypoints as x, y, confidence, all in model pixels) into people in
//! image pixels. Scores at or below the confidence threshold are dropped, overlapping boxes are
//! merged by greedy NMS, and at most `max_det` people are kept per frame.

use crate::catalog;
use crate::types::{AppError, Bbox, ErrorKind, Keypoint, Person, PoseFrame, YoloConfig};

/// COCO keypoint names, in the model's order.
pub const KEYPOINTS: [&str; 17] = [
    "nose",
    "left_eye",
    "right_eye",
    "left_ear",
    "right_ear",
    "left_shoulder",
    "right_shoulder",
    "left_elbow",
    "right_elbow",
    "left_wrist",
    "right_wrist",
    "left_hip",
    "right_hip",
    "left_knee",
    "right_knee",
    "left_ankle",
    "right_ankle",
];

/// Values per anchor: 4 box values, 1 score, 17 × 3 keypoint values.
pub const CHANNELS: usize = 4 + 1 + KEYPOINTS.len() * 3;

/// A dense tensor of 32-bit floats in row-major order (`host-pose` carries its values as
/// base64 text; see [`Tensor::from_base64`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Tensor {
    /// Dimensions, outermost first.
    pub shape: Vec<u32>,
    /// `product(shape)` values.
    pub data: Vec<f32>,
}

impl Tensor {
    /// A tensor from `host-pose`'s form: its values as little-endian `f32`s in standard,
    /// padded base64; `Err` says what is malformed.
    pub fn from_base64(shape: Vec<u32>, data: &str) -> Result<Self, String> {
        use base64::Engine as _;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(data)
            .map_err(|error| format!("tensor data is not base64: {error}"))?;
        if bytes.len() % 4 != 0 {
            return Err(format!(
                "tensor data holds {} bytes, not a whole number of 32-bit floats",
                bytes.len()
            ));
        }
        let data = bytes
            .chunks_exact(4)
            .map(|four| f32::from_le_bytes([four[0], four[1], four[2], four[3]]))
            .collect();
        Ok(Self { shape, data })
    }

    /// The tensor's values in `host-pose`'s form (little-endian `f32`s, base64).
    pub fn to_base64(&self) -> String {
        use base64::Engine as _;
        let bytes: Vec<u8> = self
            .data
            .iter()
            .flat_map(|value| value.to_le_bytes())
            .collect();
        base64::engine::general_purpose::STANDARD.encode(bytes)
    }
}

/// The host's inference capability as the policy sees it.
pub trait Inference {
    /// One output tensor per frame id.
    fn infer(&self, frames: &[u32]) -> Result<Vec<Tensor>, String>;
}

fn failed(message: String) -> AppError {
    catalog::make_error(
        ErrorKind::MoveAnalysis(None),
        message,
        vec![(
            "error_type".to_string(),
            "pose_detection_failed".to_string(),
        )],
    )
}

/// A candidate before NMS, in model pixels.
#[derive(Debug, Clone, Copy)]
struct Candidate {
    anchor: usize,
    score: f32,
    x1: f32,
    y1: f32,
    x2: f32,
    y2: f32,
}

fn iou(a: &Candidate, b: &Candidate) -> f32 {
    let width = (a.x2.min(b.x2) - a.x1.max(b.x1)).max(0.0);
    let height = (a.y2.min(b.y2) - a.y1.max(b.y1)).max(0.0);
    let intersection = width * height;
    let area = |c: &Candidate| (c.x2 - c.x1).max(0.0) * (c.y2 - c.y1).max(0.0);
    let union = area(a) + area(b) - intersection;
    if union <= 0.0 {
        0.0
    } else {
        intersection / union
    }
}

/// Checks the settings a policy must not trust blindly.
fn check(cfg: &YoloConfig) -> Result<(), AppError> {
    let in_unit = |value: f64| (0.0..=1.0).contains(&value);
    if !in_unit(cfg.confidence) || !in_unit(cfg.iou_threshold) || cfg.max_det == 0 {
        return Err(catalog::make_error(
            ErrorKind::Validation(crate::types::ValidationContext {
                field: Some("yolo-config".to_string()),
                value: None,
            }),
            format!(
                "pose settings out of range: confidence {}, iou_threshold {}, max_det {}",
                cfg.confidence, cfg.iou_threshold, cfg.max_det
            ),
            Vec::new(),
        ));
    }
    Ok(())
}

/// Decodes one output tensor of one frame.
pub fn decode(
    tensor: &Tensor,
    frame: &PoseFrame,
    cfg: &YoloConfig,
) -> Result<Vec<Person>, AppError> {
    check(cfg)?;
    let shape: Vec<usize> = tensor.shape.iter().map(|d| *d as usize).collect();
    let anchors = match shape.as_slice() {
        [1, channels, anchors] | [channels, anchors] if *channels == CHANNELS => *anchors,
        _ => {
            return Err(failed(format!(
                "unexpected pose output shape {:?}; expected [1, {CHANNELS}, anchors]",
                tensor.shape
            )));
        }
    };
    let expected = CHANNELS.saturating_mul(anchors);
    if tensor.data.len() != expected {
        return Err(failed(format!(
            "pose output holds {} values; shape {:?} needs {expected}",
            tensor.data.len(),
            tensor.shape
        )));
    }
    if !(frame.scale.is_finite() && frame.scale > 0.0) {
        return Err(failed(format!("invalid letterbox scale {}", frame.scale)));
    }
    let data = &tensor.data;
    let at = |channel: usize, anchor: usize| data[channel * anchors + anchor];
    let threshold = cfg.confidence as f32;
    let mut candidates: Vec<Candidate> = (0..anchors)
        .filter_map(|anchor| {
            let score = at(4, anchor);
            (score > threshold && score.is_finite()).then(|| {
                let (cx, cy, w, h) = (at(0, anchor), at(1, anchor), at(2, anchor), at(3, anchor));
                Candidate {
                    anchor,
                    score,
                    x1: cx - w / 2.0,
                    y1: cy - h / 2.0,
                    x2: cx + w / 2.0,
                    y2: cy + h / 2.0,
                }
            })
        })
        .collect();
    candidates.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.anchor.cmp(&b.anchor)));
    let iou_threshold = cfg.iou_threshold as f32;
    let mut kept: Vec<Candidate> = Vec::new();
    for candidate in candidates {
        if kept.len() >= cfg.max_det as usize {
            break;
        }
        if kept.iter().all(|k| iou(k, &candidate) <= iou_threshold) {
            kept.push(candidate);
        }
    }
    let (width, height) = (f64::from(frame.width), f64::from(frame.height));
    let to_x = |x: f32| ((f64::from(x) - frame.pad_x) / frame.scale).clamp(0.0, width);
    let to_y = |y: f32| ((f64::from(y) - frame.pad_y) / frame.scale).clamp(0.0, height);
    Ok(kept
        .iter()
        .map(|c| Person {
            score: f64::from(c.score),
            bbox: Bbox {
                x1: to_x(c.x1),
                y1: to_y(c.y1),
                x2: to_x(c.x2),
                y2: to_y(c.y2),
            },
            keypoints: KEYPOINTS
                .iter()
                .enumerate()
                .map(|(k, name)| Keypoint {
                    name: (*name).to_string(),
                    x: to_x(at(5 + 3 * k, c.anchor)),
                    y: to_y(at(6 + 3 * k, c.anchor)),
                    confidence: f64::from(at(7 + 3 * k, c.anchor)),
                })
                .collect(),
        })
        .collect())
}

/// Runs inference for `frames` through `inference` and decodes every output.
pub fn detect(
    inference: &dyn Inference,
    frames: &[PoseFrame],
    cfg: &YoloConfig,
) -> Result<Vec<Vec<Person>>, AppError> {
    check(cfg)?;
    let ids: Vec<u32> = frames.iter().map(|frame| frame.id).collect();
    let tensors = inference
        .infer(&ids)
        .map_err(|reason| failed(format!("pose inference failed: {reason}")))?;
    if tensors.len() != frames.len() {
        return Err(failed(format!(
            "the host returned {} outputs for {} frames",
            tensors.len(),
            frames.len()
        )));
    }
    frames
        .iter()
        .zip(&tensors)
        .map(|(frame, tensor)| decode(tensor, frame, cfg))
        .collect()
}

#[cfg(test)]
mod tests;
