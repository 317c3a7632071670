//! People found by the policy's pose decoding.

use super::super::bindings::bachata::common::host_pose;
use super::super::bindings::wit;
use crate::capabilities::pose::{PreparedFrame, Tensor};
use crate::types::pose::{Bbox, Keypoint, Person};

impl From<wit::pose::Person> for Person {
    fn from(person: wit::pose::Person) -> Self {
        Self {
            score: person.score,
            bbox: Bbox {
                x1: person.bbox.x1,
                y1: person.bbox.y1,
                x2: person.bbox.x2,
                y2: person.bbox.y2,
            },
            keypoints: person
                .keypoints
                .into_iter()
                .map(|k| Keypoint {
                    name: k.name,
                    x: k.x,
                    y: k.y,
                    confidence: k.confidence,
                })
                .collect(),
        }
    }
}

/// A prepared frame as the WIT `frame` the policy decodes (its id is its index in the batch).
pub(crate) fn frame(id: usize, frame: &PreparedFrame) -> wit::pose::Frame {
    wit::pose::Frame {
        id: u32::try_from(id).unwrap_or(u32::MAX),
        width: frame.width,
        height: frame.height,
        scale: frame.scale,
        pad_x: frame.pad_x,
        pad_y: frame.pad_y,
    }
}

/// The model's output tensors as the WIT `tensor`s: values as little-endian `f32`s in base64.
pub(crate) fn tensors(tensors: Vec<Tensor>) -> Vec<host_pose::Tensor> {
    use base64::Engine as _;
    tensors
        .into_iter()
        .map(|tensor| {
            let bytes: Vec<u8> = tensor
                .data
                .iter()
                .flat_map(|value| value.to_le_bytes())
                .collect();
            host_pose::Tensor {
                shape: tensor.shape,
                data: base64::engine::general_purpose::STANDARD.encode(bytes),
            }
        })
        .collect()
}
