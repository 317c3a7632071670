//! The packed forms `host-fs` carries its bulk data in (see `wit/host-fs.wit`): a page's
//! entries, a removal batch's paths and its outcomes, each one text of NUL-terminated items.
//! Packed so that every host hands them over as one string, whatever its per-value conversion
//! costs.
//!
//! Both directions are here: the policy's (unpack entries and outcomes, pack paths) and the
//! host's (pack entries and outcomes, unpack paths), so the format is tested round trip.

use std::fmt::Write as _;

use crate::types::{Entry, EntryKind, Removal, RemovalStatus};

fn kind_digit(kind: EntryKind) -> char {
    match kind {
        EntryKind::File => '0',
        EntryKind::Directory => '1',
        EntryKind::Symlink => '2',
        EntryKind::Other => '3',
    }
}

fn kind_of(field: &str) -> Result<EntryKind, String> {
    Ok(match field {
        "0" => EntryKind::File,
        "1" => EntryKind::Directory,
        "2" => EntryKind::Symlink,
        "3" => EntryKind::Other,
        other => return Err(format!("entry kind `{other}` is not 0 to 3")),
    })
}

fn status_digit(status: RemovalStatus) -> char {
    match status {
        RemovalStatus::Removed => '0',
        RemovalStatus::Vanished => '1',
        RemovalStatus::InUse => '2',
        RemovalStatus::NotEmpty => '3',
        RemovalStatus::Refused => '4',
        RemovalStatus::Failed => '5',
    }
}

fn status_of(field: &str) -> Result<RemovalStatus, String> {
    Ok(match field {
        "0" => RemovalStatus::Removed,
        "1" => RemovalStatus::Vanished,
        "2" => RemovalStatus::InUse,
        "3" => RemovalStatus::NotEmpty,
        "4" => RemovalStatus::Refused,
        "5" => RemovalStatus::Failed,
        other => return Err(format!("removal status `{other}` is not 0 to 5")),
    })
}

/// The NUL-terminated items of a packed text; `Err` when the last one is not terminated.
fn items<'a>(packed: &'a str, what: &str) -> Result<Vec<&'a str>, String> {
    if packed.is_empty() {
        return Ok(Vec::new());
    }
    let Some(body) = packed.strip_suffix('\0') else {
        return Err(format!("the last {what} is not followed by a NUL"));
    };
    Ok(body.split('\0').collect())
}

fn number<T: std::str::FromStr>(field: Option<&str>, what: &str, item: &str) -> Result<T, String> {
    field
        .and_then(|text| text.parse().ok())
        .ok_or_else(|| format!("{what} of `{item}` is not a number"))
}

/// A page's entries, packed.
pub fn pack_entries(entries: &[Entry]) -> String {
    let mut out = String::with_capacity(entries.iter().map(|e| 40 + e.path.len()).sum());
    for entry in entries {
        let _ = write!(
            out,
            "{}:{}:{}:{}:{}:{}\0",
            kind_digit(entry.kind),
            u8::from(entry.locked),
            entry.size,
            entry.mtime,
            entry.mtime_nanos,
            entry.path
        );
    }
    out
}

/// A page's entries from their packed form; `Err` names what is malformed.
pub fn unpack_entries(packed: &str) -> Result<Vec<Entry>, String> {
    items(packed, "entry")?
        .into_iter()
        .map(|item| {
            let mut fields = item.splitn(6, ':');
            let kind = kind_of(fields.next().unwrap_or_default())?;
            let locked = match fields.next() {
                Some("0") => false,
                Some("1") => true,
                _ => return Err(format!("the `locked` flag of `{item}` is not 0 or 1")),
            };
            let size = number(fields.next(), "the size", item)?;
            let mtime = number(fields.next(), "the mtime", item)?;
            let mtime_nanos = number(fields.next(), "the mtime nanoseconds", item)?;
            let path = fields
                .next()
                .ok_or_else(|| format!("`{item}` has no path"))?
                .to_string();
            Ok(Entry {
                path,
                kind,
                size,
                mtime,
                mtime_nanos,
                locked,
            })
        })
        .collect()
}

/// A batch's paths, each followed by a NUL.
pub fn pack_paths(paths: &[String]) -> String {
    let mut out = String::with_capacity(paths.iter().map(|path| path.len() + 1).sum());
    for path in paths {
        out.push_str(path);
        out.push('\0');
    }
    out
}

/// A batch's paths from their packed form; `Err` when the last one is not ended by a NUL.
pub fn unpack_paths(packed: &str) -> Result<Vec<&str>, String> {
    items(packed, "path")
}

/// A batch's outcomes, packed.
pub fn pack_removals(removals: &[Removal]) -> String {
    let mut out = String::with_capacity(removals.len() * 8);
    for removal in removals {
        let _ = write!(out, "{}:{}:", status_digit(removal.status), removal.bytes);
        match &removal.reason {
            Some(reason) => {
                out.push('+');
                out.push_str(reason);
            }
            None => out.push('-'),
        }
        out.push('\0');
    }
    out
}

/// A batch's outcomes from their packed form; `Err` names what is malformed.
pub fn unpack_removals(packed: &str) -> Result<Vec<Removal>, String> {
    items(packed, "outcome")?
        .into_iter()
        .map(|item| {
            let mut fields = item.splitn(3, ':');
            let status = status_of(fields.next().unwrap_or_default())?;
            let bytes = number(fields.next(), "the bytes", item)?;
            let reason = match fields.next() {
                Some("-") => None,
                Some(text) if text.starts_with('+') => Some(text[1..].to_string()),
                _ => return Err(format!("the reason of `{item}` is neither `-` nor `+…`")),
            };
            Ok(Removal {
                status,
                bytes,
                reason,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(path: &str, kind: EntryKind, locked: bool) -> Entry {
        Entry {
            path: path.to_string(),
            kind,
            size: 1 << 40,
            mtime: 1_700_000_000,
            mtime_nanos: 999_999_999,
            locked,
        }
    }

    #[test]
    fn entries_round_trip() {
        let entries = vec![
            entry("a", EntryKind::Directory, false),
            entry("a/caf\\xe9 ✓.wav", EntryKind::File, true),
            entry("a/l:with:colons", EntryKind::Symlink, false),
            entry("a/line\nbreak", EntryKind::Other, false),
        ];
        let packed = pack_entries(&entries);
        assert_eq!(unpack_entries(&packed), Ok(entries));
        assert_eq!(unpack_entries(""), Ok(Vec::new()));
        assert_eq!(
            pack_entries(&[Entry {
                path: "downloads/a.mp4".to_string(),
                kind: EntryKind::File,
                size: 1024,
                mtime: 1_700_000_000,
                mtime_nanos: 5,
                locked: false,
            }]),
            "0:0:1024:1700000000:5:downloads/a.mp4\0"
        );
    }

    #[test]
    fn malformed_entries_are_named() {
        for bad in [
            "0:0:1:2:3:a",
            "9:0:1:2:3:a\0",
            "0:2:1:2:3:a\0",
            "0:0:x:2:3:a\0",
            "0:0:1:2:a\0",
            "0:0:1:2:3\0",
            "0:0:1:2:99999999999:a\0",
        ] {
            assert!(unpack_entries(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn paths_round_trip_including_odd_ones() {
        let paths: Vec<String> = ["a/b", "", "line\nbreak", "../x", "/etc/passwd"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let packed = pack_paths(&paths);
        assert_eq!(
            unpack_paths(&packed),
            Ok(paths.iter().map(String::as_str).collect())
        );
        assert_eq!(unpack_paths(""), Ok(Vec::new()));
        assert!(unpack_paths("a\0b").is_err());
    }

    #[test]
    fn removals_round_trip() {
        let removals = vec![
            Removal {
                status: RemovalStatus::Removed,
                bytes: 42,
                reason: None,
            },
            Removal {
                status: RemovalStatus::Failed,
                bytes: 0,
                reason: Some("permission denied: a:b ✗".to_string()),
            },
            Removal {
                status: RemovalStatus::Refused,
                bytes: 0,
                reason: Some(String::new()),
            },
        ];
        let packed = pack_removals(&removals);
        assert_eq!(
            packed,
            concat!("0:42:-\0", "5:0:+permission denied: a:b ✗\0", "4:0:+\0")
        );
        assert_eq!(unpack_removals(&packed), Ok(removals));
        for bad in ["6:0:-\0", "0:x:-\0", "0:1:?\0", "0:1\0", "0:1:-"] {
            assert!(unpack_removals(bad).is_err(), "{bad:?}");
        }
    }
}
