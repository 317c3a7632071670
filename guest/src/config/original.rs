//! The original app's sentence for each configuration rule: callers match on these words, so
//! every problem with one of these variables carries its sentence too (after the variable, the
//! value and what is allowed).

/// The original sentence for a problem with `variable` whose value (as shown) is `value`.
pub(super) fn sentence(variable: &str, value: Option<&str>) -> Option<String> {
    let fixed = match variable {
        "ENVIRONMENT" => {
            let value = value.unwrap_or_default().trim();
            return Some(format!(
                "Invalid ENVIRONMENT: {value}. Must be 'local' or 'cloud'"
            ));
        }
        "GCP_PROJECT_ID" => "GCP_PROJECT_ID environment variable required for cloud environment",
        "ELASTICSEARCH_HOST" => "Elasticsearch connection is required",
        "ELASTICSEARCH_PORT" => "Elasticsearch port must be a positive integer",
        "ELASTICSEARCH_INDEX" => "Elasticsearch index name is required",
        "YOLOV8_MODEL" => "YOLOv8 model name is required",
        "YOLOV8_CONFIDENCE" => "YOLOv8 confidence threshold must be between 0.0 and 1.0",
        "YOLOV8_IOU_THRESHOLD" => "YOLOv8 IoU threshold must be between 0.0 and 1.0",
        "YOLOV8_DEVICE" => "YOLOv8 device must be 'cpu' or 'cuda'",
        _ => return None,
    };
    Some(fixed.to_string())
}
