//! Importing events from JSON Lines: the input is read once (a pipe or standard input works
//! as well as a file), every line is checked before anything is stored, and then every event
//! is stored in one transaction: all of them, or none.
//!
//! Memory does not grow with the input: the events, once checked by the policy (each with
//! its line number and the defaults the policy filled in), wait in an anonymous spool file and
//! are stored in batches read back from it; a line is read at most [`MAX_LINE_BYTES`] bytes far
//! before it is refused. Every event is checked once.

use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Read, Seek, SeekFrom, Write};

use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;

use super::logging::{Event, Stored, worded};
use super::{MAX_BATCH, Monitor, store_error};
use crate::capabilities::store::StoreError;
use crate::runtime::Policy;
use crate::types::error::{AppError, Error};
use crate::types::monitor::{Refusal, invalid};

/// The longest line of an import, in bytes.
pub const MAX_LINE_BYTES: usize = 1 << 20;

/// Takes one batch of checked events with the line numbers they came from.
type BatchSink<'a, T> = dyn FnMut(Vec<T>, &[usize]) -> Result<(), StoreError> + 'a;

/// What an import stored.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Imported {
    /// Events read (non-empty lines).
    pub events: usize,
    /// Events newly stored.
    pub stored: usize,
    /// Events whose id was already stored with the same content (nothing written).
    pub duplicates: usize,
}

/// The checked lines of an input, spooled, waiting to be stored.
pub struct Spool {
    file: File,
    events: usize,
}

impl Spool {
    /// Reads `input` once, line by line (each at most [`MAX_LINE_BYTES`]), and checks every
    /// non-empty line as an `E` by the policy's rules (a batch at a time), with `now` as the
    /// time of events that give none. The first line that does not parse or breaks a rule
    /// fails the whole import, naming the line; `source` names the input in I/O errors.
    pub fn read<E: Event>(
        policy: &Policy,
        input: impl Read,
        source: &str,
        now: DateTime<Utc>,
    ) -> Result<Self, Error> {
        let io = |error: std::io::Error| Error::Io {
            path: source.into(),
            source: error,
        };
        let spool = tempfile::tempfile().map_err(|error| Error::Io {
            path: std::env::temp_dir(),
            source: error,
        })?;
        let mut out = BufWriter::new(spool);
        let mut reader = BufReader::new(input);
        let mut line = Vec::new();
        let (mut number, mut events) = (0usize, 0usize);
        let mut chunk = Chunk::<E>::default();
        // Checks the waiting events and spools what the policy answered.
        let spool_checked = |chunk: &mut Chunk<E>, out: &mut BufWriter<File>| {
            let (checked, lines) = chunk.check(policy, now)?;
            for (event, number) in checked.iter().zip(&lines) {
                let json = serde_json::to_string(event).map_err(|error| Error::Io {
                    path: std::env::temp_dir(),
                    source: error.into(),
                })?;
                writeln!(out, "{number} {json}").map_err(io)?;
            }
            Ok::<(), Error>(())
        };
        while read_line(&mut reader, &mut line, number + 1).map_err(|error| match error {
            LineError::Io(error) => io(error),
            LineError::App(error) => Error::App(error),
        })? {
            number += 1;
            let Some(text) = text_of(&line, number)? else {
                continue;
            };
            if chunk.push(parse::<E>(text, number)?, number, text.len()) {
                spool_checked(&mut chunk, &mut out)?;
            }
            events += 1;
        }
        spool_checked(&mut chunk, &mut out)?;
        let mut file = out.into_inner().map_err(|error| io(error.into_error()))?;
        file.flush().map_err(io)?;
        Ok(Self { file, events })
    }

    /// The number of events spooled.
    pub fn len(&self) -> usize {
        self.events
    }

    /// Whether no event was read.
    pub fn is_empty(&self) -> bool {
        self.events == 0
    }

    /// Calls `batch` with every spooled (checked) event in order, at most [`MAX_BATCH`] (and
    /// [`CHUNK_BYTES`] of text) at a time, each batch with the line numbers of its events.
    fn batches<S: Stored>(&self, batch: &mut BatchSink<'_, S>) -> Result<(), StoreError> {
        let spool_error =
            |error: std::io::Error| StoreError::Database(format!("the import spool: {error}"));
        let damaged = || StoreError::Database("the import spool is damaged".into());
        let mut file = &self.file;
        file.seek(SeekFrom::Start(0)).map_err(spool_error)?;
        let reader = BufReader::new(file);
        let (mut events, mut lines, mut bytes) = (Vec::new(), Vec::new(), 0);
        for entry in reader.lines() {
            let entry = entry.map_err(spool_error)?;
            let (number, json) = entry
                .split_once(' ')
                .and_then(|(number, json)| Some((number.parse::<usize>().ok()?, json)))
                .ok_or_else(damaged)?;
            events.push(serde_json::from_str::<S>(json).map_err(|_| damaged())?);
            lines.push(number);
            bytes += json.len();
            if events.len() >= MAX_BATCH || bytes >= CHUNK_BYTES {
                batch(std::mem::take(&mut events), &lines)?;
                lines.clear();
                bytes = 0;
            }
        }
        if !events.is_empty() {
            batch(events, &lines)?;
        }
        Ok(())
    }
}

/// The most text of the events checked or stored together, in bytes (besides [`MAX_BATCH`]
/// events): memory stays bounded whatever the lines hold.
pub const CHUNK_BYTES: usize = 8 << 20;

/// Decoded events waiting to be checked together, with their line numbers.
struct Chunk<E> {
    events: Vec<E>,
    lines: Vec<usize>,
    bytes: usize,
}

impl<E> Default for Chunk<E> {
    fn default() -> Self {
        Self {
            events: Vec::new(),
            lines: Vec::new(),
            bytes: 0,
        }
    }
}

impl<E: Event> Chunk<E> {
    /// Adds an event of `bytes` of text from line `line`; `true` when the chunk is full.
    fn push(&mut self, event: E, line: usize, bytes: usize) -> bool {
        self.events.push(event);
        self.lines.push(line);
        self.bytes += bytes;
        self.events.len() >= MAX_BATCH || self.bytes >= CHUNK_BYTES
    }

    /// Checks the waiting events by the policy's rules and empties the chunk; an error names
    /// the line.
    fn check(
        &mut self,
        policy: &Policy,
        now: DateTime<Utc>,
    ) -> Result<(Vec<E::Checked>, Vec<usize>), Error> {
        let events = std::mem::take(&mut self.events);
        let lines = std::mem::take(&mut self.lines);
        self.bytes = 0;
        if events.is_empty() {
            return Ok((Vec::new(), lines));
        }
        match E::check(policy, events, now, true) {
            Ok(checked) => Ok((checked, lines)),
            Err(Error::App(error)) => Err(Error::App(to_line(error, &lines, ""))),
            Err(other) => Err(other),
        }
    }
}

impl Monitor {
    /// Stores every event of `spool` in one transaction: all of them, or none when one
    /// cannot be stored (the error names its line). `progress` hears how many events each
    /// stored batch held.
    pub fn import<E: Event>(
        &self,
        policy: &Policy,
        spool: &Spool,
        progress: &dyn Fn(usize),
    ) -> Result<Imported, Error> {
        let mut store = self.writer.lock().unwrap_or_else(|e| e.into_inner());
        store
            .write(|tx| {
                let mut imported = Imported {
                    events: spool.len(),
                    ..Imported::default()
                };
                spool.batches::<E::Checked>(&mut |batch, lines| {
                    let count = batch.len();
                    let logged = <E::Checked as Stored>::insert(tx, &batch, true)
                        .map_err(|error| at_line(worded(policy, indexed(error, &batch)), lines))?;
                    let new = logged.iter().filter(|logged| logged.stored).count();
                    imported.stored += new;
                    imported.duplicates += count - new;
                    progress(count);
                    Ok(())
                })?;
                Ok(imported)
            })
            .map_err(store_error)
    }
}

/// A conflict names an id, not an event: here, the first event of the batch with that id,
/// so that the error names its line.
fn indexed<S: Stored>(error: StoreError, batch: &[S]) -> StoreError {
    match error {
        StoreError::Refused {
            refusal: Refusal::Conflict { field, id },
            index: None,
        } => {
            let index = batch.iter().position(|event| event.id() == id);
            StoreError::Refused {
                refusal: Refusal::Conflict { field, id },
                index,
            }
        }
        other => other,
    }
}

/// Why a line could not be read.
enum LineError {
    Io(std::io::Error),
    App(AppError),
}

/// Reads the line `number` into `line` (without its end), reading at most one byte past
/// [`MAX_LINE_BYTES`]; `false` at the end of the input.
fn read_line(
    reader: &mut impl BufRead,
    line: &mut Vec<u8>,
    number: usize,
) -> Result<bool, LineError> {
    line.clear();
    // The line, its `\r\n` and one byte more at most.
    let limit = MAX_LINE_BYTES as u64 + 3;
    let read = reader
        .by_ref()
        .take(limit)
        .read_until(b'\n', line)
        .map_err(LineError::Io)?;
    if read == 0 {
        return Ok(false);
    }
    let ended = line.last() == Some(&b'\n');
    if ended {
        line.pop();
        if line.last() == Some(&b'\r') {
            line.pop();
        }
    }
    // A byte-order mark before the first line is no part of it.
    if number == 1 && line.starts_with(b"\xEF\xBB\xBF") {
        line.drain(..3);
    }
    if line.len() > MAX_LINE_BYTES || (!ended && read as u64 == limit) {
        return Err(LineError::App(invalid(
            "line",
            Some(number.to_string()),
            format!("line {number} is longer than {MAX_LINE_BYTES} bytes"),
        )));
    }
    Ok(true)
}

/// The text of a line, `None` when blank; a line that is not UTF-8 is refused.
fn text_of(line: &[u8], number: usize) -> Result<Option<&str>, Error> {
    let text = std::str::from_utf8(line).map_err(|_| {
        Error::App(invalid(
            "line",
            Some(number.to_string()),
            format!("line {number} is not UTF-8 text"),
        ))
    })?;
    Ok((!text.trim().is_empty()).then_some(text))
}

/// Parses the line `number` (the policy checks it).
fn parse<E: DeserializeOwned>(text: &str, number: usize) -> Result<E, Error> {
    // An event is an object: serde would also read its fields from an array.
    if !text.trim_start().starts_with('{') {
        return Err(Error::App(invalid(
            "line",
            Some(number.to_string()),
            format!("line {number}: an event must be a JSON object"),
        )));
    }
    let mut deserializer = serde_json::Deserializer::from_str(text);
    let input: E = serde_path_to_error::deserialize(&mut deserializer).map_err(|error| {
        let field = error.path().to_string();
        Error::App(invalid(
            &field,
            Some(number.to_string()),
            format!("line {number}: {field}: {}", error.inner()),
        ))
    })?;
    // One event per line: text after it (a second event) is refused, not ignored.
    deserializer.end().map_err(|error| {
        Error::App(invalid(
            "line",
            Some(number.to_string()),
            format!(
                "line {number}: one event per line: text follows it at column {}",
                error.column()
            ),
        ))
    })?;
    Ok(input)
}

/// Names the line of the event a batch's error names as `[index].field`, and says that
/// nothing was stored.
fn at_line(error: StoreError, lines: &[usize]) -> StoreError {
    const NOTHING: &str = "; nothing was stored";
    match error {
        StoreError::Invalid(error) => StoreError::Invalid(to_line(error, lines, NOTHING)),
        StoreError::Conflict(error) => StoreError::Conflict(to_line(error, lines, NOTHING)),
        other => other,
    }
}

/// A validation error naming the event `[index]` of a batch, as one naming its line
/// (`line <n>: <message><suffix>`, the field without the index).
fn to_line(error: AppError, lines: &[usize], suffix: &str) -> AppError {
    let AppError::Validation {
        message,
        field,
        value,
        details,
    } = error
    else {
        return error;
    };
    let index = field
        .as_deref()
        .and_then(|field| field.strip_prefix('['))
        .and_then(|rest| rest.split_once(']'))
        .and_then(|(index, _)| index.parse::<usize>().ok());
    let Some(line) = index.and_then(|index| lines.get(index)) else {
        return AppError::Validation {
            message: format!("{message}{suffix}"),
            field,
            value,
            details,
        };
    };
    let field = field.map(|field| {
        field
            .split_once("].")
            .map_or(field.clone(), |(_, rest)| rest.to_string())
    });
    let message = message
        .split_once(": ")
        .filter(|(head, _)| head.starts_with("event "))
        .map_or(message.clone(), |(_, rest)| rest.to_string());
    AppError::Validation {
        message: format!("line {line}: {message}{suffix}"),
        field,
        value,
        details,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_bounded_while_read() {
        let long = vec![b'x'; MAX_LINE_BYTES + 10];
        let mut reader = BufReader::new(&long[..]);
        let mut line = Vec::new();
        assert!(matches!(
            read_line(&mut reader, &mut line, 1),
            Err(LineError::App(_))
        ));
        assert!(line.len() <= MAX_LINE_BYTES + 3);

        let text = b"a\r\nb\n\nc";
        let mut reader = BufReader::new(&text[..]);
        let mut seen = Vec::new();
        while read_line(&mut reader, &mut line, seen.len() + 1).unwrap_or(false) {
            seen.push(String::from_utf8(line.clone()).unwrap_or_default());
        }
        assert_eq!(seen, ["a", "b", "", "c"]);

        // At the limit with either line end; a byte-order mark before the first line.
        for end in [&b"\n"[..], b"\r\n"] {
            let mut text = vec![b'x'; MAX_LINE_BYTES];
            text.extend_from_slice(end);
            let mut reader = BufReader::new(&text[..]);
            assert!(matches!(read_line(&mut reader, &mut line, 1), Ok(true)));
            assert_eq!(line.len(), MAX_LINE_BYTES);
        }
        let mut reader = BufReader::new(&b"\xEF\xBB\xBF{}\n"[..]);
        assert!(matches!(read_line(&mut reader, &mut line, 1), Ok(true)));
        assert_eq!(line, b"{}");
    }

    #[test]
    fn text_after_an_event_is_refused() {
        use crate::types::monitor::FeedbackInput;
        let like = r#"{"decision_id": "d-1", "feedback_type": "like"}"#;
        let now = Utc::now();
        let policy = Policy::embedded().expect("the embedded policy");
        let spool = Spool::read::<FeedbackInput>(&policy, format!("{like}\n").as_bytes(), "-", now);
        assert_eq!(spool.expect("one event").len(), 1);
        for line in [
            format!("{like} {like}"),
            format!("{like}n"),
            format!("{like},"),
        ] {
            let input = format!("{like}\n{line}\n");
            let error = Spool::read::<FeedbackInput>(&policy, input.as_bytes(), "-", now)
                .err()
                .expect("refused");
            assert!(
                error.to_string().starts_with("line 2: one event per line"),
                "{line}: {error}"
            );
        }
    }
}
