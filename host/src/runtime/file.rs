//! Reading a policy file: a regular file only (never a FIFO, device or directory, which
//! could block the reader or never end), at most [`max_file_bytes`] bytes, read with that
//! bound whatever the file claims.

use std::io::Read as _;
use std::os::unix::fs::{FileTypeExt as _, OpenOptionsExt as _};
use std::path::Path;
use std::sync::OnceLock;

use crate::types::error::Error;

/// Environment variable: the largest policy file accepted, in MiB (1 to 1024, default 64).
pub const MAX_FILE_VAR: &str = "BACHATA_POLICY_MAX_FILE_MB";
/// The default largest policy file, in MiB.
pub const DEFAULT_MAX_FILE_MB: u64 = 64;

/// The largest policy file accepted, in bytes (`BACHATA_POLICY_MAX_FILE_MB`, read once).
pub fn max_file_bytes() -> Result<u64, Error> {
    static MAX: OnceLock<Result<u64, String>> = OnceLock::new();
    MAX.get_or_init(|| match std::env::var(MAX_FILE_VAR) {
        Err(_) => Ok(DEFAULT_MAX_FILE_MB << 20),
        Ok(value) => value
            .trim()
            .parse::<u64>()
            .ok()
            .filter(|mib| (1..=1024).contains(mib))
            .map(|mib| mib << 20)
            .ok_or_else(|| {
                format!(
                    "{MAX_FILE_VAR}={value:?} is invalid: expected a whole number from 1 to 1024"
                )
            }),
    })
    .clone()
    .map_err(|reason| {
        Error::App(crate::types::error::AppError::Validation {
            message: reason,
            field: Some(MAX_FILE_VAR.to_string()),
            value: None,
            details: Vec::new(),
        })
    })
}

fn what_it_is(file_type: std::fs::FileType) -> &'static str {
    if file_type.is_dir() {
        "a directory"
    } else if file_type.is_fifo() {
        "a FIFO"
    } else if file_type.is_socket() {
        "a socket"
    } else if file_type.is_char_device() || file_type.is_block_device() {
        "a device"
    } else {
        "not a regular file"
    }
}

/// Reads the policy file at `path` (links the operator set up are followed), refusing
/// anything but a regular file of at most `max` bytes. Never blocks on a FIFO.
pub fn read_bounded(path: &Path, max: u64) -> Result<Vec<u8>, Error> {
    let reject = |reason: String| Error::PolicyLoad {
        origin: path.display().to_string(),
        reason,
    };
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags((rustix::fs::OFlags::NONBLOCK | rustix::fs::OFlags::NOCTTY).bits() as i32)
        .open(path)
        .map_err(|source| Error::Io {
            path: path.to_path_buf(),
            source,
        })?;
    let metadata = file.metadata().map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })?;
    if !metadata.file_type().is_file() {
        return Err(reject(format!(
            "it is {}; a policy must be a regular .wasm file",
            what_it_is(metadata.file_type())
        )));
    }
    let too_big = |size: u64| {
        reject(format!(
            "it is {size} bytes; policy files are limited to {max} bytes ({MAX_FILE_VAR})"
        ))
    };
    if metadata.len() > max {
        return Err(too_big(metadata.len()));
    }
    let mut bytes = Vec::with_capacity(usize::try_from(metadata.len()).unwrap_or(0));
    file.take(max.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(|source| Error::Io {
            path: path.to_path_buf(),
            source,
        })?;
    if bytes.len() as u64 > max {
        return Err(too_big(bytes.len() as u64));
    }
    Ok(bytes)
}

/// [`read_bounded`] with the configured bound.
pub fn read(path: &Path) -> Result<Vec<u8>, Error> {
    read_bounded(path, max_file_bytes()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn devices_fifos_and_directories_are_refused_at_once() {
        let dir = tempfile::tempdir().expect("tempdir");
        let fifo = dir.path().join("fifo");
        rustix::fs::mkfifoat(
            rustix::fs::CWD,
            &fifo,
            rustix::fs::Mode::from_raw_mode(0o600),
        )
        .expect("mkfifo");
        for (path, what) in [
            (Path::new("/dev/zero"), "a device"),
            (fifo.as_path(), "a FIFO"),
            (dir.path(), "a directory"),
        ] {
            let error = read_bounded(path, 1 << 20)
                .expect_err("refused")
                .to_string();
            assert!(error.contains(what), "{error}");
        }
    }

    #[test]
    fn size_is_bounded() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("p.wasm");
        std::fs::write(&file, vec![0u8; 2048]).expect("write");
        assert_eq!(read_bounded(&file, 2048).expect("fits").len(), 2048);
        let error = read_bounded(&file, 2047).expect_err("too big").to_string();
        assert!(error.contains("limited to 2047 bytes"), "{error}");
    }
}
