//! The organizer's journal: the moves of a run, written (atomically) before the first one, so
//! a run killed at any point can be finished: a move whose source is gone and whose target is
//! there was done; one whose source is still there is done again; the annotation file then
//! follows the disk.

use std::io;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::{FileId, write_atomically};

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

/// The journal of the annotation file `annotations`: `.<name>.organize-journal` beside it.
pub fn path_for(annotations: &Path) -> PathBuf {
    let name = annotations
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default();
    annotations.with_file_name(format!(".{name}.organize-journal"))
}

impl Journal {
    /// Reads the journal at `path`, if there is one.
    pub fn read(path: &Path) -> io::Result<Option<Self>> {
        match std::fs::read(path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|error| io::Error::new(io::ErrorKind::InvalidData, error)),
            Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(error) => Err(error),
        }
    }

    /// Writes it durably.
    pub fn write(&self, path: &Path) -> io::Result<()> {
        let bytes = serde_json::to_vec(self).map_err(io::Error::other)?;
        write_atomically(path, &bytes)
    }

    /// Removes the journal at `path` (the run is complete).
    pub fn remove(path: &Path) -> io::Result<()> {
        match std::fs::remove_file(path) {
            Err(error) if error.kind() != io::ErrorKind::NotFound => Err(error),
            _ => Ok(()),
        }
    }
}
