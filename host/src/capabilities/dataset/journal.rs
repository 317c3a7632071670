//! The organizer's journal: the moves of a run, written (atomically) before the first one, so
//! a run killed at any point can be finished: a move whose source is gone and whose target is
//! there was done; one whose source is still there is done again; the annotation file then
//! follows the disk.
//!
//! It records the root it was written for by identity ([`RootId`]: device and inode), with its
//! canonical path for people, and is used only in that root ([`Journal::is_of`]).
//!
//! It lives beside the annotation file and is read, written and removed through that folder's
//! descriptor ([`Folder`]): a regular file only, at most [`MAX_BYTES`]. Whoever can write in the
//! folder can forge one, so nothing read from it is ever repeated in a message.

use std::ffi::{OsStr, OsString};
use std::io;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::folder::{FileError, Folder};
use super::{Dataset, FileId, RootId};

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
    /// The dataset root's canonical absolute path (in older journals: as it was typed, perhaps
    /// relative to a directory the journal does not record).
    pub root: PathBuf,
    /// Which directory the root is (absent from older journals).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub root_id: Option<RootId>,
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

    /// Whether this is a journal of `dataset`'s root. A journal records the root's device and
    /// inode: the same directory, whatever path reaches it now (renamed, a bind mount), and no
    /// other. An older journal recorded the root as it was typed: an absolute path must name
    /// this root now; a relative one was relative to a directory it does not record, so it must
    /// name this root from the current directory *and* every file it lists must be in this
    /// root, at its source or at its target (the same file: inode, size, modification time).
    /// Anything else cannot be told from another dataset's journal: not this root's.
    pub fn is_of(&self, dataset: &Dataset) -> io::Result<bool> {
        let now = dataset.id()?;
        if let Some(recorded) = self.root_id {
            return Ok(recorded == now);
        }
        if RootId::of_path(&self.root).ok() != Some(now) {
            return Ok(false);
        }
        if self.root.is_absolute() {
            return Ok(true);
        }
        Ok(!self.moves.is_empty()
            && self.moves.iter().all(|planned| {
                dataset.holds(&planned.from, planned.file)
                    || dataset.holds(&planned.to, planned.file)
            }))
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
            root_id: Some(RootId {
                device: 1,
                inode: 2,
            }),
            moves: Vec::new(),
        };
        journal.write(&folder, &name).expect("write");
        assert_eq!(Journal::read(&folder, &name).expect("read"), Some(journal));
        Journal::remove(&folder, &name).expect("remove");
        assert!(!dir.path().join(&name).exists());
    }

    /// `path` relative to the current directory (`..` up to `/`, then down).
    fn from_here(path: &Path) -> PathBuf {
        let here = std::env::current_dir().expect("cwd");
        let mut relative = PathBuf::new();
        for _ in here.components().skip(1) {
            relative.push("..");
        }
        relative.join(path.strip_prefix("/").expect("absolute"))
    }

    #[test]
    fn a_journal_is_of_the_root_it_records_and_an_older_one_only_when_unambiguous() {
        let dir = tempfile::tempdir().expect("dir");
        let (a, b) = (dir.path().join("a"), dir.path().join("b"));
        for root in [&a, &b] {
            std::fs::create_dir_all(root).expect("mkdir");
            std::fs::write(root.join("x.mp4"), "the same bytes").expect("write");
        }
        let (in_a, in_b) = (
            Dataset::open(&a).expect("open"),
            Dataset::open(&b).expect("open"),
        );
        let Ok(super::super::Found::File(stat)) = in_a.find("x.mp4") else {
            panic!("a file");
        };
        let journal = Journal {
            root: super::super::canonical_path(&a),
            root_id: Some(in_a.id().expect("id")),
            moves: vec![JournalMove {
                index: 0,
                clip_id: "x".into(),
                from: "x.mp4".into(),
                to: "c/l/x.mp4".into(),
                file: FileId::of(&stat),
            }],
        };
        assert!(journal.is_of(&in_a).expect("a"));
        assert!(!journal.is_of(&in_b).expect("b"), "another root");
        // Renamed: the same directory still.
        let renamed = dir.path().join("renamed");
        std::fs::rename(&a, &renamed).expect("rename");
        assert!(
            journal
                .is_of(&Dataset::open(&renamed).expect("open"))
                .expect("renamed")
        );

        // Older journals: the root as typed. Absolute: the directory it names now.
        let older = Journal {
            root: renamed.clone(),
            root_id: None,
            ..journal.clone()
        };
        assert!(older.is_of(&in_a).expect("absolute"));
        assert!(!older.is_of(&in_b).expect("absolute, another root"));
        // Relative: names this root from here and its files are here.
        let relative = Journal {
            root: from_here(&renamed),
            ..older.clone()
        };
        assert!(relative.root.is_relative());
        assert!(relative.is_of(&in_a).expect("relative"));
        assert!(!relative.is_of(&in_b).expect("relative, another root"));
        // The same relative path naming another dataset (the same names and bytes, other
        // files): refused.
        std::fs::rename(&renamed, dir.path().join("away")).expect("rename");
        std::fs::rename(&b, &renamed).expect("rename");
        assert!(!relative.is_of(&in_b).expect("another dataset at that path"));
        // A relative root with no file to tell it by: refused.
        let empty = Journal {
            moves: Vec::new(),
            root: from_here(&renamed),
            root_id: None,
        };
        assert!(!empty.is_of(&in_b).expect("no moves"));
        // Written with its identity, read back alike; an older one has none.
        let folder = Folder::open(dir.path()).expect("open");
        journal.write(&folder, OsStr::new("j")).expect("write");
        let text = std::fs::read_to_string(dir.path().join("j")).expect("read");
        assert!(text.contains("\"root_id\":{\"device\":"), "{text}");
        older.write(&folder, OsStr::new("j")).expect("write");
        let text = std::fs::read_to_string(dir.path().join("j")).expect("read");
        assert!(!text.contains("root_id"), "{text}");
        assert_eq!(
            Journal::read(&folder, OsStr::new("j")).expect("read"),
            Some(older)
        );
    }
}
