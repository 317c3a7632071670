//! Annotation files: JSON (`{"clips": [{"clip_id", "video_path", "move_label", …}], …}`) or
//! CSV with a header row of the same columns. Rewriting changes only the clips' `video_path`s:
//! every other key, field and column is written back as it was read (JSON values verbatim, in
//! their order), the previous file kept as `<file>.bak`.

use std::io;
use std::path::{Path, PathBuf};

use indexmap::IndexMap;
use serde_json::value::RawValue;

use super::write_atomically;

/// The largest annotation file read.
pub const MAX_BYTES: u64 = 512 << 20;

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
    /// It could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: io::Error,
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
    document: Document,
    clips: Vec<ClipRow>,
    /// The file began with a UTF-8 byte-order mark.
    bom: bool,
    /// The previous version was saved as `<file>.bak` (once per run).
    backed_up: std::cell::Cell<bool>,
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
        let io = |source| AnnotationError::Io {
            path: path.to_path_buf(),
            source,
        };
        let size = std::fs::metadata(path).map_err(io)?.len();
        if size > MAX_BYTES {
            return Err(invalid(
                "annotations",
                format!("the file is {size} bytes, more than {MAX_BYTES}"),
            ));
        }
        let text = std::fs::read_to_string(path).map_err(io)?;
        // A byte-order mark (spreadsheet exports) is not part of the first key or column; the
        // rewrite keeps it.
        let (bom, text) = match text.strip_prefix('\u{feff}') {
            Some(rest) => (true, rest),
            None => (false, text.as_str()),
        };
        let csv = path
            .extension()
            .is_some_and(|extension| extension.eq_ignore_ascii_case("csv"));
        let (document, clips) = if csv {
            read_csv(text)?
        } else {
            read_json(text)?
        };
        Ok(Self {
            path: path.to_path_buf(),
            document,
            clips,
            bom,
            backed_up: std::cell::Cell::new(false),
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
    /// new one, each atomically (written, fsynced, renamed).
    pub fn write(&self) -> io::Result<()> {
        let mut text = self.render()?;
        if self.bom {
            text.splice(0..0, "\u{feff}".bytes());
        }
        // A link is written through, not replaced.
        let path = self.path.canonicalize()?;
        if !self.backed_up.get() {
            let previous = std::fs::read(&path)?;
            let mut backup = path.clone().into_os_string();
            backup.push(".bak");
            write_atomically(Path::new(&backup), &previous)?;
            self.backed_up.set(true);
        }
        write_atomically(&path, &text)
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
}
