//! `bachata-common pose VIDEO…`: the couple detector on videos. One JSON line per processed
//! frame (to standard output, or to the `--jsonl` file, which appears only once whole), a
//! progress bar with frames per second on a terminal, and the summary on standard error.
//! `--annotate OUT.mp4` writes the processed frames with boxes and skeletons drawn, encoded by
//! `ffmpeg`, the file appearing only once whole.

use std::io::{BufWriter, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};
use std::sync::Arc;

use serde_json::json;

use bachata_common::config::YoloConfig;
use bachata_common::pose::{CoupleDetector, CoupleFrame, TrackerConfig, annotate, frame_skip};
use bachata_common::{AppError, Error, Policy};

/// Extensions read as videos.
pub const VIDEO_EXTENSIONS: [&str; 7] = ["mp4", "m4v", "mov", "webm", "mkv", "avi", "ts"];

/// Whether `path` names a video by its extension.
pub fn is_video(path: &Path) -> bool {
    path.extension()
        .and_then(|ext| ext.to_str())
        .is_some_and(|ext| VIDEO_EXTENSIONS.contains(&ext.to_ascii_lowercase().as_str()))
}

/// Most pixels of a frame drawn by `--annotate` (8K UHD).
const MAX_ANNOTATED_PIXELS: u64 = 7680 * 4320;

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

fn invalid(field: &str, value: &Path, message: String) -> Error {
    Error::App(AppError::Validation {
        message,
        field: Some(field.to_string()),
        value: Some(value.display().to_string()),
        details: Vec::new(),
    })
}

/// A file written beside its final path and renamed over it once whole.
struct Pending {
    file: tempfile::NamedTempFile,
    target: PathBuf,
}

impl Pending {
    fn new(target: &Path) -> Result<Self, Error> {
        if target.is_dir() {
            return Err(invalid(
                "OUTPUT",
                target,
                format!("{} is a directory: give a file name", target.display()),
            ));
        }
        let dir = match target.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => parent,
            _ => Path::new("."),
        };
        let name = target
            .file_name()
            .map(|name| name.to_string_lossy().into_owned())
            .unwrap_or_default();
        let file = tempfile::Builder::new()
            .prefix(&format!(".{name}."))
            .suffix(".partial")
            .tempfile_in(dir)
            .map_err(|source| Error::Io {
                path: target.to_path_buf(),
                source,
            })?;
        Ok(Self {
            file,
            target: target.to_path_buf(),
        })
    }

    fn commit(self) -> Result<(), Error> {
        let target = self.target;
        self.file
            .persist(&target)
            .map(drop)
            .map_err(|error| Error::Io {
                path: target,
                source: error.error,
            })
    }
}

/// The `ffmpeg` encoding the annotated frames into a pending MP4 file.
struct Encoder {
    child: Child,
    pending: Pending,
}

impl Encoder {
    fn start(target: &Path, width: u32, height: u32, fps: f64) -> Result<Self, Error> {
        let pending = Pending::new(target)?;
        let tool = match std::env::var_os("BACHATA_FFMPEG_DIR") {
            Some(dir) if !dir.is_empty() => Path::new(&dir).join("ffmpeg").into_os_string(),
            _ => "ffmpeg".into(),
        };
        let child = Command::new(tool)
            .args(["-nostdin", "-hide_banner", "-loglevel", "error", "-y"])
            .args(["-f", "rawvideo", "-pix_fmt", "rgb24"])
            .args([
                "-s",
                &format!("{width}x{height}"),
                "-framerate",
                &format!("{fps}"),
            ])
            .args(["-i", "pipe:0", "-vf", "pad=ceil(iw/2)*2:ceil(ih/2)*2"])
            .args([
                "-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p",
            ])
            .args(["-movflags", "+faststart", "-f", "mp4"])
            .arg(pending.file.path())
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|source| Error::Io {
                path: PathBuf::from("ffmpeg"),
                source,
            })?;
        Ok(Self { child, pending })
    }

    fn write(&mut self, rgb: &[u8]) -> Result<(), Error> {
        let target = self.pending.target.clone();
        self.child
            .stdin
            .as_mut()
            .ok_or_else(|| invalid("OUTPUT", &target, "the encoder stopped".to_string()))?
            .write_all(rgb)
            .map_err(|source| Error::Write {
                what: format!("the encoder of {}", target.display()),
                source,
            })
    }

    fn finish(mut self) -> Result<(), Error> {
        drop(self.child.stdin.take());
        let output = self.child.wait_with_output().map_err(|source| Error::Io {
            path: self.pending.target.clone(),
            source,
        })?;
        if !output.status.success() {
            let reason = String::from_utf8_lossy(&output.stderr);
            return Err(invalid(
                "OUTPUT",
                &self.pending.target,
                format!(
                    "ffmpeg could not encode {}: {}",
                    self.pending.target.display(),
                    reason.lines().next().unwrap_or("it failed")
                ),
            ));
        }
        self.pending.commit()
    }
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
    let (mut pending, mut out): (Option<Pending>, Box<dyn Write>) = match args.jsonl {
        Some(path) if path != Path::new("-") => {
            let pending = Pending::new(path)?;
            let file = pending.file.reopen().map_err(|source| Error::Io {
                path: path.to_path_buf(),
                source,
            })?;
            (Some(pending), Box::new(BufWriter::new(file)))
        }
        _ => (None, Box::new(BufWriter::new(std::io::stdout().lock()))),
    };
    let output_name = match args.jsonl {
        Some(path) if path != Path::new("-") => path.display().to_string(),
        _ => "standard output".to_string(),
    };
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
            Some(target) => Some(Encoder::start(
                target,
                info.width,
                info.height,
                info.fps / every as f64,
            )?),
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
                    encoder.write(drawn.as_raw())?;
                }
                if let Some(bar) = &bar {
                    bar.inc(1);
                }
                Ok(())
            };
        let summary = if args.annotate.is_some() {
            detector.detect_video_with_images(video, args.fps, &mut sink)?
        } else {
            detector.detect_video(video, args.fps, &mut sink)?
        };
        if let Some(bar) = bar {
            bar.finish_and_clear();
        }
        if let Some(encoder) = encoder {
            encoder.finish()?;
        }
        let per_second = summary.processed as f64 / (summary.elapsed_ms / 1000.0).max(1e-9);
        let mut text = format!(
            "{}: {} frames processed (every {} of {:.2} fps), {:.1} frames/s on {}",
            video.display(),
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
        eprintln!("{text}");
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
