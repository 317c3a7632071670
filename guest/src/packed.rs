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
fn items<'a>(packed: &'a str, what: &str) -> Result<Items<'a>, String> {
    if !packed.is_empty() && !packed.ends_with('\0') {
        return Err(format!("the last {what} is not followed by a NUL"));
    }
    Ok(Items { rest: packed })
}

/// The items of a packed text whose last item is NUL-terminated, in order. A byte loop: the
/// page parsers run once per entry of a scan, inside the policy.
struct Items<'a> {
    rest: &'a str,
}

impl<'a> Iterator for Items<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        let end = self.rest.bytes().position(|byte| byte == 0)?;
        let item = &self.rest[..end];
        self.rest = &self.rest[end + 1..];
        Some(item)
    }
}

/// The `:`-separated fields of an item, at most `left` (the last keeps its `:`), as
/// `str::splitn(left, ':')` gives them.
struct Fields<'a> {
    rest: Option<&'a str>,
    left: usize,
}

impl<'a> Fields<'a> {
    fn new(item: &'a str, left: usize) -> Self {
        Self {
            rest: Some(item),
            left,
        }
    }
}

impl<'a> Iterator for Fields<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        let rest = self.rest?;
        if self.left <= 1 {
            self.rest = None;
            return (self.left == 1).then_some(rest);
        }
        self.left -= 1;
        match rest.bytes().position(|byte| byte == b':') {
            Some(at) => {
                self.rest = Some(&rest[at + 1..]);
                Some(&rest[..at])
            }
            None => {
                self.rest = None;
                Some(rest)
            }
        }
    }
}

/// A decimal field as `str::parse` reads it: plain digits on a fast path, anything else
/// (a sign, too many digits) by `parse` itself, so both accept exactly the same texts.
fn number<T: std::str::FromStr + TryFrom<u64>>(
    field: Option<&str>,
    what: &str,
    item: &str,
) -> Result<T, String> {
    let fast = |text: &str| -> Option<T> {
        if text.is_empty() || text.len() > 19 {
            return None;
        }
        let mut value: u64 = 0;
        for byte in text.bytes() {
            if !byte.is_ascii_digit() {
                return None;
            }
            value = value * 10 + u64::from(byte - b'0');
        }
        T::try_from(value).ok()
    };
    field
        .and_then(|text| fast(text).or_else(|| text.parse().ok()))
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
        .map(|item| {
            let mut fields = Fields::new(item, 6);
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
    Ok(items(packed, "path")?.collect())
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
        .map(|item| {
            let mut fields = Fields::new(item, 3);
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

    /// The parsers written with `str::split`, `splitn` and `parse`: what the byte loops must
    /// answer exactly.
    mod reference {
        use super::super::{kind_of, status_of};
        use crate::types::{Entry, Removal};

        fn items(packed: &str) -> Option<Vec<&str>> {
            if packed.is_empty() {
                return Some(Vec::new());
            }
            Some(packed.strip_suffix('\0')?.split('\0').collect())
        }

        fn number<T: std::str::FromStr>(field: Option<&str>) -> Option<T> {
            field?.parse().ok()
        }

        pub fn entries(packed: &str) -> Option<Vec<Entry>> {
            items(packed)?
                .into_iter()
                .map(|item| {
                    let mut fields = item.splitn(6, ':');
                    let kind = kind_of(fields.next().unwrap_or_default()).ok()?;
                    let locked = match fields.next() {
                        Some("0") => false,
                        Some("1") => true,
                        _ => return None,
                    };
                    Some(Entry {
                        kind,
                        locked,
                        size: number(fields.next())?,
                        mtime: number(fields.next())?,
                        mtime_nanos: number(fields.next())?,
                        path: fields.next()?.to_string(),
                    })
                })
                .collect()
        }

        pub fn removals(packed: &str) -> Option<Vec<Removal>> {
            items(packed)?
                .into_iter()
                .map(|item| {
                    let mut fields = item.splitn(3, ':');
                    let status = status_of(fields.next().unwrap_or_default()).ok()?;
                    let bytes = number(fields.next())?;
                    let reason = match fields.next() {
                        Some("-") => None,
                        Some(text) if text.starts_with('+') => Some(text[1..].to_string()),
                        _ => return None,
                    };
                    Some(Removal {
                        status,
                        bytes,
                        reason,
                    })
                })
                .collect()
        }
    }

    /// Texts of the characters the formats care about, from a fixed seed.
    fn texts(count: usize) -> Vec<String> {
        const PIECES: [&str; 20] = [
            "0",
            "1",
            "3",
            "9",
            ":",
            "\0",
            "+",
            "-",
            "a",
            "é",
            "18446744073709551615",
            "18446744073709551616",
            "4294967296",
            "0:0:1:2:3:p",
            "0:12:-",
            "00",
            "1:1:0:17:999999999:d/é:x\0",
            "0:5:-\0",
            "4:0:+why: not\0",
            "5:7:+\0",
        ];
        let mut state: u64 = 0x2545_f491_4f6c_dd1d;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        (0..count)
            .map(|_| {
                let pieces = next() % 12;
                (0..pieces)
                    .map(|_| PIECES[(next() % PIECES.len() as u64) as usize])
                    .collect()
            })
            .collect()
    }

    #[test]
    fn the_byte_loops_answer_what_split_and_parse_answer() {
        let (mut entries, mut removals) = (0, 0);
        for text in texts(200_000) {
            let unpacked = unpack_entries(&text).ok();
            entries += unpacked.as_ref().map_or(0, Vec::len);
            assert_eq!(unpacked, reference::entries(&text), "{text:?}");
            removals += unpack_removals(&text).map_or(0, |r| r.len());
            assert_eq!(
                unpack_removals(&text).ok(),
                reference::removals(&text),
                "{text:?}"
            );
            let paths = unpack_paths(&text).ok();
            let expected = if text.is_empty() {
                Some(Vec::new())
            } else {
                text.strip_suffix('\0')
                    .map(|body| body.split('\0').collect())
            };
            assert_eq!(paths, expected, "{text:?}");
        }
        assert!(
            entries > 1000 && removals > 1000,
            "{entries} entries, {removals} outcomes"
        );
    }

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
