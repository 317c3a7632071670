//! People found by the policy's pose decoding.

use super::super::bindings::wit;
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
