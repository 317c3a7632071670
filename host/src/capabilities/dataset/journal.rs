//! The organizer's journal: the moves of a run, written (atomically) before the first one, so
//! a run killed at any point can be finished: a move whose source is gone and whose target is
//! there was done; one whose source is still there is done again; the annotation file then
//! follows the disk.
//!
//! It lives beside the annotation file and is read, written and removed through that folder's
//! descriptor ([`Folder`]): a regular file only, at most [`MAX_BYTES`]. Whoever can write in the
//! folder can forge one, so nothing read from it is ever repeated in a message.

use std::ffi::{OsStr, OsString};
use std::io;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::FileId;
use super::folder::{FileError, Folder};

/// The largest journal read (512 MiB: a move names two paths, a clip of the annotation file
/// one).
pub const MAX_BYTES: u64 = 512 << 20;

/// One planned move.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JournalMove {
    /// The clip's index in the annotation file.
    pub index: usize,
    /// Its id (checked on resume).
    pub clip_id: String,
    /// Where it was.
    pub from: String,
    /// Where it goes.
    pub to: String,
    /// The source file when planned.
    pub file: FileId,
}

/// A run's moves.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Journal {
    /// The dataset root, as given.
    pub root: PathBuf,
    /// The moves, in order.
    pub moves: Vec<JournalMove>,
}

/// Why a journal cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    /// It cannot be read (a link, not a regular file, too large, unreadable).
    #[error(transparent)]
    File(#[from] FileError),
    /// It is not a journal (where, never what: the content is not repeated).
    #[error("it is not an organizer journal (malformed at line {line}, column {column})")]
    Malformed {
        /// The line.
        line: usize,
        /// The column.
        column: usize,
    },
}

/// The journal's name for the annotation file named `annotations`: `.<name>.organize-journal`.
pub fn name_for(annotations: &OsStr) -> OsString {
    let mut name = OsString::from(".");
    name.push(annotations);
    name.push(".organize-journal");
    name
}

/// The journal of the annotation file `annotations`: `.<name>.organize-journal` beside it.
pub fn path_for(annotations: &Path) -> PathBuf {
    annotations.with_file_name(name_for(annotations.file_name().unwrap_or_default()))
}

impl Journal {
    /// Reads the journal `name` of `folder`, if there is one.
    pub fn read(folder: &Folder, name: &OsStr) -> Result<Option<Self>, JournalError> {
        let Some(read) = folder.read(name, MAX_BYTES)? else {
            return Ok(None);
        };
        serde_json::from_slice(&read.bytes)
            .map(Some)
            .map_err(|error| JournalError::Malformed {
                line: error.line(),
                column: error.column(),
            })
    }

    /// Writes it durably as `name` in `folder`.
    pub fn write(&self, folder: &Folder, name: &OsStr) -> Result<(), FileError> {
        let bytes = serde_json::to_vec(self).map_err(io::Error::other)?;
        folder.replace(name, &bytes, None, 0o600).map(|_| ())
    }

    /// Removes the journal `name` of `folder` (the run is complete).
    pub fn remove(folder: &Folder, name: &OsStr) -> io::Result<()> {
        folder.remove(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_forged_or_special_journal_is_refused_without_its_content() {
        let dir = tempfile::tempdir().expect("dir");
        let folder = Folder::open(dir.path()).expect("open");
        let name = name_for(OsStr::new("a.json"));
        assert_eq!(name, ".a.json.organize-journal");
        assert!(Journal::read(&folder, &name).expect("none").is_none());
        std::fs::write(
            dir.path().join(&name),
            r#"{"root": ["--root /evil"], "moves": []}"#,
        )
        .expect("write");
        let error = Journal::read(&folder, &name).expect_err("malformed");
        assert!(!error.to_string().contains("evil"), "{error}");
        std::fs::remove_file(dir.path().join(&name)).expect("rm");
        std::os::unix::fs::symlink("/dev/zero", dir.path().join(&name)).expect("link");
        assert!(matches!(
            Journal::read(&folder, &name),
            Err(JournalError::File(FileError::Link))
        ));
        std::fs::remove_file(dir.path().join(&name)).expect("rm");
        rustix::fs::mkfifoat(
            rustix::fs::CWD,
            dir.path().join(&name),
            rustix::fs::Mode::from_raw_mode(0o600),
        )
        .expect("mkfifo");
        assert!(matches!(
            Journal::read(&folder, &name),
            Err(JournalError::File(FileError::NotAFile(_)))
        ));
        // Written and removed by name, the FIFO replaced as an entry.
        let journal = Journal {
            root: dir.path().to_path_buf(),
            moves: Vec::new(),
        };
        journal.write(&folder, &name).expect("write");
        assert_eq!(Journal::read(&folder, &name).expect("read"), Some(journal));
        Journal::remove(&folder, &name).expect("remove");
        assert!(!dir.path().join(&name).exists());
    }
}
