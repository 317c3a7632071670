//! Annotation files: JSON (`{"clips": [{"clip_id", "video_path", "move_label", …}], …}`) or
//! CSV with a header row of the same columns. Rewriting changes only the clips' `video_path`s:
//! every other key, field and column is written back as it was read (JSON values verbatim, in
//! their order), the previous file kept as `<file>.bak`.
//!
//! The file is read and rewritten through its folder's descriptor ([`Folder`]): a regular file
//! only (never a link, a FIFO or a device), at most [`MAX_BYTES`], and the rewrite replaces only
//! the file that was read.

use std::cell::Cell;
use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};

use indexmap::IndexMap;
use serde_json::value::RawValue;

use super::folder::{FileError, Folder, Identity};

/// The largest annotation file read (256 MiB).
pub const MAX_BYTES: u64 = 256 << 20;

/// One clip's columns the organizer reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClipRow {
    /// Its id.
    pub clip_id: String,
    /// Its video, relative to the dataset root.
    pub video_path: String,
    /// Its move label.
    pub move_label: String,
}

/// Why an annotation file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum AnnotationError {
    /// It could not be read (missing, a link, not a regular file, too large, unreadable).
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: FileError,
    },
    /// Its content does not fit (`field` names where: `clips[3].video_path`, `line 4`).
    #[error("{field}: {message}")]
    Invalid {
        /// Where.
        field: String,
        /// What is wrong.
        message: String,
    },
}

type Object = IndexMap<String, Box<RawValue>>;

enum Document {
    Json {
        top: Object,
        clips: Vec<Object>,
    },
    Csv {
        headers: csv::StringRecord,
        records: Vec<csv::StringRecord>,
        path_column: usize,
        /// Lines ended `\r\n` (kept on rewrite).
        crlf: bool,
    },
}

/// An annotation file in memory.
pub struct Annotations {
    path: PathBuf,
    /// Its folder, and its name there.
    folder: Folder,
    name: OsString,
    /// The file read (the `.bak` is copied from it), and what it was.
    read: File,
    read_identity: Identity,
    /// The file its name should hold: the one read, then the one last written.
    current: Cell<Identity>,
    document: Document,
    clips: Vec<ClipRow>,
    /// The file began with a UTF-8 byte-order mark.
    bom: bool,
    /// The previous version was saved as `<file>.bak` (once per run).
    backed_up: Cell<bool>,
}

fn invalid(field: impl Into<String>, message: impl Into<String>) -> AnnotationError {
    AnnotationError::Invalid {
        field: field.into(),
        message: message.into(),
    }
}

/// A JSON value as text: a string as it is, a number as written.
fn text_of(raw: &RawValue) -> Option<String> {
    match serde_json::from_str::<serde_json::Value>(raw.get()).ok()? {
        serde_json::Value::String(text) => Some(text),
        serde_json::Value::Number(number) => Some(number.to_string()),
        _ => None,
    }
}

fn read_json(text: &str) -> Result<(Document, Vec<ClipRow>), AnnotationError> {
    let mut top: Object = serde_json::from_str(text).map_err(|error| {
        invalid(
            "body",
            format!("not a JSON object with a \"clips\" list: {error}"),
        )
    })?;
    let raw = top
        .get("clips")
        .ok_or_else(|| invalid("clips", "the file has no \"clips\" list"))?;
    let clips: Vec<Object> = serde_json::from_str(raw.get()).map_err(|error| {
        invalid(
            "clips",
            format!("\"clips\" must be a list of objects: {error}"),
        )
    })?;
    let mut rows = Vec::with_capacity(clips.len());
    for (index, clip) in clips.iter().enumerate() {
        let field = |name: &str| -> Result<String, AnnotationError> {
            clip.get(name).and_then(|raw| text_of(raw)).ok_or_else(|| {
                invalid(
                    format!("clips[{index}].{name}"),
                    format!("clip {index} needs a text {name}"),
                )
            })
        };
        rows.push(ClipRow {
            clip_id: field("clip_id")?,
            video_path: field("video_path")?,
            move_label: field("move_label")?,
        });
    }
    // The clips are written back from `clips`; the placeholder keeps their place in `top`.
    if let Some(slot) = top.get_mut("clips") {
        *slot =
            RawValue::from_string("[]".to_string()).map_err(|e| invalid("clips", e.to_string()))?;
    }
    Ok((Document::Json { top, clips }, rows))
}

fn read_csv(text: &str) -> Result<(Document, Vec<ClipRow>), AnnotationError> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .from_reader(text.as_bytes());
    let headers = reader
        .headers()
        .map_err(|error| invalid("line 1", format!("no header row: {error}")))?
        .clone();
    let column = |name: &str| {
        headers
            .iter()
            .position(|header| header.trim() == name)
            .ok_or_else(|| invalid("header", format!("the header row has no {name} column")))
    };
    let (id, path, label) = (
        column("clip_id")?,
        column("video_path")?,
        column("move_label")?,
    );
    let mut records = Vec::new();
    let mut rows = Vec::new();
    for (index, record) in reader.records().enumerate() {
        let line = index + 2;
        let record = record.map_err(|error| invalid(format!("line {line}"), error.to_string()))?;
        let cell = |column: usize, name: &str| {
            record
                .get(column)
                .map(str::to_string)
                .ok_or_else(|| invalid(format!("line {line}"), format!("no {name} value")))
        };
        rows.push(ClipRow {
            clip_id: cell(id, "clip_id")?,
            video_path: cell(path, "video_path")?,
            move_label: cell(label, "move_label")?,
        });
        records.push(record);
    }
    Ok((
        Document::Csv {
            headers,
            records,
            path_column: path,
            crlf: text.contains("\r\n"),
        },
        rows,
    ))
}

impl Annotations {
    /// Reads `path`: CSV when it ends in `.csv` (any case), JSON otherwise.
    pub fn read(path: &Path) -> Result<Self, AnnotationError> {
        let (folder, name) = Folder::of_file(path).map_err(|source| AnnotationError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Self::open(&folder, &name, path)
    }

    /// Reads the file `name` of `folder` (`path` names it in messages and says its format).
    pub fn open(folder: &Folder, name: &OsStr, path: &Path) -> Result<Self, AnnotationError> {
        let io = |source| AnnotationError::Io {
            path: path.to_path_buf(),
            source,
        };
        let read = folder.read_existing(name, MAX_BYTES).map_err(io)?;
        let text = std::str::from_utf8(&read.bytes)
            .map_err(|error| invalid("annotations", format!("the file is not UTF-8: {error}")))?;
        // A byte-order mark (spreadsheet exports) is not part of the first key or column; the
        // rewrite keeps it.
        let (bom, text) = match text.strip_prefix('\u{feff}') {
            Some(rest) => (true, rest),
            None => (false, text),
        };
        let csv = Path::new(name)
            .extension()
            .is_some_and(|extension| extension.eq_ignore_ascii_case("csv"));
        let (document, clips) = if csv {
            read_csv(text)?
        } else {
            read_json(text)?
        };
        Ok(Self {
            path: path.to_path_buf(),
            folder: folder.try_clone().map_err(|error| io(error.into()))?,
            name: name.to_os_string(),
            read: read.file,
            read_identity: read.identity,
            current: Cell::new(read.identity),
            document,
            clips,
            bom,
            backed_up: Cell::new(false),
        })
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The clips, in the file's order.
    pub fn clips(&self) -> &[ClipRow] {
        &self.clips
    }

    /// Points clip `index` at `video_path`.
    pub fn set_path(&mut self, index: usize, video_path: &str) {
        let Some(row) = self.clips.get_mut(index) else {
            return;
        };
        row.video_path = video_path.to_string();
        match &mut self.document {
            Document::Json { clips, .. } => {
                if let (Some(clip), Ok(raw)) = (
                    clips.get_mut(index),
                    serde_json::value::to_raw_value(video_path),
                ) {
                    clip.insert("video_path".to_string(), raw);
                }
            }
            Document::Csv {
                records,
                path_column,
                ..
            } => {
                if let Some(record) = records.get_mut(index) {
                    *record = record
                        .iter()
                        .enumerate()
                        .map(|(column, value)| {
                            if column == *path_column {
                                video_path
                            } else {
                                value
                            }
                        })
                        .collect();
                }
            }
        }
    }

    /// The file's new text.
    fn render(&self) -> io::Result<Vec<u8>> {
        match &self.document {
            Document::Json { top, clips } => {
                /// A top-level value: as read, or the clips (pretty-printed, values as read).
                #[derive(serde::Serialize)]
                #[serde(untagged)]
                enum Slot<'a> {
                    Raw(&'a RawValue),
                    Clips(&'a [Object]),
                }
                let top: IndexMap<&str, Slot<'_>> = top
                    .iter()
                    .map(|(key, value)| {
                        let slot = if key == "clips" {
                            Slot::Clips(clips)
                        } else {
                            Slot::Raw(value)
                        };
                        (key.as_str(), slot)
                    })
                    .collect();
                let mut text = serde_json::to_vec_pretty(&top).map_err(io::Error::other)?;
                text.push(b'\n');
                Ok(text)
            }
            Document::Csv {
                headers,
                records,
                crlf,
                ..
            } => {
                let terminator = if *crlf {
                    csv::Terminator::CRLF
                } else {
                    csv::Terminator::Any(b'\n')
                };
                let mut writer = csv::WriterBuilder::new()
                    .terminator(terminator)
                    .from_writer(Vec::new());
                writer.write_record(headers).map_err(io::Error::other)?;
                for record in records {
                    writer.write_record(record).map_err(io::Error::other)?;
                }
                writer
                    .into_inner()
                    .map_err(|error| io::Error::other(error.to_string()))
            }
        }
    }

    /// Writes the file back: the version read to `<file>.bak` (the first time only), then the
    /// new one, each atomically (written, fsynced, renamed), through the folder's descriptor.
    /// Only when the name still holds the file read (or last written): otherwise
    /// [`FileError::Replaced`] and nothing is written.
    pub fn write(&self) -> Result<(), FileError> {
        let mut text = self.render()?;
        if self.bom {
            text.splice(0..0, "\u{feff}".bytes());
        }
        let current = self.current.get();
        if !self.backed_up.get() {
            self.folder.check(&self.name, &current)?;
            let previous = Folder::reread(&self.read, &self.read_identity, MAX_BYTES)?;
            let mut backup = self.name.clone();
            backup.push(".bak");
            self.folder
                .replace(&backup, &previous, None, self.read_identity.mode)?;
            self.backed_up.set(true);
        }
        let written = self
            .folder
            .replace(&self.name, &text, Some(&current), current.mode)?;
        self.current.set(written);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_spreadsheet_csv_keeps_its_mark_and_line_ends() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("clips.csv");
        std::fs::write(
            &path,
            "\u{feff}clip_id,video_path,move_label,notes\r\nc1,raw/a.mp4,spin,\"x, y\"\r\n",
        )
        .expect("write");
        let mut annotations = Annotations::read(&path).expect("read");
        assert_eq!(annotations.clips()[0].clip_id, "c1");
        annotations.set_path(0, "turns_spins/spin/a.mp4");
        annotations.write().expect("write");
        assert_eq!(
            std::fs::read_to_string(&path).expect("read"),
            "\u{feff}clip_id,video_path,move_label,notes\r\nc1,turns_spins/spin/a.mp4,spin,\"x, y\"\r\n"
        );
        assert!(dir.path().join("clips.csv.bak").is_file());
    }

    #[test]
    fn json_keeps_every_other_key_and_value_as_written() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("a.json");
        std::fs::write(
            &path,
            r#"{"z": 1.50, "clips": [{"video_path": "a.mp4", "clip_id": 7, "move_label": "dip", "tags": ["ñ"]}], "a": null}"#,
        )
        .expect("write");
        let mut annotations = Annotations::read(&path).expect("read");
        assert_eq!(annotations.clips()[0].clip_id, "7");
        annotations.set_path(0, "advanced/dip/a.mp4");
        annotations.write().expect("write");
        let text = std::fs::read_to_string(&path).expect("read");
        // Keys in their order, numbers as written.
        let z = text.find("\"z\": 1.50").expect("z as written");
        let clips = text.find("\"clips\"").expect("clips");
        let a = text.find("\"a\": null").expect("a");
        assert!(z < clips && clips < a, "{text}");
        assert!(
            text.contains("\"video_path\": \"advanced/dip/a.mp4\""),
            "{text}"
        );
        assert!(text.contains("\"clip_id\": 7"), "{text}");
        assert!(text.contains("[\"ñ\"]"), "{text}");
    }

    #[test]
    fn a_file_swapped_for_a_link_after_the_read_is_not_written_through() {
        let dir = tempfile::tempdir().expect("dir");
        std::fs::create_dir_all(dir.path().join("data")).expect("mkdir");
        std::fs::create_dir_all(dir.path().join("outside")).expect("mkdir");
        let victim = dir.path().join("outside/victim.txt");
        std::fs::write(&victim, "victim").expect("write");
        let path = dir.path().join("data/ann.json");
        let original =
            r#"{"clips": [{"clip_id": "a", "video_path": "a.mp4", "move_label": "dip"}]}"#;
        std::fs::write(&path, original).expect("write");
        let mut annotations = Annotations::read(&path).expect("read");
        annotations.set_path(0, "advanced/dip/a.mp4");
        std::fs::remove_file(&path).expect("rm");
        std::os::unix::fs::symlink("../outside/victim.txt", &path).expect("link");
        assert!(matches!(annotations.write(), Err(FileError::Replaced)));
        assert_eq!(std::fs::read_to_string(&victim).expect("read"), "victim");
        assert!(!dir.path().join("outside/victim.txt.bak").exists());
        assert!(!dir.path().join("data/ann.json.bak").exists());
        assert!(path.is_symlink());
        // Put back: written, the `.bak` the version read, a second write keeps that `.bak`.
        std::fs::remove_file(&path).expect("rm");
        let mut annotations = {
            std::fs::write(&path, original).expect("write");
            Annotations::read(&path).expect("read")
        };
        annotations.set_path(0, "advanced/dip/a.mp4");
        annotations.write().expect("write");
        annotations.set_path(0, "advanced/dip/b.mp4");
        annotations
            .write()
            .expect("a second write of the file just written");
        assert!(
            std::fs::read_to_string(&path)
                .expect("read")
                .contains("b.mp4")
        );
        assert_eq!(
            std::fs::read_to_string(dir.path().join("data/ann.json.bak")).expect("read"),
            original
        );
    }

    #[test]
    fn special_files_and_folders_are_refused_without_being_read() {
        let dir = tempfile::tempdir().expect("dir");
        std::os::unix::fs::symlink("/dev/zero", dir.path().join("zero.json")).expect("link");
        std::fs::create_dir(dir.path().join("folder.json")).expect("mkdir");
        for (name, why) in [
            ("zero.json", "symbolic link"),
            ("folder.json", "directory"),
            ("none.json", "no such file"),
        ] {
            let error = Annotations::read(&dir.path().join(name))
                .err()
                .expect("refused");
            assert!(error.to_string().contains(why), "{name}: {error}");
        }
    }
}
