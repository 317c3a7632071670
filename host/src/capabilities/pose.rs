//! The `host-pose` capability: YOLO pose inference through ONNX Runtime (`ort`, library
//! loaded at run time), with frame decoding and letterboxing.
//!
//! ONNX Runtime is found from `ORT_DYLIB_PATH`, else the configured `BACHATA_ORT_LIB`, else an
//! installed Python `onnxruntime` package (`…/onnxruntime/capi/libonnxruntime.so.*`). One
//! session per engine, reused for every frame; the input and output names and the input size
//! are read from the model.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use fast_image_resize as fir;
use image::{DynamicImage, RgbImage};
use ort::ep;
use ort::session::Session;

use crate::types::config::{Device, YoloConfig};
use crate::types::error::AppError;

/// Grey used for the letterbox padding.
pub const PAD_VALUE: u8 = 114;
const CPU_PROVIDER: &str = "CPUExecutionProvider";
const CUDA_PROVIDER: &str = "CUDAExecutionProvider";

fn unavailable(service: &str, message: String) -> AppError {
    AppError::ServiceUnavailable {
        message,
        service_name: Some(service.to_string()),
        details: Vec::new(),
    }
}

fn pose_failed(message: String) -> AppError {
    AppError::MoveAnalysis {
        message,
        video_path: None,
        details: vec![(
            "error_type".to_string(),
            "pose_detection_failed".to_string(),
        )],
    }
}

fn invalid(field: &str, value: &str, message: String) -> AppError {
    AppError::Validation {
        message,
        field: Some(field.to_string()),
        value: Some(value.to_string()),
        details: Vec::new(),
    }
}

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

/// The process-wide ONNX Runtime environment (the library can be loaded once per process).
fn environment(library: &Path) -> Result<&'static ort::environment::Environment, AppError> {
    static ENVIRONMENT: OnceLock<Result<ort::environment::Environment, String>> = OnceLock::new();
    ENVIRONMENT
        .get_or_init(|| {
            ort::init_from(library)
                .map_err(|error| {
                    format!(
                        "cannot load ONNX Runtime from {}: {error}",
                        library.display()
                    )
                })?
                .with_name("bachata-common")
                .build()
                .map_err(|error| format!("cannot start ONNX Runtime: {error}"))
        })
        .as_ref()
        .map_err(|reason| unavailable("onnxruntime", reason.clone()))
}

/// A frame decoded and letterboxed for the model.
#[derive(Debug, Clone)]
pub struct PreparedFrame {
    /// Original width.
    pub width: u32,
    /// Original height.
    pub height: u32,
    /// Model pixels per image pixel.
    pub scale: f64,
    /// Left padding in model pixels.
    pub pad_x: f64,
    /// Top padding in model pixels.
    pub pad_y: f64,
    /// The model input, `3 × H × W`, RGB, values in [0, 1].
    pub input: Vec<f32>,
}

/// One output tensor.
#[derive(Debug, Clone, PartialEq)]
pub struct Tensor {
    /// Dimensions.
    pub shape: Vec<u32>,
    /// Values.
    pub data: Vec<f32>,
}

/// A loaded pose model.
pub struct PoseEngine {
    session: Mutex<Session>,
    input_name: String,
    input_width: u32,
    input_height: u32,
    provider: &'static str,
    model: PathBuf,
    load_ms: f64,
}

impl std::fmt::Debug for PoseEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PoseEngine")
            .field("model", &self.model)
            .field("provider", &self.provider)
            .field("input", &(self.input_width, self.input_height))
            .finish_non_exhaustive()
    }
}

impl PoseEngine {
    /// Loads the model named by `config` on its device.
    pub fn load(config: &YoloConfig) -> Result<Self, AppError> {
        let started = Instant::now();
        let model = resolve_model(&config.model, config.models_dir.as_deref())?;
        let library = find_runtime(config.runtime_library.as_deref())?;
        let environment = environment(&library)?;
        let builder = |threads: u32| -> Result<ort::session::builder::SessionBuilder, AppError> {
            let builder = Session::builder(environment).map_err(|error| {
                unavailable("onnxruntime", format!("cannot create a session: {error}"))
            })?;
            if threads == 0 {
                return Ok(builder);
            }
            builder
                .with_intra_threads(threads as usize)
                .map_err(|error| {
                    invalid(
                        "YOLOV8_THREADS",
                        &threads.to_string(),
                        format!("cannot use {threads} threads: {error}"),
                    )
                })
        };
        let cuda = || ep::CUDA::default().build().error_on_failure();
        let (builder, provider) = match config.device {
            Device::Cpu => (builder(config.threads)?, CPU_PROVIDER),
            Device::Cuda => {
                let builder = builder(config.threads)?
                    .with_execution_providers([cuda()])
                    .map_err(|error| {
                        unavailable(
                            "cuda",
                            format!(
                                "YOLOV8_DEVICE=cuda but the {CUDA_PROVIDER} could not be registered: {}. \
                                 Install onnxruntime-gpu with a matching CUDA and cuDNN on a machine with an \
                                 NVIDIA GPU, or set YOLOV8_DEVICE=cpu (or auto to fall back)",
                                error.message()
                            ),
                        )
                    })?;
                (builder, CUDA_PROVIDER)
            }
            Device::Auto => match builder(config.threads)?.with_execution_providers([cuda()]) {
                Ok(builder) => (builder, CUDA_PROVIDER),
                Err(error) => {
                    tracing::warn!(
                        reason = %error.message(),
                        "YOLOV8_DEVICE=auto: the {CUDA_PROVIDER} is not available; running pose inference on the CPU"
                    );
                    (error.recover(), CPU_PROVIDER)
                }
            },
        };
        let mut builder = builder;
        let session = builder.commit_from_file(&model).map_err(|error| {
            pose_failed(format!(
                "cannot load the pose model {}: {error}",
                model.display()
            ))
        })?;
        let (input_name, input_width, input_height) = {
            let input = session.inputs().first().ok_or_else(|| {
                pose_failed(format!("the model {} has no input", model.display()))
            })?;
            let dims: Vec<i64> = input
                .dtype()
                .tensor_shape()
                .map(|shape| shape.iter().copied().collect())
                .unwrap_or_default();
            let size = |index: usize| match dims.get(index) {
                Some(&d) if d > 0 => u32::try_from(d).unwrap_or(640),
                _ => 640,
            };
            if dims.len() != 4 {
                return Err(pose_failed(format!(
                    "the model {} takes input {:?}; expected [batch, 3, height, width]",
                    model.display(),
                    dims
                )));
            }
            (input.name().to_string(), size(3), size(2))
        };
        if session.outputs().is_empty() {
            return Err(pose_failed(format!(
                "the model {} has no output",
                model.display()
            )));
        }
        let load_ms = started.elapsed().as_secs_f64() * 1000.0;
        tracing::info!(model = %model.display(), provider, load_ms, "pose model loaded");
        Ok(Self {
            session: Mutex::new(session),
            input_name,
            input_width,
            input_height,
            provider,
            model,
            load_ms,
        })
    }

    /// The execution provider in use (`CPUExecutionProvider` or `CUDAExecutionProvider`).
    pub fn provider(&self) -> &'static str {
        self.provider
    }

    /// The model file.
    pub fn model(&self) -> &Path {
        &self.model
    }

    /// How long loading took, in milliseconds.
    pub fn load_ms(&self) -> f64 {
        self.load_ms
    }

    /// The model's input size (width, height).
    pub fn input_size(&self) -> (u32, u32) {
        (self.input_width, self.input_height)
    }

    /// Letterboxes a decoded image for this model.
    pub fn prepare(&self, image: &DynamicImage) -> Result<PreparedFrame, AppError> {
        letterbox(image, self.input_width, self.input_height)
    }

    /// Runs the model on one prepared frame.
    pub fn infer(&self, frame: &PreparedFrame) -> Result<Tensor, String> {
        let shape = [
            1i64,
            3,
            i64::from(self.input_height),
            i64::from(self.input_width),
        ];
        let input = ort::value::TensorRef::from_array_view((shape, frame.input.as_slice()))
            .map_err(|error| format!("cannot build the input tensor: {error}"))?;
        let mut session = self
            .session
            .lock()
            .map_err(|_| "the pose session is unusable after a failure".to_string())?;
        let outputs = session
            .run(ort::inputs![self.input_name.as_str() => input])
            .map_err(|error| format!("inference failed: {error}"))?;
        let (shape, data) = outputs[0]
            .try_extract_tensor::<f32>()
            .map_err(|error| format!("unexpected model output: {error}"))?;
        Ok(Tensor {
            shape: shape
                .iter()
                .map(|d| u32::try_from(*d).unwrap_or(0))
                .collect(),
            data: data.to_vec(),
        })
    }
}

/// Resizes `image` to fit `width × height` keeping its aspect ratio, centres it on a grey
/// (114) canvas, and lays it out as planar RGB floats in [0, 1].
pub fn letterbox(image: &DynamicImage, width: u32, height: u32) -> Result<PreparedFrame, AppError> {
    let rgb: RgbImage = image.to_rgb8();
    let (source_width, source_height) = rgb.dimensions();
    if source_width == 0 || source_height == 0 {
        return Err(pose_failed("the image is empty".to_string()));
    }
    let scale = (f64::from(width) / f64::from(source_width))
        .min(f64::from(height) / f64::from(source_height));
    let new_width = ((f64::from(source_width) * scale).round() as u32).clamp(1, width);
    let new_height = ((f64::from(source_height) * scale).round() as u32).clamp(1, height);
    let source = fir::images::Image::from_vec_u8(
        source_width,
        source_height,
        rgb.into_raw(),
        fir::PixelType::U8x3,
    )
    .map_err(|error| pose_failed(format!("cannot read the image for resizing: {error}")))?;
    let mut resized = fir::images::Image::new(new_width, new_height, fir::PixelType::U8x3);
    fir::Resizer::new()
        .resize(
            &source,
            &mut resized,
            &fir::ResizeOptions::new()
                .resize_alg(fir::ResizeAlg::Convolution(fir::FilterType::Bilinear)),
        )
        .map_err(|error| pose_failed(format!("cannot resize the image: {error}")))?;
    let pad_x = (width - new_width) / 2;
    let pad_y = (height - new_height) / 2;
    let plane = (width * height) as usize;
    let pad = f32::from(PAD_VALUE) / 255.0;
    let mut input = vec![pad; plane * 3];
    let pixels = resized.buffer();
    let row_bytes = new_width as usize * 3;
    for y in 0..new_height as usize {
        let row = &pixels[y * row_bytes..(y + 1) * row_bytes];
        let base = (y + pad_y as usize) * width as usize + pad_x as usize;
        for (x, rgb) in row.chunks_exact(3).enumerate() {
            for (channel, value) in rgb.iter().enumerate() {
                input[channel * plane + base + x] = f32::from(*value) / 255.0;
            }
        }
    }
    Ok(PreparedFrame {
        width: source_width,
        height: source_height,
        scale,
        pad_x: f64::from(pad_x),
        pad_y: f64::from(pad_y),
        input,
    })
}

/// Frames handed to the policy for one `pose.detect` call, with the engine that runs them.
pub(crate) struct PoseBatch {
    pub(crate) engine: Arc<PoseEngine>,
    pub(crate) frames: Vec<PreparedFrame>,
    pub(crate) inference: Mutex<Duration>,
}

impl PoseBatch {
    /// Runs the model on the frames with these ids.
    pub(crate) fn infer(&self, ids: &[u32]) -> Result<Vec<Tensor>, String> {
        let started = Instant::now();
        let result = ids
            .iter()
            .map(|id| {
                let frame = self
                    .frames
                    .get(*id as usize)
                    .ok_or_else(|| format!("no frame with id {id}"))?;
                self.engine.infer(frame)
            })
            .collect();
        if let Ok(mut total) = self.inference.lock() {
            *total += started.elapsed();
        }
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn letterbox_keeps_aspect_and_centres() {
        let image =
            DynamicImage::ImageRgb8(RgbImage::from_pixel(200, 100, image::Rgb([255, 0, 0])));
        let frame = letterbox(&image, 64, 64).expect("letterbox");
        assert_eq!((frame.width, frame.height), (200, 100));
        assert!((frame.scale - 0.32).abs() < 1e-9);
        assert_eq!((frame.pad_x, frame.pad_y), (0.0, 16.0));
        let plane = 64 * 64;
        // Top padding is grey, the centre is red.
        assert!((frame.input[0] - 114.0 / 255.0).abs() < 1e-6);
        let centre = 32 * 64 + 32;
        assert!((frame.input[centre] - 1.0).abs() < 1e-6);
        assert!(frame.input[plane + centre].abs() < 1e-6);
        assert_eq!(frame.input.len(), 3 * plane);
    }

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
