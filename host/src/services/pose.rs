//! Pose detection: people with boxes and 17 COCO keypoints in image pixels.
//!
//! The host reads, decodes and letterboxes frames and runs the model (the `host-pose`
//! capability); the policy decodes the output (thresholds, NMS, how many people). Drawing the
//! result on the image is here too. [`open_image`] reads an image file: a regular file of at
//! most [`MAX_IMAGE_BYTES`], a whole PNG or JPEG of at most [`MAX_IMAGE_SIDE`] pixels a side.
//!
//! ```no_run
//! use std::sync::Arc;
//! use bachata_common::{Policy, config, pose::PoseDetector};
//! let policy = Arc::new(Policy::embedded()?);
//! let config = config::load(&policy, None)?;
//! let detector = PoseDetector::new(policy, &config.yolo)?;
//! let image = image::open("frame.png").map_err(|e| bachata_common::Error::Io {
//!     path: "frame.png".into(), source: std::io::Error::other(e) })?;
//! for person in detector.detect(&image)? {
//!     println!("person {:.2} at {:?}", person.score, person.bbox);
//! }
//! # Ok::<(), bachata_common::Error>(())
//! ```

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use image::{DynamicImage, Rgb, RgbImage};

use crate::capabilities::pose::{self as capability, ImageFileError, PoseBatch, PoseEngine};
pub use crate::capabilities::pose::{MAX_IMAGE_BYTES, MAX_IMAGE_SIDE};
use crate::runtime::Policy;
use crate::types::config::YoloConfig;
use crate::types::error::{AppError, Error};
use crate::types::pose::{Bbox, Keypoint, Person, StageTimes};

/// Detects people with a loaded model and a policy.
#[derive(Debug, Clone)]
pub struct PoseDetector {
    policy: Arc<Policy>,
    engine: Arc<PoseEngine>,
    config: YoloConfig,
}

impl PoseDetector {
    /// Loads the model named by `config` (see [`PoseEngine::load`]).
    pub fn new(policy: Arc<Policy>, config: &YoloConfig) -> Result<Self, Error> {
        let engine = Arc::new(PoseEngine::load(config)?);
        Ok(Self {
            policy,
            engine,
            config: config.clone(),
        })
    }

    /// The loaded engine (provider, model, input size).
    pub fn engine(&self) -> &PoseEngine {
        &self.engine
    }

    /// The people in one image, best score first.
    pub fn detect(&self, image: &DynamicImage) -> Result<Vec<Person>, Error> {
        let (mut people, _) = self.detect_batch(std::slice::from_ref(image))?;
        Ok(people.pop().unwrap_or_default())
    }

    /// The people in each image, in order, and the time spent per stage.
    pub fn detect_batch(
        &self,
        images: &[DynamicImage],
    ) -> Result<(Vec<Vec<Person>>, StageTimes), Error> {
        let started = Instant::now();
        let frames = images
            .iter()
            .map(|image| self.engine.prepare(image))
            .collect::<Result<Vec<_>, AppError>>()?;
        let preprocess = started.elapsed();
        let batch = Arc::new(PoseBatch {
            engine: Arc::clone(&self.engine),
            frames,
            ahead: Vec::new(),
            inference: Mutex::new(Duration::ZERO),
        });
        let started = Instant::now();
        let people = self.policy.detect_pose(&batch, &self.config)?;
        let total = started.elapsed();
        let inference = batch.inference.lock().map(|d| *d).unwrap_or_default();
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        Ok((
            people,
            StageTimes {
                preprocess_ms: ms(preprocess),
                inference_ms: ms(inference),
                postprocess_ms: ms(total.saturating_sub(inference)),
            },
        ))
    }
}

/// An image file that cannot be used, as an error: the operating system's failures as
/// [`Error::Io`], everything else (missing, not a regular file, too large, not a whole PNG or
/// JPEG) as a `VALIDATION_ERROR` naming the file.
fn image_error(error: ImageFileError) -> Error {
    match error {
        ImageFileError::Io { path, source } => Error::Io { path, source },
        ImageFileError::Missing { ref path }
        | ImageFileError::NotRegular { ref path, .. }
        | ImageFileError::TooLarge { ref path, .. }
        | ImageFileError::Undecodable { ref path, .. } => Error::App(AppError::Validation {
            message: error.to_string(),
            field: Some("INPUT".to_string()),
            value: Some(path.display().to_string()),
            details: Vec::new(),
        }),
    }
}

/// Checks, without opening it, that `path` can be an image: a regular file (links followed)
/// of at most [`MAX_IMAGE_BYTES`].
pub fn check_image_file(path: &Path) -> Result<(), Error> {
    capability::check_image_file(path).map_err(image_error)
}

/// Reads and decodes the image file at `path`: a regular file (a FIFO or device is refused at
/// once) of at most [`MAX_IMAGE_BYTES`], a PNG or JPEG of at most [`MAX_IMAGE_SIDE`] pixels a
/// side, whole (a truncated file is an error naming it).
pub fn open_image(path: &Path) -> Result<DynamicImage, Error> {
    capability::read_image(path).map_err(image_error)
}

/// COCO skeleton: pairs of keypoint indices joined by a bone.
pub const SKELETON: [(usize, usize); 19] = [
    (15, 13),
    (13, 11),
    (16, 14),
    (14, 12),
    (11, 12),
    (5, 11),
    (6, 12),
    (5, 6),
    (5, 7),
    (6, 8),
    (7, 9),
    (8, 10),
    (1, 2),
    (0, 1),
    (0, 2),
    (1, 3),
    (2, 4),
    (3, 5),
    (4, 6),
];

/// Keypoints below this confidence are not drawn.
pub const DRAW_CONFIDENCE: f64 = 0.5;

/// A copy of `image` with each person's box, skeleton and keypoints drawn.
pub fn annotate(image: &DynamicImage, people: &[Person]) -> RgbImage {
    use imageproc::drawing::{draw_filled_circle_mut, draw_hollow_rect_mut, draw_line_segment_mut};
    use imageproc::rect::Rect;
    let mut canvas = image.to_rgb8();
    let box_color = Rgb([255, 64, 32]);
    let bone_color = Rgb([32, 200, 255]);
    let joint_color = Rgb([255, 230, 0]);
    let thickness = ((canvas.width().min(canvas.height()) / 300).max(1)) as i32;
    for person in people {
        let Bbox { x1, y1, x2, y2 } = person.bbox;
        for inset in 0..thickness {
            let width = (x2 - x1) as i32 - 2 * inset;
            let height = (y2 - y1) as i32 - 2 * inset;
            if width > 0 && height > 0 {
                draw_hollow_rect_mut(
                    &mut canvas,
                    Rect::at(x1 as i32 + inset, y1 as i32 + inset)
                        .of_size(width as u32, height as u32),
                    box_color,
                );
            }
        }
        let visible = |k: &Keypoint| k.confidence >= DRAW_CONFIDENCE;
        for (a, b) in SKELETON {
            if let (Some(a), Some(b)) = (person.keypoints.get(a), person.keypoints.get(b))
                && visible(a)
                && visible(b)
            {
                for offset in 0..thickness {
                    let o = offset as f32;
                    draw_line_segment_mut(
                        &mut canvas,
                        (a.x as f32 + o, a.y as f32),
                        (b.x as f32 + o, b.y as f32),
                        bone_color,
                    );
                }
            }
        }
        for keypoint in person.keypoints.iter().filter(|k| visible(k)) {
            draw_filled_circle_mut(
                &mut canvas,
                (keypoint.x as i32, keypoint.y as i32),
                thickness + 2,
                joint_color,
            );
        }
    }
    canvas
}
