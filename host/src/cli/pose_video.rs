//! `bachata-common pose VIDEO…`: the couple detector on videos. One JSON line per processed
//! frame (to standard output, or to the `--jsonl` file, which appears only once whole), a
//! progress bar with frames per second on a terminal, and the summary on standard error.
//! `--annotate OUT.mp4` writes the processed frames with boxes and skeletons drawn, encoded by
//! `ffmpeg`, the file appearing only once whole.

use std::io::{BufWriter, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use serde_json::json;

use bachata_common::config::YoloConfig;
use bachata_common::pose::{CoupleDetector, CoupleFrame, TrackerConfig, annotate, frame_skip};
use bachata_common::text::printable;
use bachata_common::{AppError, Error, Policy};

use super::video_output::{Encoder, Output, catch_signals, invalid, stop_signal};

/// Extensions read as videos.
pub const VIDEO_EXTENSIONS: [&str; 7] = ["mp4", "m4v", "mov", "webm", "mkv", "avi", "ts"];

/// Whether `path` names a video by its extension.
pub fn is_video(path: &Path) -> bool {
    path.extension()
        .and_then(|ext| ext.to_str())
        .is_some_and(|ext| VIDEO_EXTENSIONS.contains(&ext.to_ascii_lowercase().as_str()))
}

/// Most pixels of a frame drawn by `--annotate` (4K UHD): whole frames are held in flight.
const MAX_ANNOTATED_PIXELS: u64 = 3840 * 2160;

/// Extensions `--annotate` writes (an MP4 file).
const ANNOTATED_EXTENSIONS: [&str; 3] = ["mp4", "m4v", "mov"];

/// Whether `a` and `b` are the same file (both exist and share device and inode).
fn same_file(a: &Path, b: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (std::fs::metadata(a), std::fs::metadata(b)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}

/// What the command was asked.
#[derive(Debug)]
pub struct VideoArgs<'a> {
    /// The videos, in order.
    pub videos: &'a [PathBuf],
    /// Frames per second processed.
    pub fps: f64,
    /// Lead/follow and the detection rate.
    pub couple: bool,
    /// The annotated video to write.
    pub annotate: Option<&'a Path>,
    /// The JSON Lines file to write (`-`: standard output).
    pub jsonl: Option<&'a Path>,
}

/// One frame as a JSON line.
fn line(video: &Path, frame: &CoupleFrame, couple: bool) -> serde_json::Value {
    let mut value = json!({
        "video": video,
        "frame_idx": frame.frame_idx,
        "source_frame": frame.source_frame,
        "timestamp": frame.timestamp,
        "people": frame.people,
    });
    if couple {
        value["lead"] = json!(frame.lead);
        value["follow"] = json!(frame.follow);
        value["lead_id"] = json!(frame.lead().map(|p| p.id));
        value["follow_id"] = json!(frame.follow().map(|p| p.id));
        value["has_both_dancers"] = json!(frame.has_both_dancers());
    }
    if let Some(error) = &frame.error {
        value["error"] = json!(error);
    }
    value
}

/// Runs the command on videos.
pub fn run(
    policy: Arc<Policy>,
    config: &YoloConfig,
    args: &VideoArgs<'_>,
) -> Result<ExitCode, Error> {
    if !(args.fps.is_finite() && args.fps > 0.0) {
        return Err(Error::App(AppError::Validation {
            message: format!("--fps must be a positive number, not {}", args.fps),
            field: Some("fps".to_string()),
            value: Some(args.fps.to_string()),
            details: Vec::new(),
        }));
    }
    if let Some(target) = args.annotate {
        let mp4 = target
            .extension()
            .and_then(|ext| ext.to_str())
            .is_some_and(|ext| ANNOTATED_EXTENSIONS.contains(&ext.to_ascii_lowercase().as_str()));
        if !mp4 {
            return Err(invalid(
                "annotate",
                target,
                "--annotate writes an MP4 file: give a name ending in .mp4, .m4v or .mov"
                    .to_string(),
            ));
        }
        if let Some(jsonl) = args.jsonl
            && (jsonl == target || same_file(jsonl, target))
        {
            return Err(invalid(
                "annotate",
                target,
                "--annotate and --jsonl name the same file".to_string(),
            ));
        }
    }
    if args.annotate.is_some() && args.videos.len() != 1 {
        return Err(invalid(
            "annotate",
            args.annotate.unwrap_or(Path::new("")),
            "--annotate writes one video: give one input video".to_string(),
        ));
    }
    // Every input is checked before the model is loaded, and no output may be an input.
    let mut infos = Vec::with_capacity(args.videos.len());
    for video in args.videos {
        infos.push(bachata_common::pose::probe_video(video)?);
        for (option, output) in [("--jsonl", args.jsonl), ("--annotate", args.annotate)] {
            if let Some(output) = output
                && same_file(video, output)
            {
                return Err(invalid(
                    option,
                    output,
                    format!("{option} {} is an input video", output.display()),
                ));
            }
        }
    }
    if let Some(info) = infos.first()
        && args.annotate.is_some()
        && u64::from(info.width) * u64::from(info.height) > MAX_ANNOTATED_PIXELS
    {
        return Err(invalid(
            "annotate",
            &args.videos[0],
            format!(
                "--annotate draws on whole frames: {}×{} is more than {MAX_ANNOTATED_PIXELS} pixels",
                info.width, info.height
            ),
        ));
    }
    let mut detector = CoupleDetector::new(policy, config, TrackerConfig::default())?;
    let (mut pending, mut out): (Option<Output>, Box<dyn Write>) = match args.jsonl {
        Some(path) if path != Path::new("-") => {
            let output = Output::create("--jsonl", path)?;
            let file = output.writer()?;
            (Some(output), Box::new(BufWriter::new(file)))
        }
        _ => (None, Box::new(BufWriter::new(std::io::stdout().lock()))),
    };
    let output_name = match args.jsonl {
        Some(path) if path != Path::new("-") => printable(&path.display().to_string()).into_owned(),
        _ => "standard output".to_string(),
    };
    catch_signals();
    let terminal = std::io::stderr().is_terminal();
    for (video, info) in args.videos.iter().zip(&infos) {
        detector.reset_tracker();
        let every = frame_skip(info.fps, args.fps);
        let estimate = info
            .frames
            .or_else(|| info.duration.map(|d| (d * info.fps).round() as u64))
            .map(|frames| frames.div_ceil(every));
        let bar = terminal.then(|| {
            let bar = indicatif::ProgressBar::new(estimate.unwrap_or(0));
            bar.set_style(
                indicatif::ProgressStyle::with_template(
                    "{bar:40} {pos}/{len} frames {per_sec} {elapsed} (eta {eta})",
                )
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
            );
            bar
        });
        let mut encoder = match args.annotate {
            Some(target) => Some(Encoder::new(
                Output::create("--annotate", target)?,
                info.fps / every as f64,
            )),
            None => None,
        };
        let mut sink =
            |frame: &CoupleFrame, image: Option<&image::RgbImage>| -> Result<(), Error> {
                let value = line(video, frame, args.couple);
                writeln!(out, "{value}").map_err(|source| Error::Write {
                    what: output_name.clone(),
                    source,
                })?;
                if let (Some(encoder), Some(image)) = (encoder.as_mut(), image) {
                    let people: Vec<_> = frame.people.iter().map(|p| p.person.clone()).collect();
                    let drawn = annotate(&image::DynamicImage::ImageRgb8(image.clone()), &people);
                    encoder.write(drawn.width(), drawn.height(), drawn.as_raw())?;
                }
                if let Some(bar) = &bar {
                    bar.inc(1);
                }
                Ok(())
            };
        let summary = if args.annotate.is_some() {
            detector.detect_video_with_images(video, args.fps, &mut sink)
        } else {
            detector.detect_video(video, args.fps, &mut sink)
        };
        if let Some(signal) = stop_signal() {
            // Stopped by a signal: nothing pending is kept.
            drop(encoder);
            if let Some(bar) = bar {
                bar.finish_and_clear();
            }
            let _ = writeln!(std::io::stderr(), "interrupted: nothing written");
            return Ok(ExitCode::from(128 + signal as u8));
        }
        let summary = summary?;
        if let Some(bar) = bar {
            bar.finish_and_clear();
        }
        if let Some(encoder) = encoder {
            encoder.finish()?;
        }
        let per_second = summary.processed as f64 / (summary.elapsed_ms / 1000.0).max(1e-9);
        let mut text = format!(
            "{}: {} frames processed (every {} of {:.2} fps), {:.1} frames/s on {}",
            printable(&video.display().to_string()),
            summary.processed,
            summary.frame_skip,
            summary.info.fps,
            per_second,
            detector.engine().provider(),
        );
        if args.couple {
            text.push_str(&format!(
                "; both dancers in {:.1}% of the frames, average lead confidence {:.2}",
                summary.rate.rate * 100.0,
                summary.average_confidence
            ));
            if summary.rate.low {
                text.push_str(" (low couple detection rate)");
            }
        }
        if summary.failed > 0 {
            text.push_str(&format!(
                "; {} frames failed and are kept empty",
                summary.failed
            ));
        }
        // A closed or full standard error loses the summary, never the results.
        let _ = writeln!(std::io::stderr(), "{text}");
    }
    out.flush().map_err(|source| Error::Write {
        what: output_name.clone(),
        source,
    })?;
    drop(out);
    if let Some(pending) = pending.take() {
        pending.commit()?;
    }
    Ok(ExitCode::SUCCESS)
}
