//! Reading a small file whole, safely: a regular file only (never a FIFO, device or directory,
//! which could block the reader or never end), opened without blocking and checked on the open
//! file (a FIFO swapped in after a look at the path cannot hang the read), read with its bound
//! whatever the file claims. Callers word the refusal for what the file is (a policy, a `.env`).

use std::io::Read as _;
use std::os::unix::fs::{FileTypeExt as _, OpenOptionsExt as _};
use std::path::Path;

/// Why a file was not read.
#[derive(Debug)]
pub enum Refused {
    /// It could not be opened or read.
    Io(std::io::Error),
    /// It is not a regular file: what it is (`a FIFO`, `a device`, …).
    NotRegular(&'static str),
    /// It holds more than the bound: its size (or what was read, when it grew).
    TooBig(u64),
}

/// What a file type is, in words.
pub fn what_it_is(file_type: std::fs::FileType) -> &'static str {
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

/// The regular file at `path` (links followed) opened for reading, and its metadata; checked
/// on the open file, opened without blocking.
pub fn open_regular(path: &Path) -> Result<(std::fs::File, std::fs::Metadata), Refused> {
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags((rustix::fs::OFlags::NONBLOCK | rustix::fs::OFlags::NOCTTY).bits() as i32)
        .open(path)
        .map_err(Refused::Io)?;
    let metadata = file.metadata().map_err(Refused::Io)?;
    if !metadata.file_type().is_file() {
        return Err(Refused::NotRegular(what_it_is(metadata.file_type())));
    }
    Ok((file, metadata))
}

/// The bytes of the regular file at `path` (links followed), at most `max` of them.
pub fn read_regular(path: &Path, max: u64) -> Result<Vec<u8>, Refused> {
    let (file, metadata) = open_regular(path)?;
    if metadata.len() > max {
        return Err(Refused::TooBig(metadata.len()));
    }
    let mut bytes = Vec::with_capacity(usize::try_from(metadata.len()).unwrap_or(0));
    file.take(max.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(Refused::Io)?;
    if bytes.len() as u64 > max {
        return Err(Refused::TooBig(bytes.len() as u64));
    }
    Ok(bytes)
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
            match read_regular(path, 1 << 20) {
                Err(Refused::NotRegular(found)) => assert_eq!(found, what),
                other => panic!("{path:?}: {other:?}"),
            }
        }
    }

    #[test]
    fn size_is_bounded() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("p.wasm");
        std::fs::write(&file, vec![0u8; 2048]).expect("write");
        assert_eq!(read_regular(&file, 2048).expect("fits").len(), 2048);
        assert!(matches!(
            read_regular(&file, 2047),
            Err(Refused::TooBig(2048))
        ));
    }
}
