//! What a video file holds, from `ffprobe`: its first video stream's size as shown (rotation
//! applied), frame rate, length and container.

use std::fs::File;
use std::path::Path;
use std::process::{Command, Stdio};

use serde::Deserialize;

use super::{VideoError, tool};

/// Containers decoded: MP4/MOV family, Matroska/WebM, AVI, MPEG-TS. Anything else (a
/// playlist, an image sequence, a concat script) is refused before any demuxer reads it.
const CONTAINERS: [&str; 4] = ["mov", "matroska", "avi", "mpegts"];

/// [`CONTAINERS`] as FFmpeg's `format_whitelist` option.
pub(super) const FORMAT_WHITELIST: &str = "mov,matroska,avi,mpegts";

/// Largest width or height of a video decoded, in pixels.
pub const MAX_VIDEO_SIDE: u32 = 16_384;

/// The first video stream of a file.
#[derive(Debug, Clone, PartialEq)]
pub struct VideoInfo {
    /// Width as shown, in pixels (after rotation).
    pub width: u32,
    /// Height as shown, in pixels (after rotation).
    pub height: u32,
    /// Frames per second as the container states it (`r_frame_rate`, else the average).
    pub fps: f64,
    /// Frames, when the container says.
    pub frames: Option<u64>,
    /// Seconds, when known.
    pub duration: Option<f64>,
    /// Clockwise rotation applied to show the frames (0, 90, 180, 270).
    pub rotation: u32,
    /// The codec (`h264`, `vp9`, …).
    pub codec: String,
    /// The demuxer to decode it with (`mov`, `matroska`, …).
    pub container: String,
    /// Which of the file's video streams it is (0: the first); a cover picture is skipped.
    pub stream: u32,
}

#[derive(Deserialize)]
struct Probe {
    #[serde(default)]
    streams: Vec<Stream>,
    format: Option<Format>,
}

#[derive(Deserialize)]
struct Format {
    format_name: Option<String>,
    duration: Option<String>,
}

#[derive(Deserialize)]
struct Stream {
    #[serde(default)]
    disposition: std::collections::BTreeMap<String, i64>,
    codec_name: Option<String>,
    width: Option<u32>,
    height: Option<u32>,
    r_frame_rate: Option<String>,
    avg_frame_rate: Option<String>,
    nb_frames: Option<String>,
    duration: Option<String>,
    #[serde(default)]
    side_data_list: Vec<SideData>,
    #[serde(default)]
    tags: std::collections::BTreeMap<String, String>,
}

#[derive(Deserialize)]
struct SideData {
    rotation: Option<f64>,
}

/// `num/den` as a positive finite number.
fn rate(text: Option<&str>) -> Option<f64> {
    let (num, den) = text?.split_once('/')?;
    let value = num.trim().parse::<f64>().ok()? / den.trim().parse::<f64>().ok()?;
    (value.is_finite() && value > 0.0).then_some(value)
}

/// Reads what `path` holds: the file is opened here (a regular file only) and handed to
/// `ffprobe` as its standard input, so no name of it reaches the tool's protocols.
pub fn probe(path: &Path) -> Result<VideoInfo, VideoError> {
    let file = super::open_video(path)?;
    probe_file(path, file)
}

pub(super) fn probe_file(path: &Path, file: File) -> Result<VideoInfo, VideoError> {
    let output = Command::new(tool("ffprobe"))
        .args([
            "-v",
            "error",
            "-protocol_whitelist",
            "file",
            "-format_whitelist",
            FORMAT_WHITELIST,
            "-select_streams",
            "v",
            "-show_entries",
            "stream=codec_name,width,height,r_frame_rate,avg_frame_rate,nb_frames,duration:\
             stream_disposition=attached_pic:stream_side_data=rotation:stream_tags=rotate:\
             format=format_name,duration",
            "-of",
            "json",
            "file:/dev/stdin",
        ])
        .stdin(Stdio::from(file))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .map_err(|source| VideoError::Tool {
            tool: "ffprobe",
            source,
        })?;
    let not_video = |reason: String| VideoError::NotVideo {
        path: path.to_path_buf(),
        reason,
    };
    if !output.status.success() {
        return Err(not_video(super::first_line(&output.stderr)));
    }
    let probe: Probe = serde_json::from_slice(&output.stdout)
        .map_err(|error| not_video(format!("unreadable ffprobe answer: {error}")))?;
    let format = probe.format.unwrap_or(Format {
        format_name: None,
        duration: None,
    });
    let names = format.format_name.unwrap_or_default();
    let container = names
        .split(',')
        .find(|name| CONTAINERS.contains(name))
        .ok_or_else(|| not_video(format!("its container ({names}) is not a video file")))?
        .to_string();
    // As FFmpeg's best stream: the largest picture that is not a cover; the first of equals.
    let (stream, index) = probe
        .streams
        .into_iter()
        .zip(0u32..)
        .filter(|(stream, _)| stream.disposition.get("attached_pic").copied().unwrap_or(0) == 0)
        .fold(None::<(Stream, u32)>, |best, (stream, index)| {
            let pixels =
                |s: &Stream| u64::from(s.width.unwrap_or(0)) * u64::from(s.height.unwrap_or(0));
            match best {
                Some((kept, at)) if pixels(&kept) >= pixels(&stream) => Some((kept, at)),
                _ => Some((stream, index)),
            }
        })
        .ok_or_else(|| not_video("it has no video stream".to_string()))?;
    let (width, height) = match (stream.width, stream.height) {
        (Some(w), Some(h)) if w > 0 && h > 0 => (w, h),
        _ => return Err(not_video("its video stream has no frame size".to_string())),
    };
    if width > MAX_VIDEO_SIDE || height > MAX_VIDEO_SIDE {
        return Err(not_video(format!(
            "its frames are {width}×{height}: videos are limited to {MAX_VIDEO_SIDE} pixels a side"
        )));
    }
    let fps = rate(stream.r_frame_rate.as_deref())
        .filter(|fps| *fps <= 1000.0)
        .or_else(|| rate(stream.avg_frame_rate.as_deref()))
        .ok_or_else(|| not_video("its video stream has no frame rate".to_string()))?;
    let degrees = stream
        .side_data_list
        .iter()
        .find_map(|side| side.rotation)
        .or_else(|| stream.tags.get("rotate").and_then(|r| r.parse().ok()))
        .unwrap_or(0.0);
    // The display matrix turns counter-clockwise; `rotate` tags clockwise. Either way a quarter
    // turn swaps the sides shown.
    let rotation = (((degrees.round() as i64) % 360 + 360) % 360) as u32;
    let (width, height) = if rotation % 180 == 90 {
        (height, width)
    } else {
        (width, height)
    };
    let seconds = |text: Option<String>| {
        text.and_then(|t| t.parse::<f64>().ok())
            .filter(|d| d.is_finite() && *d >= 0.0)
    };
    Ok(VideoInfo {
        width,
        height,
        fps,
        frames: stream.nb_frames.and_then(|n| n.parse().ok()),
        duration: seconds(stream.duration).or_else(|| seconds(format.duration)),
        rotation,
        codec: stream.codec_name.unwrap_or_default(),
        container,
        stream: index,
    })
}
