//! The packed forms `host-fs` carries its bulk data in (see `wit/host-fs.wit`): a page's
//! entries, a removal batch's paths and its outcomes. Packed so that every host hands them
//! over as one byte string or text, whatever its per-value conversion costs.
//!
//! Both directions are here: the policy's (unpack entries and outcomes, pack paths) and the
//! host's (pack entries and outcomes, unpack paths), so the format is tested round trip.

use crate::types::{Entry, EntryKind, Removal, RemovalStatus};

/// Bytes of an entry before its path: kind, locked, size, mtime, mtime-nanos, path length.
const ENTRY_HEAD: usize = 1 + 1 + 8 + 8 + 4 + 4;
/// Bytes of an outcome before its reason: status, bytes, reason length.
const REMOVAL_HEAD: usize = 1 + 8 + 4;
/// The reason length that stands for "no reason".
const NO_REASON: u32 = u32::MAX;

fn kind_byte(kind: EntryKind) -> u8 {
    match kind {
        EntryKind::File => 0,
        EntryKind::Directory => 1,
        EntryKind::Symlink => 2,
        EntryKind::Other => 3,
    }
}

fn kind_of(byte: u8) -> Result<EntryKind, String> {
    Ok(match byte {
        0 => EntryKind::File,
        1 => EntryKind::Directory,
        2 => EntryKind::Symlink,
        3 => EntryKind::Other,
        other => return Err(format!("entry kind {other} is not 0 to 3")),
    })
}

fn status_byte(status: RemovalStatus) -> u8 {
    match status {
        RemovalStatus::Removed => 0,
        RemovalStatus::Vanished => 1,
        RemovalStatus::InUse => 2,
        RemovalStatus::NotEmpty => 3,
        RemovalStatus::Refused => 4,
        RemovalStatus::Failed => 5,
    }
}

fn status_of(byte: u8) -> Result<RemovalStatus, String> {
    Ok(match byte {
        0 => RemovalStatus::Removed,
        1 => RemovalStatus::Vanished,
        2 => RemovalStatus::InUse,
        3 => RemovalStatus::NotEmpty,
        4 => RemovalStatus::Refused,
        5 => RemovalStatus::Failed,
        other => return Err(format!("removal status {other} is not 0 to 5")),
    })
}

/// A reader over packed bytes that names what it could not read.
struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, count: usize, what: &str) -> Result<&'a [u8], String> {
        let end = self
            .at
            .checked_add(count)
            .filter(|&end| end <= self.bytes.len())
            .ok_or_else(|| format!("truncated {what} at byte {}", self.at))?;
        let taken = &self.bytes[self.at..end];
        self.at = end;
        Ok(taken)
    }

    fn array<const N: usize>(&mut self, what: &str) -> Result<[u8; N], String> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N, what)?);
        Ok(out)
    }

    fn u8(&mut self, what: &str) -> Result<u8, String> {
        Ok(self.array::<1>(what)?[0])
    }

    fn u32(&mut self, what: &str) -> Result<u32, String> {
        self.array(what).map(u32::from_le_bytes)
    }

    fn u64(&mut self, what: &str) -> Result<u64, String> {
        self.array(what).map(u64::from_le_bytes)
    }

    fn text(&mut self, length: u32, what: &str) -> Result<String, String> {
        let bytes = self.take(length as usize, what)?;
        String::from_utf8(bytes.to_vec()).map_err(|_| format!("{what} is not UTF-8"))
    }

    fn done(&self) -> bool {
        self.at == self.bytes.len()
    }
}

/// A page's entries, packed.
pub fn pack_entries(entries: &[Entry]) -> Vec<u8> {
    let size = entries.iter().map(|e| ENTRY_HEAD + e.path.len()).sum();
    let mut out = Vec::with_capacity(size);
    for entry in entries {
        out.push(kind_byte(entry.kind));
        out.push(u8::from(entry.locked));
        out.extend_from_slice(&entry.size.to_le_bytes());
        out.extend_from_slice(&entry.mtime.to_le_bytes());
        out.extend_from_slice(&entry.mtime_nanos.to_le_bytes());
        out.extend_from_slice(&(entry.path.len() as u32).to_le_bytes());
        out.extend_from_slice(entry.path.as_bytes());
    }
    out
}

/// A page's entries from their packed form; `Err` names what is malformed.
pub fn unpack_entries(bytes: &[u8]) -> Result<Vec<Entry>, String> {
    let mut reader = Reader { bytes, at: 0 };
    let mut entries = Vec::new();
    while !reader.done() {
        let kind = kind_of(reader.u8("entry")?)?;
        let locked = match reader.u8("entry")? {
            0 => false,
            1 => true,
            other => return Err(format!("entry flag `locked` is {other}, not 0 or 1")),
        };
        let size = reader.u64("entry")?;
        let mtime = reader.u64("entry")?;
        let mtime_nanos = reader.u32("entry")?;
        let length = reader.u32("entry")?;
        let path = reader.text(length, "entry path")?;
        entries.push(Entry {
            path,
            kind,
            size,
            mtime,
            mtime_nanos,
            locked,
        });
    }
    Ok(entries)
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
    if packed.is_empty() {
        return Ok(Vec::new());
    }
    let Some(body) = packed.strip_suffix('\0') else {
        return Err("the last path is not followed by a NUL".to_string());
    };
    Ok(body.split('\0').collect())
}

/// A batch's outcomes, packed.
pub fn pack_removals(removals: &[Removal]) -> Vec<u8> {
    let mut out = Vec::with_capacity(removals.len() * REMOVAL_HEAD);
    for removal in removals {
        out.push(status_byte(removal.status));
        out.extend_from_slice(&removal.bytes.to_le_bytes());
        match &removal.reason {
            Some(reason) => {
                out.extend_from_slice(&(reason.len() as u32).to_le_bytes());
                out.extend_from_slice(reason.as_bytes());
            }
            None => out.extend_from_slice(&NO_REASON.to_le_bytes()),
        }
    }
    out
}

/// A batch's outcomes from their packed form; `Err` names what is malformed.
pub fn unpack_removals(bytes: &[u8]) -> Result<Vec<Removal>, String> {
    let mut reader = Reader { bytes, at: 0 };
    let mut removals = Vec::new();
    while !reader.done() {
        let status = status_of(reader.u8("outcome")?)?;
        let freed = reader.u64("outcome")?;
        let reason = match reader.u32("outcome")? {
            NO_REASON => None,
            length => Some(reader.text(length, "outcome reason")?),
        };
        removals.push(Removal {
            status,
            bytes: freed,
            reason,
        });
    }
    Ok(removals)
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
            entry("a/l", EntryKind::Symlink, false),
            entry("a/line\nbreak", EntryKind::Other, false),
        ];
        let packed = pack_entries(&entries);
        assert_eq!(unpack_entries(&packed), Ok(entries));
        assert!(unpack_entries(&[]).is_ok_and(|entries| entries.is_empty()));
    }

    #[test]
    fn malformed_entries_are_named() {
        let packed = pack_entries(&[entry("abc", EntryKind::File, false)]);
        let truncated = unpack_entries(&packed[..packed.len() - 1]).expect_err("short");
        assert!(truncated.contains("truncated entry path"), "{truncated}");
        let mut bad_kind = packed.clone();
        bad_kind[0] = 9;
        assert!(unpack_entries(&bad_kind).is_err());
        let mut bad_flag = packed.clone();
        bad_flag[1] = 2;
        assert!(unpack_entries(&bad_flag).is_err());
        let mut bad_text = packed;
        let last = bad_text.len() - 1;
        bad_text[last] = 0xff;
        assert!(unpack_entries(&bad_text).is_err());
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
                reason: Some("permission denied ✗".to_string()),
            },
            Removal {
                status: RemovalStatus::Refused,
                bytes: 0,
                reason: Some(String::new()),
            },
        ];
        assert_eq!(unpack_removals(&pack_removals(&removals)), Ok(removals));
        assert!(unpack_removals(&[6, 0, 0, 0, 0, 0, 0, 0, 0, 255, 255, 255, 255]).is_err());
        assert!(unpack_removals(&[0, 1]).is_err());
    }
}
