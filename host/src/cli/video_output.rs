//! Where `pose VIDEO…` writes: output files that appear only once whole, the `ffmpeg` encoding
//! the annotated video, and the signals that stop a run cleanly.
//!
//! A new or regular output file is written beside its name (mode `0666` less the umask) and
//! renamed over it at the end; a device or FIFO already there (`/dev/null`) is written
//! directly, never replaced; a link or directory there is refused.

use std::fs::File;
use std::io::Write;
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicI32, Ordering};

use bachata_common::text::printable;
use bachata_common::{AppError, Error};

pub(super) fn invalid(field: &str, value: &Path, message: String) -> Error {
    Error::App(AppError::Validation {
        message,
        field: Some(field.to_string()),
        value: Some(printable(&value.display().to_string()).into_owned()),
        details: Vec::new(),
    })
}

fn write_error(path: &Path, source: std::io::Error) -> Error {
    Error::Write {
        what: printable(&path.display().to_string()).into_owned(),
        source,
    }
}

/// An output file: a pending file renamed over its name at the end, or a device written
/// directly.
pub(super) enum Output {
    /// Written beside the target, renamed over it once whole.
    Pending {
        file: tempfile::NamedTempFile,
        target: PathBuf,
    },
    /// A character device or FIFO already at the target.
    Direct { file: File, target: PathBuf },
}

impl Output {
    /// Opens the output for `target` (checked as the module says).
    pub(super) fn create(option: &str, target: &Path) -> Result<Self, Error> {
        match std::fs::symlink_metadata(target) {
            Ok(metadata) => {
                let kind = metadata.file_type();
                if kind.is_symlink() {
                    return Err(invalid(
                        option,
                        target,
                        format!(
                            "{option} {}: is a link; give the file itself",
                            printable(&target.display().to_string())
                        ),
                    ));
                }
                if kind.is_dir() {
                    return Err(invalid(
                        option,
                        target,
                        format!(
                            "{option} {} is a directory: give a file name",
                            printable(&target.display().to_string())
                        ),
                    ));
                }
                if kind.is_char_device() || kind.is_fifo() {
                    let file = std::fs::OpenOptions::new()
                        .write(true)
                        .open(target)
                        .map_err(|source| write_error(target, source))?;
                    return Ok(Self::Direct {
                        file,
                        target: target.to_path_buf(),
                    });
                }
                if !kind.is_file() {
                    return Err(invalid(
                        option,
                        target,
                        format!(
                            "{option} {} is not a file",
                            printable(&target.display().to_string())
                        ),
                    ));
                }
            }
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
            Err(source) => return Err(write_error(target, source)),
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
            .permissions(std::fs::Permissions::from_mode(0o666))
            .tempfile_in(dir)
            .map_err(|source| write_error(target, source))?;
        Ok(Self::Pending {
            file,
            target: target.to_path_buf(),
        })
    }

    /// The target's name.
    pub(super) fn target(&self) -> &Path {
        match self {
            Self::Pending { target, .. } | Self::Direct { target, .. } => target,
        }
    }

    /// Where to write (a new handle).
    pub(super) fn writer(&self) -> Result<File, Error> {
        match self {
            Self::Pending { file, .. } => file.reopen(),
            Self::Direct { file, .. } => file.try_clone(),
        }
        .map_err(|source| write_error(self.target(), source))
    }

    /// The path a tool writes to (the pending file, or the device).
    pub(super) fn path(&self) -> &Path {
        match self {
            Self::Pending { file, .. } => file.path(),
            Self::Direct { target, .. } => target,
        }
    }

    /// Puts the file in place (nothing to do for a device).
    pub(super) fn commit(self) -> Result<(), Error> {
        match self {
            Self::Pending { file, target } => file
                .persist(&target)
                .map(drop)
                .map_err(|error| write_error(&target, error.error)),
            Self::Direct { .. } => Ok(()),
        }
    }
}

/// The `ffmpeg` encoding the annotated frames, sized by the first frame it is given.
pub(super) struct Encoder {
    output: Option<Output>,
    fps: f64,
    child: Option<Child>,
}

impl Encoder {
    pub(super) fn new(output: Output, fps: f64) -> Self {
        Self {
            output: Some(output),
            // ffmpeg takes 1/1000 to 1000 frames per second.
            fps: if fps.is_finite() {
                fps.clamp(0.001, 1000.0)
            } else {
                1.0
            },
            child: None,
        }
    }

    fn target(&self) -> PathBuf {
        self.output
            .as_ref()
            .map(|output| output.target().to_path_buf())
            .unwrap_or_default()
    }

    fn start(&mut self, width: u32, height: u32) -> Result<&mut Child, Error> {
        if self.child.is_none() {
            let output = self.output.as_ref().expect("held until finished");
            let child = Command::new(bachata_common::capabilities::video::tool("ffmpeg"))
                .args(["-nostdin", "-hide_banner", "-loglevel", "error", "-y"])
                .args(["-f", "rawvideo", "-pix_fmt", "rgb24"])
                .args([
                    "-s",
                    &format!("{width}x{height}"),
                    "-framerate",
                    &format!("{}", self.fps),
                ])
                .args(["-i", "pipe:0", "-vf", "pad=ceil(iw/2)*2:ceil(ih/2)*2"])
                .args([
                    "-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p",
                ])
                .args(["-movflags", "+faststart", "-f", "mp4"])
                .arg(output.path())
                .stdin(Stdio::piped())
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .map_err(|source| write_error(&self.target(), source))?;
            self.child = Some(child);
        }
        Ok(self.child.as_mut().expect("started"))
    }

    /// Encodes one frame (packed RGB).
    pub(super) fn write(&mut self, width: u32, height: u32, rgb: &[u8]) -> Result<(), Error> {
        let child = self.start(width, height)?;
        let written = match child.stdin.as_mut() {
            Some(stdin) => stdin.write_all(rgb),
            None => Err(std::io::Error::other("the encoder stopped")),
        };
        if let Err(source) = written {
            // Why the encoder stopped is on its error output.
            let reason = self.stop().err().map(|error| error.to_string());
            return Err(match reason {
                Some(reason) => invalid("annotate", &self.target(), reason),
                None => write_error(&self.target(), source),
            });
        }
        Ok(())
    }

    /// Waits for the encoder: its failure, with what it said.
    fn stop(&mut self) -> Result<(), Error> {
        let Some(mut child) = self.child.take() else {
            return Ok(());
        };
        drop(child.stdin.take());
        let output = child
            .wait_with_output()
            .map_err(|source| write_error(&self.target(), source))?;
        if output.status.success() {
            return Ok(());
        }
        let said = String::from_utf8_lossy(&output.stderr);
        Err(invalid(
            "annotate",
            &self.target(),
            format!(
                "ffmpeg could not encode {}: {}",
                printable(&self.target().display().to_string()),
                printable(said.lines().next().unwrap_or("it failed"))
            ),
        ))
    }

    /// Ends the video and puts the file in place.
    pub(super) fn finish(mut self) -> Result<(), Error> {
        self.stop()?;
        match self.output.take() {
            Some(output) => output.commit(),
            None => Ok(()),
        }
    }
}

impl Drop for Encoder {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// The signal that asked the run to stop (0: none).
static SIGNAL: AtomicI32 = AtomicI32::new(0);

extern "C" fn on_signal(signal: libc::c_int) {
    SIGNAL.store(signal, Ordering::SeqCst);
}

/// Makes SIGINT, SIGTERM and SIGHUP ask the run to stop at its next frame (so that nothing
/// pending is left behind) instead of ending the process at once.
pub(super) fn catch_signals() {
    let handler = on_signal as extern "C" fn(libc::c_int) as libc::sighandler_t;
    for signal in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
        // SAFETY: the handler only stores to an atomic, which is async-signal-safe.
        unsafe {
            libc::signal(signal, handler);
        }
    }
}

/// The signal received since [`catch_signals`], if any.
pub(super) fn stop_signal() -> Option<i32> {
    match SIGNAL.load(Ordering::SeqCst) {
        0 => None,
        signal => Some(signal),
    }
}
