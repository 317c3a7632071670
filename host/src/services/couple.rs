//! The couple detector of the video service: a video's frames sampled to a target rate,
//! people detected in batches (`pose.detect`), followed from frame to frame and cast as lead
//! and follow by the policy (`couple.update`), as the original `YOLOv8CoupleDetector` did.
//!
//! Frames are decoded by FFmpeg ahead of inference ([`crate::capabilities::video`]), each
//! result is handed to a sink as soon as it is known, and nothing grows with the video's
//! length. A decoder error fails the whole video: no partial result is claimed for a
//! truncated or corrupt file. A batch whose detection fails keeps its frames as empty entries
//! (the original's rule), so that timing holds.
//!
//! ```no_run
//! use std::sync::Arc;
//! use bachata_common::{Policy, config, pose::CoupleDetector};
//! let policy = Arc::new(Policy::embedded()?);
//! let config = config::load(&policy, None)?;
//! let mut detector = CoupleDetector::new(policy, &config.yolo, Default::default())?;
//! let summary = detector.detect_video("dance.mp4".as_ref(), 15.0, &mut |frame, _| {
//!     println!("{:.2}s: {} people, lead {:?}", frame.timestamp, frame.people.len(), frame.lead);
//!     Ok(())
//! })?;
//! println!("both dancers in {:.0}% of the frames", summary.rate.rate * 100.0);
//! # Ok::<(), bachata_common::Error>(())
//! ```

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use image::{DynamicImage, RgbImage};
use serde::Serialize;

use crate::capabilities::pose::{Ahead, PoseBatch, PoseEngine, centred, fit, letterbox};
use crate::capabilities::video::{Decoder, Sampling, VideoError, VideoFrame, VideoInfo};
use crate::runtime::Policy;
use crate::types::config::YoloConfig;
use crate::types::couple::{DetectionRate, TrackerConfig, TrackerState};
use crate::types::error::{AppError, Error};
use crate::types::pose::{Bbox, Person};

/// Frames detected per call of the policy.
pub const BATCH: usize = 8;

/// Where each processed frame goes, in order, with its image when asked for.
pub type FrameSink<'a> = dyn FnMut(&CoupleFrame, Option<&RgbImage>) -> Result<(), Error> + 'a;

/// One person of a processed frame, with the id the tracker gave them.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TrackedPerson {
    /// The track id, stable while the tracker follows the person.
    pub id: u64,
    /// Detection score, box and keypoints.
    #[serde(flatten)]
    pub person: Person,
}

/// One processed frame.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CoupleFrame {
    /// Its place among the processed frames (0, 1, 2, …).
    pub frame_idx: u64,
    /// Its index among the video's frames.
    pub source_frame: u64,
    /// Its presentation time in seconds.
    pub timestamp: f64,
    /// The people found, in detection order.
    pub people: Vec<TrackedPerson>,
    /// The lead's index in `people`.
    pub lead: Option<usize>,
    /// The follow's index in `people`.
    pub follow: Option<usize>,
    /// Why detection failed on this frame (it is then kept empty).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl CoupleFrame {
    /// Whether both a lead and a follow were found.
    pub fn has_both_dancers(&self) -> bool {
        self.lead.is_some() && self.follow.is_some()
    }

    /// The lead, if found.
    pub fn lead(&self) -> Option<&TrackedPerson> {
        self.lead.and_then(|i| self.people.get(i))
    }

    /// The follow, if found.
    pub fn follow(&self) -> Option<&TrackedPerson> {
        self.follow.and_then(|i| self.people.get(i))
    }
}

/// How a video went.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VideoSummary {
    /// What the probe found.
    #[serde(skip)]
    pub info: VideoInfo,
    /// Frames kept: every `frame_skip`-th of the video.
    pub frame_skip: u64,
    /// Frames processed.
    pub processed: u64,
    /// Frames with both dancers.
    pub both: u64,
    /// Frames whose detection failed (kept empty).
    pub failed: u64,
    /// The policy's detection rate.
    pub rate: DetectionRate,
    /// The lead's mean score over the processed frames (0 where there was none).
    pub average_confidence: f64,
    /// Time spent in inference.
    pub inference_ms: f64,
    /// Wall time.
    pub elapsed_ms: f64,
}

/// What the video at `path` holds (its first video stream), read by `ffprobe`: a missing,
/// special, empty or unreadable file is a `VALIDATION_ERROR` naming it.
pub fn probe_video(path: &Path) -> Result<VideoInfo, Error> {
    crate::capabilities::video::probe(path).map_err(video_error)
}

/// `max(1, int(original_fps / target_fps))`, the original's rule.
pub fn frame_skip(original_fps: f64, target_fps: f64) -> u64 {
    let ratio = (original_fps / target_fps).floor();
    if ratio >= 1.0 {
        // Saturating: a ratio past u64 (an infinitesimal target) keeps the first frame only.
        ratio.min(u64::MAX as f64) as u64
    } else {
        1
    }
}

fn video_error(error: VideoError) -> Error {
    match error {
        VideoError::Io { path, source } => Error::Io { path, source },
        VideoError::Tool { .. } => Error::App(AppError::ServiceUnavailable {
            message: error.to_string(),
            service_name: Some("ffmpeg".to_string()),
            details: Vec::new(),
        }),
        other => {
            let path = match &other {
                VideoError::Missing { path }
                | VideoError::NotRegular { path, .. }
                | VideoError::NotVideo { path, .. }
                | VideoError::Decode { path, .. } => path.display().to_string(),
                _ => String::new(),
            };
            Error::App(AppError::Validation {
                message: other.to_string(),
                field: Some("VIDEO".to_string()),
                value: Some(path),
                details: Vec::new(),
            })
        }
    }
}

/// Detects and follows a couple through videos.
#[derive(Debug)]
pub struct CoupleDetector {
    policy: Arc<Policy>,
    engine: Arc<PoseEngine>,
    config: YoloConfig,
    tracker: TrackerConfig,
    state: TrackerState,
}

impl CoupleDetector {
    /// Loads the model named by `config` ([`PoseEngine::load_parallel`]: `YOLOV8_THREADS`
    /// sessions of one thread each on a CPU).
    pub fn new(
        policy: Arc<Policy>,
        config: &YoloConfig,
        tracker: TrackerConfig,
    ) -> Result<Self, Error> {
        let engine = Arc::new(PoseEngine::load_parallel(config)?);
        Ok(Self {
            policy,
            engine,
            config: config.clone(),
            tracker,
            state: TrackerState::default(),
        })
    }

    /// The loaded engine.
    pub fn engine(&self) -> &PoseEngine {
        &self.engine
    }

    /// Forgets every track: ids start again from 0 (call it between videos).
    pub fn reset_tracker(&mut self) {
        self.state = TrackerState::default();
    }

    /// The tracker's state now.
    pub fn tracker_state(&self) -> &TrackerState {
        &self.state
    }

    /// Runs the video at `path` at `target_fps`: each processed frame goes to `sink` in order,
    /// with the decoded image when `images` is set (at the video's size, for drawing). The
    /// tracker carries on from earlier videos until [`CoupleDetector::reset_tracker`].
    pub fn detect_video(
        &mut self,
        path: &Path,
        target_fps: f64,
        sink: &mut FrameSink<'_>,
    ) -> Result<VideoSummary, Error> {
        self.run(path, target_fps, false, sink)
    }

    /// [`CoupleDetector::detect_video`] handing each frame's image to `sink` too.
    pub fn detect_video_with_images(
        &mut self,
        path: &Path,
        target_fps: f64,
        sink: &mut FrameSink<'_>,
    ) -> Result<VideoSummary, Error> {
        self.run(path, target_fps, true, sink)
    }

    fn run(
        &mut self,
        path: &Path,
        target_fps: f64,
        images: bool,
        sink: &mut FrameSink<'_>,
    ) -> Result<VideoSummary, Error> {
        if !(target_fps.is_finite() && target_fps > 0.0) {
            return Err(Error::App(AppError::Validation {
                message: format!("target fps must be a positive number, not {target_fps}"),
                field: Some("target_fps".to_string()),
                value: Some(target_fps.to_string()),
                details: Vec::new(),
            }));
        }
        let started = Instant::now();
        let (model_width, model_height) = self.engine.input_size();
        let mut decoder = Decoder::open(path, |info| {
            let (width, height) = if images {
                (info.width, info.height)
            } else {
                let (_, w, h) = fit(info.width, info.height, model_width, model_height);
                (w, h)
            };
            Sampling {
                every: frame_skip(info.fps, target_fps),
                width,
                height,
            }
        })
        .map_err(video_error)?;
        let info = decoder.info().clone();
        let every = frame_skip(info.fps, target_fps);
        let mut totals = Totals::default();
        let engine = Arc::clone(&self.engine);
        std::thread::scope(|scope| -> Result<(), Error> {
            // Batch k+1 is inferred while the policy decodes batch k.
            let ahead = Ahead::start(scope, &engine, 2 * BATCH);
            let mut inflight: Option<Prepared> = None;
            loop {
                let mut frames = Vec::with_capacity(BATCH);
                let mut end = false;
                while frames.len() < BATCH {
                    match decoder.next().transpose().map_err(video_error)? {
                        Some(frame) => frames.push(frame),
                        None => {
                            end = true;
                            break;
                        }
                    }
                }
                let next = if frames.is_empty() {
                    None
                } else {
                    Some(self.prepare(&info, frames, images, &ahead)?)
                };
                if let Some(previous) = inflight.take() {
                    self.finish(previous, &mut totals, sink)?;
                }
                inflight = next;
                if end {
                    if let Some(last) = inflight.take() {
                        self.finish(last, &mut totals, sink)?;
                    }
                    return Ok(());
                }
            }
        })?;
        decoder.finish(path).map_err(video_error)?;
        if totals.processed == 0 {
            return Err(Error::App(AppError::Validation {
                message: format!("no frames processed from video {}", path.display()),
                field: Some("VIDEO".to_string()),
                value: Some(path.display().to_string()),
                details: Vec::new(),
            }));
        }
        let rate = self.policy.detection_rate(totals.processed, totals.both)?;
        let summary = VideoSummary {
            info,
            frame_skip: every,
            processed: totals.processed,
            both: totals.both,
            failed: totals.failed,
            rate,
            average_confidence: totals.lead_confidence / totals.processed as f64,
            inference_ms: totals.inference.as_secs_f64() * 1000.0,
            elapsed_ms: started.elapsed().as_secs_f64() * 1000.0,
        };
        tracing::info!(
            video = %crate::types::text::printable(&path.display().to_string()),
            processed = summary.processed,
            detection_rate = summary.rate.rate,
            average_confidence = summary.average_confidence,
            "couple detection complete"
        );
        if summary.rate.low {
            tracing::warn!(
                video = %crate::types::text::printable(&path.display().to_string()),
                detection_rate = summary.rate.rate,
                "low couple detection rate: {:.1}% of the frames have both dancers",
                summary.rate.rate * 100.0
            );
        }
        Ok(summary)
    }

    /// Prepares a batch of decoded frames and queues them for inference.
    fn prepare(
        &self,
        info: &VideoInfo,
        frames: Vec<VideoFrame>,
        images: bool,
        ahead: &Ahead,
    ) -> Result<Prepared, Error> {
        let (model_width, model_height) = self.engine.input_size();
        let mut pictures = Vec::new();
        let mut geometry = Vec::with_capacity(frames.len());
        let mut slots = Vec::with_capacity(frames.len());
        let mut meta = Vec::with_capacity(frames.len());
        for frame in frames {
            let prepared = if images {
                let picture =
                    RgbImage::from_raw(info.width, info.height, frame.rgb).ok_or_else(|| {
                        Error::App(AppError::Validation {
                            message: "a decoded frame does not match the video's size".to_string(),
                            field: Some("VIDEO".to_string()),
                            value: None,
                            details: Vec::new(),
                        })
                    })?;
                let picture = DynamicImage::ImageRgb8(picture);
                let prepared = letterbox(&picture, model_width, model_height)?;
                pictures.push(picture.into_rgb8());
                prepared
            } else {
                let (scale, w, h) = fit(info.width, info.height, model_width, model_height);
                centred(
                    &frame.rgb,
                    (w, h),
                    (info.width, info.height),
                    scale,
                    (model_width, model_height),
                )
            };
            let (slot, shape) = ahead.submit(prepared);
            slots.push(slot);
            geometry.push(shape);
            meta.push((frame.index, frame.timestamp));
        }
        Ok(Prepared {
            meta,
            pictures,
            batch: Arc::new(PoseBatch {
                engine: Arc::clone(&self.engine),
                frames: geometry,
                ahead: slots,
                inference: Mutex::new(Duration::ZERO),
            }),
        })
    }

    /// Detects (the policy decoding the outputs inferred ahead), tracks and hands over one
    /// batch of frames.
    fn finish(
        &mut self,
        prepared: Prepared,
        totals: &mut Totals,
        sink: &mut FrameSink<'_>,
    ) -> Result<(), Error> {
        let Prepared {
            meta,
            pictures,
            batch,
        } = prepared;
        let detected = self.policy.detect_pose(&batch, &self.config);
        totals.inference += batch.inference.lock().map(|d| *d).unwrap_or_default();
        let (people, failure) = match detected {
            Ok(people) => (people, None),
            // A frame that fails is kept as an empty entry so that timing holds; the tracker
            // does not see it (the original's rule).
            Err(error @ Error::App(_)) => (Vec::new(), Some(error.to_string())),
            Err(error) => return Err(error),
        };
        let roles = if failure.is_none() {
            let boxes: Vec<Vec<Bbox>> = people
                .iter()
                .map(|frame| frame.iter().map(|p| p.bbox).collect())
                .collect();
            self.policy
                .track_couple(&mut self.state, &boxes, &self.tracker)?
        } else {
            tracing::warn!(reason = failure.as_deref().unwrap_or(""), "frames failed");
            Vec::new()
        };
        let mut people = people.into_iter();
        let mut roles = roles.into_iter();
        for (index, (source_frame, timestamp)) in meta.into_iter().enumerate() {
            let (found, who) = match (&failure, people.next(), roles.next()) {
                (None, Some(found), Some(who)) => (found, who),
                _ => (Vec::new(), Default::default()),
            };
            let couple = CoupleFrame {
                frame_idx: totals.processed,
                source_frame,
                timestamp,
                people: found
                    .into_iter()
                    .zip(who.ids)
                    .map(|(person, id)| TrackedPerson { id, person })
                    .collect(),
                lead: who.lead,
                follow: who.follow,
                error: failure.clone(),
            };
            totals.processed += 1;
            totals.failed += u64::from(couple.error.is_some());
            totals.both += u64::from(couple.has_both_dancers());
            totals.lead_confidence += couple.lead().map_or(0.0, |lead| lead.person.score);
            sink(&couple, pictures.get(index))?;
        }
        Ok(())
    }
}

/// A batch queued for inference: each frame's index and time, and its image when drawing.
struct Prepared {
    meta: Vec<(u64, f64)>,
    pictures: Vec<RgbImage>,
    batch: Arc<PoseBatch>,
}

#[derive(Default)]
struct Totals {
    processed: u64,
    both: u64,
    failed: u64,
    lead_confidence: f64,
    inference: Duration,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_skip_is_the_originals() {
        assert_eq!(frame_skip(30.0, 15.0), 2);
        assert_eq!(frame_skip(29.97, 15.0), 1);
        assert_eq!(frame_skip(60.0, 15.0), 4);
        assert_eq!(frame_skip(10.0, 15.0), 1);
        assert_eq!(frame_skip(30.0, 1.0), 30);
        assert_eq!(frame_skip(30.0, 1e-300), u64::MAX);
        assert_eq!(frame_skip(f64::NAN, 15.0), 1);
        assert_eq!(frame_skip(30.0, 4.9e-324), u64::MAX);
    }
}
