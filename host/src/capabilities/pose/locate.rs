//! Finding ONNX Runtime (`ORT_DYLIB_PATH`, the configured library, an installed Python
//! `onnxruntime` package) and the model file.

use std::path::{Path, PathBuf};

use super::{invalid, unavailable};
use crate::types::error::AppError;

/// Finds the ONNX Runtime shared library.
pub fn find_runtime(configured: Option<&Path>) -> Result<PathBuf, AppError> {
    let install_hint = "install it with `pip install onnxruntime==1.31.1` (or `onnxruntime-gpu` for CUDA) \
                        or point ORT_DYLIB_PATH at libonnxruntime.so";
    if let Some(path) = std::env::var_os("ORT_DYLIB_PATH").filter(|p| !p.is_empty()) {
        let path = PathBuf::from(path);
        return if path.is_file() {
            Ok(path)
        } else {
            Err(unavailable(
                "onnxruntime",
                format!(
                    "ORT_DYLIB_PATH={} does not exist; {install_hint}",
                    path.display()
                ),
            ))
        };
    }
    if let Some(path) = configured {
        return if path.is_file() {
            Ok(path.to_path_buf())
        } else {
            Err(unavailable(
                "onnxruntime",
                format!(
                    "BACHATA_ORT_LIB={} does not exist; {install_hint}",
                    path.display()
                ),
            ))
        };
    }
    python_onnxruntime().ok_or_else(|| {
        unavailable(
            "onnxruntime",
            format!("ONNX Runtime was not found; {install_hint}"),
        )
    })
}

/// The library inside an installed Python `onnxruntime` package, if any.
fn python_onnxruntime() -> Option<PathBuf> {
    let output = std::process::Command::new("python3")
        .args([
            "-c",
            "import os, onnxruntime; print(os.path.dirname(onnxruntime.__file__))",
        ])
        .stderr(std::process::Stdio::null())
        .output()
        .ok()?;
    if !output.status.success() {
        return None;
    }
    let package = PathBuf::from(String::from_utf8(output.stdout).ok()?.trim());
    library_in_package(&package)
}

/// The ONNX Runtime library inside an `onnxruntime` Python package directory
/// (`capi/libonnxruntime.so.*`, the most specific versioned name), if there is one.
pub fn library_in_package(package: &Path) -> Option<PathBuf> {
    let mut libraries: Vec<PathBuf> = std::fs::read_dir(package.join("capi"))
        .ok()?
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| {
            path.file_name()
                .and_then(|name| name.to_str())
                .is_some_and(|name| name.starts_with("libonnxruntime.so"))
        })
        .collect();
    libraries.sort();
    libraries.pop()
}

/// Resolves the model path: `.pt` is refused with how to export it; a relative path is looked
/// up in the models directory, then the working directory.
pub fn resolve_model(model: &str, models_dir: Option<&Path>) -> Result<PathBuf, AppError> {
    if model.ends_with(".pt") {
        return Err(invalid(
            "YOLOV8_MODEL",
            model,
            format!(
                "YOLOV8_MODEL={model} is a PyTorch checkpoint, which ONNX Runtime cannot load; \
                 export it first with `yolo export model={model} format=onnx` and set \
                 YOLOV8_MODEL to the .onnx file"
            ),
        ));
    }
    let path = Path::new(model);
    let mut candidates = Vec::new();
    if path.is_absolute() {
        candidates.push(path.to_path_buf());
    } else {
        if let Some(dir) = models_dir {
            candidates.push(dir.join(path));
        }
        candidates.push(path.to_path_buf());
    }
    candidates
        .iter()
        .find(|candidate| candidate.is_file())
        .cloned()
        .ok_or_else(|| {
            let looked: Vec<String> = candidates.iter().map(|c| c.display().to_string()).collect();
            invalid(
                "YOLOV8_MODEL",
                model,
                format!(
                    "model file not found (looked at {}); set YOLOV8_MODEL to an .onnx file \
                     or BACHATA_MODELS_DIR to its directory",
                    looked.join(", ")
                ),
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pt_models_and_missing_files_are_clear_errors() {
        let error = resolve_model("yolov8n-pose.pt", None).expect_err(".pt");
        assert!(
            error
                .message()
                .contains("yolo export model=yolov8n-pose.pt format=onnx")
        );
        let error =
            resolve_model("missing.onnx", Some(Path::new("/nonexistent"))).expect_err("missing");
        assert!(error.message().contains("/nonexistent/missing.onnx"));
        assert_eq!(error.error_code(), "VALIDATION_ERROR");
    }
}
