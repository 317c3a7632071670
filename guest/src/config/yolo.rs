//! The YOLO pose section: `YOLOV8_*` (model, thresholds, device, limits) and where the
//! models and the ONNX Runtime library are.

use super::resolver::Resolver;
use super::values::parse_device;
use crate::types::{Device, YoloConfig};

/// Default YOLO pose model.
pub const DEFAULT_YOLO_MODEL: &str = "yolov8n-pose.pt";

/// Resolves the YOLO settings.
pub(super) fn resolve(r: &mut Resolver<'_>) -> YoloConfig {
    let model = r.text("YOLOV8_MODEL", DEFAULT_YOLO_MODEL);
    let confidence = r.fraction("YOLOV8_CONFIDENCE", 0.3);
    let device = r.typed(
        "YOLOV8_DEVICE",
        Device::Cpu,
        "`cpu`, `cuda` or `auto`",
        parse_device,
    );
    let iou_threshold = r.fraction("YOLOV8_IOU_THRESHOLD", 0.5);
    let max_det = r.whole(
        "YOLOV8_MAX_DET",
        10u32,
        1..=10_000,
        "a whole number of detections from 1 to 10000",
    );
    let threads = r.whole(
        "YOLOV8_THREADS",
        0u32,
        0..=1024,
        "a whole number of threads up to 1024 (0 lets ONNX Runtime decide)",
    );
    let models_dir = r.optional("BACHATA_MODELS_DIR");
    let runtime_library = r.optional("BACHATA_ORT_LIB");
    YoloConfig {
        model,
        confidence,
        device,
        iou_threshold,
        max_det,
        threads,
        models_dir,
        runtime_library,
    }
}
