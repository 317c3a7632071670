//! Image files for pose inference: regular files only (a FIFO, socket or device is refused
//! at once, never read), at most [`MAX_IMAGE_BYTES`], decoded as PNG or JPEG within
//! [`MAX_IMAGE_SIDE`] pixels a side, and whole: a PNG must reach its `IEND` chunk and a JPEG
//! its end-of-image marker, so a truncated file is an error, never a half-grey frame.

use std::fs::File;
use std::io::{Cursor, Read};
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use image::{DynamicImage, ImageFormat, ImageReader, Limits};

/// Largest image file read, in bytes.
pub const MAX_IMAGE_BYTES: u64 = 64 << 20;

/// Largest width or height of an image decoded, in pixels.
pub const MAX_IMAGE_SIDE: u32 = 16_384;

/// Most memory the decoder may allocate for one image.
const MAX_DECODE_BYTES: u64 = 1 << 30;

/// Why an image file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ImageFileError {
    /// Nothing at that path.
    #[error("input {} does not exist", path.display())]
    Missing {
        /// The path given.
        path: PathBuf,
    },
    /// Not a regular file.
    #[error("input {} is not a regular file ({kind}): give a PNG or JPEG file", path.display())]
    NotRegular {
        /// The path given.
        path: PathBuf,
        /// What it is instead.
        kind: &'static str,
    },
    /// Larger than [`MAX_IMAGE_BYTES`].
    #[error("input {} is {size} bytes: images are limited to {limit} bytes", path.display())]
    TooLarge {
        /// The path given.
        path: PathBuf,
        /// Its size.
        size: u64,
        /// The limit.
        limit: u64,
    },
    /// Not a PNG or JPEG the decoder can read whole.
    #[error("{} is not a readable PNG or JPEG image: {reason}", path.display())]
    Undecodable {
        /// The path given.
        path: PathBuf,
        /// Why.
        reason: String,
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

/// What a file that is not regular is, in words.
fn kind_of(file_type: std::fs::FileType) -> &'static str {
    if file_type.is_dir() {
        "a directory"
    } else if file_type.is_fifo() {
        "a FIFO"
    } else if file_type.is_socket() {
        "a socket"
    } else if file_type.is_char_device() {
        "a character device"
    } else if file_type.is_block_device() {
        "a block device"
    } else {
        "not a file"
    }
}

/// Checks what `path` is (links followed) without opening it: a regular file within the
/// size limit.
pub fn check_image_file(path: &Path) -> Result<(), ImageFileError> {
    let metadata = std::fs::metadata(path).map_err(|source| opening_error(path, source))?;
    check_metadata(path, &metadata)
}

fn check_metadata(path: &Path, metadata: &std::fs::Metadata) -> Result<(), ImageFileError> {
    if !metadata.is_file() {
        return Err(ImageFileError::NotRegular {
            path: path.to_path_buf(),
            kind: kind_of(metadata.file_type()),
        });
    }
    if metadata.len() > MAX_IMAGE_BYTES {
        return Err(ImageFileError::TooLarge {
            path: path.to_path_buf(),
            size: metadata.len(),
            limit: MAX_IMAGE_BYTES,
        });
    }
    Ok(())
}

fn opening_error(path: &Path, source: std::io::Error) -> ImageFileError {
    if source.kind() == std::io::ErrorKind::NotFound {
        ImageFileError::Missing {
            path: path.to_path_buf(),
        }
    } else {
        ImageFileError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}

/// Reads and decodes the image at `path`. Opened without blocking (a FIFO put there
/// meanwhile is refused, not waited on) and checked on the open file.
pub fn read_image(path: &Path) -> Result<DynamicImage, ImageFileError> {
    let file = File::options()
        .read(true)
        .custom_flags(rustix::fs::OFlags::NONBLOCK.bits() as i32)
        .open(path)
        .map_err(|source| opening_error(path, source))?;
    let io = |source| ImageFileError::Io {
        path: path.to_path_buf(),
        source,
    };
    let metadata = file.metadata().map_err(io)?;
    check_metadata(path, &metadata)?;
    let mut bytes = Vec::with_capacity(usize::try_from(metadata.len()).unwrap_or(0));
    file.take(MAX_IMAGE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(io)?;
    let size = bytes.len() as u64;
    if size > MAX_IMAGE_BYTES {
        return Err(ImageFileError::TooLarge {
            path: path.to_path_buf(),
            size,
            limit: MAX_IMAGE_BYTES,
        });
    }
    decode(path, &bytes)
}

/// Decodes a PNG or JPEG held in memory; `path` names it in errors.
pub fn decode(path: &Path, bytes: &[u8]) -> Result<DynamicImage, ImageFileError> {
    let undecodable = |reason: String| ImageFileError::Undecodable {
        path: path.to_path_buf(),
        reason,
    };
    let mut reader = ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|error| undecodable(error.to_string()))?;
    match reader.format() {
        Some(ImageFormat::Png) => png_whole(bytes),
        Some(ImageFormat::Jpeg) => jpeg_whole(bytes),
        _ => Err("it is neither PNG nor JPEG".to_string()),
    }
    .map_err(undecodable)?;
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_IMAGE_SIDE);
    limits.max_image_height = Some(MAX_IMAGE_SIDE);
    limits.max_alloc = Some(MAX_DECODE_BYTES);
    reader.limits(limits);
    reader
        .decode()
        .map_err(|error| undecodable(error.to_string()))
}

const TRUNCATED: &str = "the file is truncated";

/// Whether a PNG's chunks run whole up to `IEND`.
fn png_whole(bytes: &[u8]) -> Result<(), String> {
    let mut at = 8;
    loop {
        let header = bytes.get(at..at + 8).ok_or(TRUNCATED)?;
        let length = u32::from_be_bytes([header[0], header[1], header[2], header[3]]) as usize;
        let end = at
            .checked_add(12)
            .and_then(|end| end.checked_add(length))
            .ok_or(TRUNCATED)?;
        if end > bytes.len() {
            return Err(format!(
                "{TRUNCATED} (inside its {:?} chunk)",
                chunk(header)
            ));
        }
        if &header[4..8] == b"IEND" {
            return Ok(());
        }
        at = end;
    }
}

fn chunk(header: &[u8]) -> String {
    String::from_utf8_lossy(&header[4..8]).into_owned()
}

/// Whether a JPEG's segments and entropy-coded data run whole up to its end-of-image marker
/// (what follows it is ignored).
fn jpeg_whole(bytes: &[u8]) -> Result<(), String> {
    let truncated = || format!("{TRUNCATED} (no end-of-image marker)");
    let mut at = 2;
    loop {
        if *bytes.get(at).ok_or_else(truncated)? != 0xFF {
            return Err(format!("it is corrupt (no marker at byte {at})"));
        }
        while bytes.get(at) == Some(&0xFF) {
            at += 1;
        }
        let marker = *bytes.get(at).ok_or_else(truncated)?;
        at += 1;
        match marker {
            0xD9 => return Ok(()),
            // Markers without a segment: restart markers, TEM, a repeated SOI.
            0xD0..=0xD8 | 0x01 => continue,
            _ => {}
        }
        let length = bytes.get(at..at + 2).ok_or_else(truncated)?;
        let length = usize::from(u16::from_be_bytes([length[0], length[1]]));
        if length < 2 {
            return Err(format!("it is corrupt (a segment of length {length})"));
        }
        at += length;
        if at > bytes.len() {
            return Err(truncated());
        }
        if marker == 0xDA {
            at = scan_end(bytes, at).ok_or_else(truncated)?;
        }
    }
}

/// Where the entropy-coded data starting at `at` ends (the next marker that is not a restart
/// marker), if the data reaches one.
fn scan_end(bytes: &[u8], mut at: usize) -> Option<usize> {
    loop {
        let found = at + bytes.get(at..)?.iter().position(|&byte| byte == 0xFF)?;
        match *bytes.get(found + 1)? {
            // A stuffed zero, a restart marker: still data.
            0x00 | 0xD0..=0xD7 => at = found + 2,
            // Fill bytes before a marker.
            0xFF => at = found + 1,
            _ => return Some(found),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encoded(format: ImageFormat) -> Vec<u8> {
        let image = DynamicImage::ImageRgb8(image::RgbImage::from_fn(64, 48, |x, y| {
            image::Rgb([(x * 4) as u8, (y * 5) as u8, 128])
        }));
        let mut bytes = Cursor::new(Vec::new());
        image.write_to(&mut bytes, format).expect("encode");
        bytes.into_inner()
    }

    #[test]
    fn whole_images_decode_and_every_truncation_is_refused() {
        for format in [ImageFormat::Png, ImageFormat::Jpeg] {
            let bytes = encoded(format);
            let path = Path::new("frame");
            let image = decode(path, &bytes).expect("whole image");
            assert_eq!((image.width(), image.height()), (64, 48));
            // Anything after the end is ignored.
            let mut padded = bytes.clone();
            padded.extend_from_slice(b"trailing");
            decode(path, &padded).expect("trailing bytes");
            for cut in (9..bytes.len()).step_by(7).chain([bytes.len() - 1]) {
                let error = decode(path, &bytes[..cut]).expect_err("truncated");
                assert!(
                    error
                        .to_string()
                        .contains("frame is not a readable PNG or JPEG"),
                    "{format:?} cut at {cut}: {error}"
                );
            }
        }
    }

    #[test]
    fn special_files_are_refused_without_being_read() {
        let error = read_image(Path::new("/dev/zero")).expect_err("a device");
        assert!(
            matches!(
                error,
                ImageFileError::NotRegular {
                    kind: "a character device",
                    ..
                }
            ),
            "{error}"
        );
        let dir = tempfile::tempdir().expect("tempdir");
        let fifo = dir.path().join("frame.png");
        rustix::fs::mkfifoat(
            rustix::fs::CWD,
            &fifo,
            rustix::fs::Mode::from_raw_mode(0o600),
        )
        .expect("mkfifo");
        let error = read_image(&fifo).expect_err("a FIFO");
        assert!(error.to_string().contains("is not a regular file (a FIFO)"));
        let error = read_image(&dir.path().join("missing.png")).expect_err("missing");
        assert!(matches!(error, ImageFileError::Missing { .. }), "{error}");
    }
}
