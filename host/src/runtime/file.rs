//! Reading a policy file: a regular file only (never a FIFO, device or directory, which
//! could block the reader or never end), at most `BACHATA_POLICY_MAX_FILE_MB`, read with that
//! bound whatever the file claims.

use std::path::Path;

use crate::capabilities::regular_file::{Refused, read_regular};
use crate::types::error::Error;

/// Reads the policy file at `path` (links the operator set up are followed), refusing
/// anything but a regular file of at most `max` bytes. Never blocks on a FIFO.
pub fn read_bounded(path: &Path, max: u64) -> Result<Vec<u8>, Error> {
    let reject = |reason: String| Error::PolicyLoad {
        origin: path.display().to_string(),
        reason,
    };
    read_regular(path, max).map_err(|refused| match refused {
        Refused::Io(source) => Error::Io {
            path: path.to_path_buf(),
            source,
        },
        Refused::NotRegular(what) => reject(format!(
            "it is {what}; a policy must be a regular .wasm file"
        )),
        Refused::TooBig(size) => reject(format!(
            "it is {size} bytes; policy files are limited to {max} bytes ({})",
            super::limits::MAX_FILE_VAR
        )),
    })
}

/// [`read_bounded`] with the process's bound ([`Limits::max_file_bytes`](super::Limits)).
pub fn read(path: &Path) -> Result<Vec<u8>, Error> {
    read_bounded(path, super::process_limits()?.max_file_bytes)
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
