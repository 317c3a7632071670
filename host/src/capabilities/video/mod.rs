//! Video files for pose inference, decoded by the system's FFmpeg (`ffprobe` and `ffmpeg`,
//! found on `PATH` or named by `BACHATA_FFMPEG_DIR`).
//!
//! The file is opened here (a regular file, never a FIFO or device) and handed to the tools as
//! their standard input, so no name of it reaches FFmpeg's protocols; only the containers of
//! [`probe`]'s list are decoded, with the demuxer named. `ffmpeg` samples frames with its
//! `select` filter before any scaling or colour conversion, scales what it keeps, and writes
//! raw RGB frames to a pipe that a reader thread turns into [`VideoFrame`]s through a bounded
//! queue: decoding runs ahead of inference, and memory does not grow with the video's length.
//! Any error the decoder reports (a truncated or corrupt stream) fails the video.

use std::ffi::OsString;
use std::fs::File;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use super::regular_file::{Refused, open_regular};

mod decode;
mod probe;

pub use decode::{Decoder, Sampling, VideoFrame};
pub use probe::{MAX_VIDEO_SIDE, VideoInfo, probe};

/// Why a video cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum VideoError {
    /// Nothing at that path.
    #[error("video not found: {}", path.display())]
    Missing {
        /// The path given.
        path: PathBuf,
    },
    /// Not a regular file.
    #[error("cannot open video {}: it is {kind}, not a file", path.display())]
    NotRegular {
        /// The path given.
        path: PathBuf,
        /// What it is instead.
        kind: &'static str,
    },
    /// Not a video FFmpeg can read.
    #[error("cannot open video {}: {reason}", path.display())]
    NotVideo {
        /// The path given.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// The decoder failed part way (a truncated or corrupt stream).
    #[error("cannot decode video {}: {reason}", path.display())]
    Decode {
        /// The path given.
        path: PathBuf,
        /// What FFmpeg said.
        reason: String,
    },
    /// FFmpeg could not be run.
    #[error(
        "cannot run {tool}: {source}; install FFmpeg (`apt-get install ffmpeg`) or set \
         BACHATA_FFMPEG_DIR to the directory holding ffmpeg and ffprobe"
    )]
    Tool {
        /// `ffmpeg` or `ffprobe`.
        tool: &'static str,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// The file could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Io {
        /// The path given.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
}

/// The FFmpeg tool `name` (`ffmpeg`, `ffprobe`), from `BACHATA_FFMPEG_DIR` when set.
pub fn tool(name: &str) -> OsString {
    match std::env::var_os("BACHATA_FFMPEG_DIR") {
        Some(dir) if !dir.is_empty() => Path::new(&dir).join(name).into_os_string(),
        _ => OsString::from(name),
    }
}

/// The first meaningful line of a tool's error output.
fn first_line(stderr: &[u8]) -> String {
    let text = String::from_utf8_lossy(stderr);
    let line = text
        .lines()
        .map(str::trim)
        .find(|line| !line.is_empty())
        .unwrap_or("FFmpeg could not read it");
    crate::types::text::printable(line.strip_prefix("file:/dev/stdin: ").unwrap_or(line))
        .into_owned()
}

/// Opens a video file for the tools: a regular, non-empty file (links followed). Opened
/// without blocking, so a FIFO swapped in is refused, not waited on.
pub fn open_video(path: &Path) -> Result<File, VideoError> {
    let (file, metadata) = open_regular(path).map_err(|refused| match refused {
        Refused::NotRegular(kind) => VideoError::NotRegular {
            path: path.to_path_buf(),
            kind,
        },
        Refused::Io(source) if source.kind() == ErrorKind::NotFound => VideoError::Missing {
            path: path.to_path_buf(),
        },
        Refused::Io(source) => VideoError::Io {
            path: path.to_path_buf(),
            source,
        },
        Refused::TooBig(size) => VideoError::NotVideo {
            path: path.to_path_buf(),
            reason: format!("it is {size} bytes"),
        },
    })?;
    if metadata.len() == 0 {
        return Err(VideoError::NotVideo {
            path: path.to_path_buf(),
            reason: "the file is empty".to_string(),
        });
    }
    Ok(file)
}
