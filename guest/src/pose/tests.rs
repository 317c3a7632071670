use super::*;
use crate::types::Device;

const ANCHORS: usize = 6;

fn cfg() -> YoloConfig {
    YoloConfig {
        model: "m.onnx".into(),
        confidence: 0.3,
        device: Device::Cpu,
        iou_threshold: 0.5,
        max_det: 10,
        threads: 0,
        models_dir: None,
        runtime_library: None,
    }
}

/// A synthetic `[1, 56, ANCHORS]` output with the given detections (cx, cy, w, h, score);
/// keypoint k of anchor a sits at (cx + k, cy + k) with confidence 0.5.
fn tensor(boxes: &[(f32, f32, f32, f32, f32)]) -> Tensor {
    let mut data = vec![0.0f32; CHANNELS * ANCHORS];
    for (a, &(cx, cy, w, h, score)) in boxes.iter().enumerate() {
        for (channel, value) in [cx, cy, w, h, score].into_iter().enumerate() {
            data[channel * ANCHORS + a] = value;
        }
        for k in 0..17 {
            data[(5 + 3 * k) * ANCHORS + a] = cx + k as f32;
            data[(6 + 3 * k) * ANCHORS + a] = cy + k as f32;
            data[(7 + 3 * k) * ANCHORS + a] = 0.5;
        }
    }
    Tensor {
        shape: vec![1, CHANNELS as u32, ANCHORS as u32],
        data,
    }
}

fn square(id: u32) -> PoseFrame {
    PoseFrame {
        id,
        width: 640,
        height: 640,
        scale: 1.0,
        pad_x: 0.0,
        pad_y: 0.0,
    }
}

#[test]
fn scores_at_or_below_the_threshold_are_dropped() {
    let people = decode(
        &tensor(&[
            (100.0, 100.0, 50.0, 50.0, 0.9),
            (300.0, 300.0, 50.0, 50.0, 0.3),
            (500.0, 500.0, 50.0, 50.0, 0.31),
        ]),
        &square(0),
        &cfg(),
    )
    .expect("decodes");
    let scores: Vec<f64> = people
        .iter()
        .map(|p| (p.score * 100.0).round() / 100.0)
        .collect();
    assert_eq!(scores, [0.9, 0.31]);
}

#[test]
fn nms_suppresses_overlaps_and_keeps_separate_people() {
    let people = decode(
        &tensor(&[
            (100.0, 100.0, 100.0, 100.0, 0.8),
            (105.0, 102.0, 100.0, 100.0, 0.9), // overlaps the first heavily
            (400.0, 400.0, 100.0, 100.0, 0.7), // elsewhere
        ]),
        &square(0),
        &cfg(),
    )
    .expect("decodes");
    assert_eq!(people.len(), 2);
    assert!((people[0].score - 0.9).abs() < 1e-6, "best first");
    assert!((people[0].bbox.x1 - 55.0).abs() < 1e-4);
    assert!((people[1].score - 0.7).abs() < 1e-6);

    let mut loose = cfg();
    loose.iou_threshold = 0.95;
    let all = decode(
        &tensor(&[
            (100.0, 100.0, 100.0, 100.0, 0.8),
            (105.0, 102.0, 100.0, 100.0, 0.9),
        ]),
        &square(0),
        &loose,
    )
    .expect("decodes");
    assert_eq!(all.len(), 2, "a high IoU threshold keeps both");
}

#[test]
fn max_det_caps_people() {
    let boxes: Vec<_> = (0..6)
        .map(|i| {
            (
                50.0 + 100.0 * i as f32,
                50.0,
                40.0,
                40.0,
                0.5 + 0.05 * i as f32,
            )
        })
        .collect();
    let mut capped = cfg();
    capped.max_det = 2;
    let people = decode(&tensor(&boxes), &square(0), &capped).expect("decodes");
    assert_eq!(people.len(), 2);
    assert!(people[0].score > people[1].score);
}

#[test]
fn letterbox_is_undone_for_non_square_images() {
    // A 1280x720 image letterboxed into 640x640: scale 0.5, 140 px of padding on top.
    let frame = PoseFrame {
        id: 3,
        width: 1280,
        height: 720,
        scale: 0.5,
        pad_x: 0.0,
        pad_y: 140.0,
    };
    let people =
        decode(&tensor(&[(320.0, 320.0, 100.0, 60.0, 0.9)]), &frame, &cfg()).expect("decodes");
    let bbox = &people[0].bbox;
    assert!((bbox.x1 - 540.0).abs() < 1e-6 && (bbox.x2 - 740.0).abs() < 1e-6);
    assert!((bbox.y1 - 300.0).abs() < 1e-6 && (bbox.y2 - 420.0).abs() < 1e-6);
    let nose = &people[0].keypoints[0];
    assert_eq!(nose.name, "nose");
    assert!((nose.x - 640.0).abs() < 1e-6 && (nose.y - 360.0).abs() < 1e-6);
    assert_eq!(people[0].keypoints.len(), 17);
    assert_eq!(people[0].keypoints[16].name, "right_ankle");

    // Boxes reaching into the padding are clamped to the image.
    let edge =
        decode(&tensor(&[(20.0, 150.0, 100.0, 40.0, 0.9)]), &frame, &cfg()).expect("decodes");
    assert_eq!(edge[0].bbox.x1, 0.0);
    assert_eq!(edge[0].bbox.y1, 0.0);
}

#[test]
fn malformed_outputs_are_catalog_errors() {
    let mut wrong = tensor(&[]);
    wrong.shape = vec![1, 55, ANCHORS as u32];
    let error = decode(&wrong, &square(0), &cfg()).expect_err("bad shape");
    assert_eq!(error.error_code, "MOVE_ANALYSIS_ERROR");
    assert!(
        error
            .details
            .iter()
            .any(|(k, v)| k == "error_type" && v == "pose_detection_failed")
    );
    let mut short = tensor(&[]);
    short.data.pop();
    assert!(decode(&short, &square(0), &cfg()).is_err());
    let mut bad = cfg();
    bad.confidence = 1.5;
    assert_eq!(
        decode(&tensor(&[]), &square(0), &bad)
            .expect_err("bad cfg")
            .error_code,
        "VALIDATION_ERROR"
    );
}

struct Fake(Vec<Tensor>);

impl Inference for Fake {
    fn infer(&self, frames: &[u32]) -> Result<Vec<Tensor>, String> {
        Ok(frames
            .iter()
            .map(|id| self.0[*id as usize].clone())
            .collect())
    }
}

#[test]
fn detect_runs_every_frame_in_order() {
    let fake = Fake(vec![
        tensor(&[(100.0, 100.0, 10.0, 10.0, 0.9)]),
        tensor(&[]),
    ]);
    let out = detect(&fake, &[square(1), square(0)], &cfg()).expect("detects");
    assert_eq!(out[0].len(), 0);
    assert_eq!(out[1].len(), 1);
    struct Broken;
    impl Inference for Broken {
        fn infer(&self, _: &[u32]) -> Result<Vec<Tensor>, String> {
            Err("session gone".into())
        }
    }
    let error = detect(&Broken, &[square(0)], &cfg()).expect_err("fails");
    assert!(error.message.contains("session gone"));
}

#[test]
fn tensors_round_trip_through_base64_and_malformed_data_is_named() {
    let tensor = Tensor {
        shape: vec![1, 2, 2],
        data: vec![0.0, -1.5, f32::MAX, 1e-30],
    };
    let text = tensor.to_base64();
    assert_eq!(Tensor::from_base64(vec![1, 2, 2], &text), Ok(tensor));
    assert!(Tensor::from_base64(vec![1], "not base64!").is_err());
    assert!(
        Tensor::from_base64(vec![1], "AAA=")
            .expect_err("3 bytes")
            .contains("whole number")
    );
}
