//! The packed `host-fs` texts (a page's entries, a batch's paths and outcomes): decoding any
//! text never panics and what decodes encodes back to a text that decodes the same; values
//! built from the input (paths and reasons without NUL, as the hosts send them) encode to a
//! text that decodes to them.

#![no_main]

use bachata_common_policy::packed::{
    pack_entries, pack_paths, pack_removals, unpack_entries, unpack_paths, unpack_removals,
};
use bachata_common_policy::types::{Entry, EntryKind, Removal, RemovalStatus};
use libfuzzer_sys::fuzz_target;

/// Reads values off the input, byte by byte; zeros when it runs out.
struct Bytes<'a>(&'a [u8]);

impl Bytes<'_> {
    fn byte(&mut self) -> u8 {
        let (first, rest) = self.0.split_first().unwrap_or((&0, &[]));
        self.0 = rest;
        *first
    }

    fn u64(&mut self) -> u64 {
        (0..8).fold(0, |n, _| (n << 8) | u64::from(self.byte()))
    }

    /// Text of up to `byte()` bytes, NUL bytes left out (a host's names never hold one).
    fn text(&mut self) -> String {
        let len = usize::from(self.byte() % 32).min(self.0.len());
        let (text, rest) = self.0.split_at(len);
        self.0 = rest;
        String::from_utf8_lossy(text).replace('\0', "")
    }
}

fn entry(bytes: &mut Bytes<'_>) -> Entry {
    let flags = bytes.byte();
    Entry {
        kind: [
            EntryKind::File,
            EntryKind::Directory,
            EntryKind::Symlink,
            EntryKind::Other,
        ][usize::from(flags & 3)],
        locked: flags & 4 != 0,
        size: bytes.u64(),
        mtime: bytes.u64(),
        mtime_nanos: bytes.u64() as u32,
        path: bytes.text(),
    }
}

fn removal(bytes: &mut Bytes<'_>) -> Removal {
    let flags = bytes.byte();
    Removal {
        status: [
            RemovalStatus::Removed,
            RemovalStatus::Vanished,
            RemovalStatus::InUse,
            RemovalStatus::NotEmpty,
            RemovalStatus::Refused,
            RemovalStatus::Failed,
        ][usize::from(flags % 6)],
        bytes: bytes.u64(),
        reason: (flags & 0x80 != 0).then(|| bytes.text()),
    }
}

fuzz_target!(|data: &[u8]| {
    // Decoding any text.
    let text = String::from_utf8_lossy(data);
    if let Ok(entries) = unpack_entries(&text) {
        assert!(entries.len() <= text.len());
        assert_eq!(unpack_entries(&pack_entries(&entries)), Ok(entries));
    }
    if let Ok(paths) = unpack_paths(&text) {
        assert!(paths.len() <= text.len());
        let owned: Vec<String> = paths.iter().map(|path| path.to_string()).collect();
        let packed = pack_paths(&owned);
        assert_eq!(unpack_paths(&packed), Ok(paths));
        assert_eq!(packed, text, "paths pack back to the very text");
    }
    if let Ok(removals) = unpack_removals(&text) {
        assert!(removals.len() <= text.len());
        assert_eq!(unpack_removals(&pack_removals(&removals)), Ok(removals));
    }

    // Encoding values built from the input.
    let mut bytes = Bytes(data);
    let count = usize::from(bytes.byte() % 8);
    let entries: Vec<Entry> = (0..count).map(|_| entry(&mut bytes)).collect();
    assert_eq!(unpack_entries(&pack_entries(&entries)), Ok(entries));
    let paths: Vec<String> = (0..count).map(|_| bytes.text()).collect();
    let packed = pack_paths(&paths);
    let unpacked = unpack_paths(&packed).expect("packed paths decode");
    assert_eq!(
        unpacked,
        paths.iter().map(String::as_str).collect::<Vec<_>>()
    );
    let removals: Vec<Removal> = (0..count).map(|_| removal(&mut bytes)).collect();
    assert_eq!(unpack_removals(&pack_removals(&removals)), Ok(removals));
});
