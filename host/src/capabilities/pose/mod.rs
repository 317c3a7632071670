//! The `host-pose` capability: YOLO pose inference through ONNX Runtime (`ort`, library
//! loaded at run time), with image files read and decoded (`file`) and frames letterboxed.
//!
//! ONNX Runtime is found from `ORT_DYLIB_PATH`, else the configured `BACHATA_ORT_LIB`, else an
//! installed Python `onnxruntime` package (`…/onnxruntime/capi/libonnxruntime.so.*`). One
//! session per engine, reused for every frame; the input and output names and the input size
//! are read from the model.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use image::DynamicImage;
use ort::ep;
use ort::session::Session;

use crate::types::config::{Device, YoloConfig};
use crate::types::error::AppError;

mod ahead;
mod file;
mod letterbox;
mod locate;

pub(crate) use ahead::{Ahead, Slot};
pub use file::{
    ImageFileError, MAX_IMAGE_BYTES, MAX_IMAGE_SIDE, check_image_file, decode as decode_image,
    read_image,
};
pub use letterbox::{PAD_VALUE, centred, fit, letterbox};
pub use locate::{find_runtime, library_in_package, resolve_model};

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

/// A loaded pose model: one session, or several of one thread each that run frames side by
/// side ([`PoseEngine::load_parallel`], one worker each in [`Ahead`]).
pub struct PoseEngine {
    sessions: Vec<Mutex<Session>>,
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
        Self::load_sessions(config, 1, config.threads)
    }

    /// Loads the model as `config.threads` sessions of one thread each (the machine's cores
    /// when 0, at most 8), which run the frames of a batch side by side: on a CPU, frames in
    /// parallel keep the cores busier than one frame's operators split across threads. On
    /// CUDA, one session.
    pub fn load_parallel(config: &YoloConfig) -> Result<Self, AppError> {
        if config.device == Device::Cuda {
            return Self::load(config);
        }
        let threads = match config.threads {
            0 => std::thread::available_parallelism().map_or(1, |n| n.get() as u32),
            n => n,
        }
        .clamp(1, 8);
        if threads == 1 {
            return Self::load(config);
        }
        Self::load_sessions(config, threads as usize, 1)
    }

    fn load_sessions(config: &YoloConfig, count: usize, threads: u32) -> Result<Self, AppError> {
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
            Device::Cpu => (builder(threads)?, CPU_PROVIDER),
            Device::Cuda => {
                let builder = builder(threads)?
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
            Device::Auto => match builder(threads)?.with_execution_providers([cuda()]) {
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
        let mut sessions = Vec::with_capacity(count);
        for _ in 0..count {
            sessions.push(builder.commit_from_file(&model).map_err(|error| {
                pose_failed(format!(
                    "cannot load the pose model {}: {error}",
                    model.display()
                ))
            })?);
        }
        let session = &sessions[0];
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
            sessions: sessions.into_iter().map(Mutex::new).collect(),
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

    /// How many frames it runs side by side.
    pub fn parallel(&self) -> usize {
        self.sessions.len()
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
        // A free session if there is one, else the first.
        let mut session = match self
            .sessions
            .iter()
            .find_map(|session| session.try_lock().ok())
        {
            Some(session) => session,
            None => self.sessions[0]
                .lock()
                .map_err(|_| "the pose session is unusable after a failure".to_string())?,
        };
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

/// Frames handed to the policy for one `pose.detect` call, with the engine that runs them.
pub(crate) struct PoseBatch {
    pub(crate) engine: Arc<PoseEngine>,
    /// The frames (only their geometry when their outputs come from `ahead`).
    pub(crate) frames: Vec<PreparedFrame>,
    /// The frames' outputs, when inferred ahead ([`Ahead`]); empty: inferred when asked.
    pub(crate) ahead: Vec<Slot>,
    pub(crate) inference: Mutex<Duration>,
}

impl PoseBatch {
    /// Runs the model on the frames with these ids.
    pub(crate) fn infer(&self, ids: &[u32]) -> Result<Vec<Tensor>, String> {
        if !self.ahead.is_empty() {
            let mut spent = Duration::ZERO;
            let outputs = ids
                .iter()
                .map(|id| {
                    let slot = self
                        .ahead
                        .get(*id as usize)
                        .ok_or_else(|| format!("no frame with id {id}"))?;
                    let (output, took) = slot.take();
                    spent += took;
                    output
                })
                .collect();
            if let Ok(mut total) = self.inference.lock() {
                *total += spent;
            }
            return outputs;
        }
        let started = Instant::now();
        let frames = ids
            .iter()
            .map(|id| {
                self.frames
                    .get(*id as usize)
                    .ok_or_else(|| format!("no frame with id {id}"))
            })
            .collect::<Result<Vec<_>, String>>()?;
        let result = frames
            .iter()
            .map(|frame| self.engine.infer(frame))
            .collect();
        if let Ok(mut total) = self.inference.lock() {
            *total += started.elapsed();
        }
        result
    }
}
