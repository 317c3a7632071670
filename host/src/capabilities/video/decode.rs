//! Decoding a video's sampled frames with `ffmpeg`, ahead of their consumer.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{Receiver, Sender, SyncSender, channel, sync_channel};
use std::thread::JoinHandle;

use super::probe::{FORMAT_WHITELIST, probe_file};
use super::{VideoError, VideoInfo, open_video, tool};

/// Frames decoded ahead of their consumer.
pub const QUEUE: usize = 8;

/// Most error lines of the decoder kept.
const KEPT_ERRORS: usize = 8;

/// Which frames to keep and at what size.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sampling {
    /// Keep every `every`-th frame of the stream, from the first (`n % every == 0`).
    pub every: u64,
    /// Width of the frames handed over (scaled from the shown size).
    pub width: u32,
    /// Height of the frames handed over.
    pub height: u32,
}

/// One sampled frame.
#[derive(Debug, Clone)]
pub struct VideoFrame {
    /// Its index among the stream's frames (from 0).
    pub index: u64,
    /// Its presentation time, in seconds from the start of the file.
    pub timestamp: f64,
    /// Packed RGB, `width × height × 3` bytes, at the sampling's size.
    pub rgb: Vec<u8>,
}

/// A running decode of one video: iterate it for its sampled frames; the last item is an
/// error if the decoder failed (the video must then be considered unreadable as a whole).
pub struct Decoder {
    info: VideoInfo,
    frames: Receiver<Result<VideoFrame, VideoError>>,
    child: Child,
    reader: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for Decoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Decoder")
            .field("info", &self.info)
            .finish_non_exhaustive()
    }
}

impl Decoder {
    /// Probes `path` and starts decoding it: `sampling` picks the frames and their size from
    /// what the probe found (a function, as the size depends on the video's).
    pub fn open(
        path: &Path,
        sampling: impl FnOnce(&VideoInfo) -> Sampling,
    ) -> Result<Self, VideoError> {
        let file = open_video(path)?;
        let probe_copy = file.try_clone().map_err(|source| VideoError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let info = probe_file(path, probe_copy)?;
        let sampling = sampling(&info);
        let every = sampling.every.max(1);
        let filter = format!(
            "select='not(mod(n\\,{every}))',showinfo,scale={}:{}:flags=bilinear,format=rgb24",
            sampling.width.max(1),
            sampling.height.max(1)
        );
        let mut child = Command::new(tool("ffmpeg"))
            .args([
                "-nostdin",
                "-hide_banner",
                "-nostats",
                "-loglevel",
                "level+info",
            ])
            .args([
                "-protocol_whitelist",
                "file",
                "-format_whitelist",
                FORMAT_WHITELIST,
            ])
            .args(["-f", &info.container, "-i", "file:/dev/stdin"])
            .args(["-map", &format!("0:v:{}", info.stream), "-an", "-sn", "-dn"])
            .args(["-vf", &filter, "-fps_mode", "passthrough"])
            .args(["-f", "rawvideo", "-pix_fmt", "rgb24", "pipe:1"])
            .stdin(Stdio::from(file))
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|source| VideoError::Tool {
                tool: "ffmpeg",
                source,
            })?;
        let stdout = child.stdout.take().expect("piped");
        let stderr = child.stderr.take().expect("piped");
        let (times_tx, times) = channel::<f64>();
        let errors = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
        let log = {
            let errors = std::sync::Arc::clone(&errors);
            std::thread::spawn(move || read_log(stderr, &times_tx, &errors))
        };
        let (tx, frames) = sync_channel(QUEUE);
        let frame_bytes = sampling.width.max(1) as usize * sampling.height.max(1) as usize * 3;
        let fps = info.fps;
        let path = path.to_path_buf();
        let reader = std::thread::spawn(move || {
            read_frames(stdout, frame_bytes, every, fps, &times, &tx);
            // The log ends with the process: its errors decide whether the decode failed.
            let _ = log.join();
            let errors = errors.lock().map(|e| e.clone()).unwrap_or_default();
            if !errors.is_empty() {
                let _ = tx.send(Err(VideoError::Decode {
                    path: path.clone(),
                    reason: errors.join("; "),
                }));
            }
        });
        Ok(Self {
            info,
            frames,
            child,
            reader: Some(reader),
        })
    }

    /// What the probe found.
    pub fn info(&self) -> &VideoInfo {
        &self.info
    }

    /// Waits for the decoder to end: an error if it failed without saying why on its log.
    pub fn finish(mut self, path: &Path) -> Result<(), VideoError> {
        if let Some(reader) = self.reader.take() {
            let _ = reader.join();
        }
        let status = self.child.wait().map_err(|source| VideoError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        if status.success() {
            Ok(())
        } else {
            Err(VideoError::Decode {
                path: PathBuf::from(path),
                reason: format!("ffmpeg ended with {status}"),
            })
        }
    }
}

impl Iterator for Decoder {
    type Item = Result<VideoFrame, VideoError>;

    fn next(&mut self) -> Option<Self::Item> {
        self.frames.recv().ok()
    }
}

impl Drop for Decoder {
    fn drop(&mut self) {
        // A decode given up early: stop the process; the reader ends at the closed pipe.
        if self.reader.is_some() {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
        if let Some(reader) = self.reader.take() {
            // Drain what the reader still holds so that it can end.
            while self.frames.try_recv().is_ok() {}
            drop(std::mem::replace(&mut self.frames, sync_channel(1).1));
            let _ = reader.join();
        }
    }
}

/// Reads frames of `frame_bytes` until the end of the pipe, pairing each with the time the
/// log gave it (the nominal time when the log has none).
fn read_frames(
    mut stdout: impl Read,
    frame_bytes: usize,
    every: u64,
    fps: f64,
    times: &Receiver<f64>,
    tx: &SyncSender<Result<VideoFrame, VideoError>>,
) {
    let mut sampled = 0u64;
    loop {
        let mut rgb = vec![0u8; frame_bytes];
        let mut filled = 0;
        while filled < frame_bytes {
            match stdout.read(&mut rgb[filled..]) {
                Ok(0) => return,
                Ok(n) => filled += n,
                Err(error) if error.kind() == std::io::ErrorKind::Interrupted => {}
                Err(_) => return,
            }
        }
        let index = sampled.saturating_mul(every);
        let timestamp = times.recv().unwrap_or(index as f64 / fps);
        sampled += 1;
        if tx
            .send(Ok(VideoFrame {
                index,
                timestamp,
                rgb,
            }))
            .is_err()
        {
            return;
        }
    }
}

/// A line of the decoder's log (`-loglevel level+info`) as its context (`Parsed_showinfo_1`,
/// empty without one), its level and its message; `None` for a line not in that form, such
/// as a continuation of a metadata value (text from the file, never trusted).
fn log_line(line: &str) -> Option<(&str, &str, &str)> {
    let mut rest = line;
    let mut context = "";
    if let Some(inner) = rest.strip_prefix('[')
        && let Some((name, after)) = inner.split_once(" @ 0x")
        && let Some((_, after)) = after.split_once("] ")
    {
        context = name;
        rest = after;
    }
    let rest = rest.strip_prefix('[')?;
    let (level, message) = rest.split_once("] ")?;
    Some((context, level, message))
}

/// Reads the decoder's log: each sampled frame's time (`showinfo`'s `pts_time:`) and the
/// error lines. Only lines that start the way FFmpeg's own lines start count: a metadata value
/// of the file is printed inside an `[info]` line, never at its start.
fn read_log(stderr: impl Read, times: &Sender<f64>, errors: &std::sync::Mutex<Vec<String>>) {
    let mut lines = BufReader::new(stderr);
    let mut line = Vec::new();
    loop {
        line.clear();
        match lines.read_until(b'\n', &mut line) {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        let text = String::from_utf8_lossy(&line);
        let Some((context, level, message)) = log_line(text.trim_end()) else {
            continue;
        };
        if context.starts_with("Parsed_showinfo_") && level == "info" {
            if message.trim_start().starts_with("n:")
                && let Some(at) = message.find(" pts_time:")
                && let Ok(time) = message[at + 10..]
                    .split_whitespace()
                    .next()
                    .unwrap_or("")
                    .parse::<f64>()
            {
                let _ = times.send(time);
            }
        } else if (level == "error" || level == "fatal")
            && let Ok(mut kept) = errors.lock()
            && kept.len() < KEPT_ERRORS
        {
            let message = message.replace("file:/dev/stdin", "the file");
            kept.push(crate::types::text::printable(&message).into_owned());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(log: &str) -> (Vec<f64>, Vec<String>) {
        let (tx, rx) = channel();
        let errors = std::sync::Mutex::new(Vec::new());
        read_log(log.as_bytes(), &tx, &errors);
        drop(tx);
        (rx.iter().collect(), errors.into_inner().unwrap_or_default())
    }

    #[test]
    fn only_ffmpegs_own_lines_count() {
        let log = "[info] Input #0, mov,mp4, from 'file:/dev/stdin':\n\
            [info]     comment         : [error] gotcha\n\
            [info]     title           : x showinfo pts_time:1234.5 y\n\
            [info]                     : [Parsed_showinfo_1 @ 0x1] [info] n:   9 pts_time:99\n\
            [Parsed_showinfo_1 @ 0x5581] [info] n:   0 pts:      0 pts_time:0       duration:512\n\
            [Parsed_showinfo_1 @ 0x5581] [info] config in time_base: 1/15360\n\
            [Parsed_showinfo_1 @ 0x5581] [info] n:   1 pts:   1024 pts_time:0.0666667 duration:512\n\
            [h264 @ 0x55] [error] Invalid NAL unit size (1 > 0).\n\
            [error] file:/dev/stdin: corrupt\n";
        let (times, errors) = read(log);
        assert_eq!(times, [0.0, 0.0666667]);
        assert_eq!(
            errors,
            ["Invalid NAL unit size (1 > 0).", "the file: corrupt"]
        );
    }
}
