//! `size-first`: a bachata-common policy whose cache cap evicts the **largest** files first
//! (the stock policy evicts the oldest). Big renders and downloads go before the many small
//! analysis files that are cheap to keep and costly to recompute. Everything else (the
//! configuration rules, the error catalog, age-based cleanup, warnings, pose) is the stock
//! policy's.
//!
//! Build it with `cargo build -p size-first-policy --target wasm32-wasip2 --release` and
//! point the host at `target/wasm32-wasip2/release/size_first_policy.wasm` (`--policy` or
//! `BACHATA_POLICY`); a running daemon picks it up when that file changes.

use std::cmp::Ordering;

use bachata_common_policy::types::Entry;

/// Largest file first; among equal sizes the oldest, then by path, so the order is total.
pub fn largest_first(a: &Entry, b: &Entry) -> Ordering {
    b.size
        .cmp(&a.size)
        .then_with(|| a.mtime.cmp(&b.mtime))
        .then_with(|| a.path.cmp(&b.path))
}

#[cfg(target_family = "wasm")]
mod component {
    use bachata_common_policy::cleanup;
    use bachata_common_policy::policy::{HostFs, Policy};
    use bachata_common_policy::types::{AppError, CleanupReport, CleanupSettings};

    /// The policy: stock decisions, but size-first cache eviction.
    pub struct SizeFirst;

    impl Policy for SizeFirst {
        fn cleanup_run(
            settings: CleanupSettings,
            now: u64,
            force: bool,
            dry_run: bool,
        ) -> Result<CleanupReport, AppError> {
            cleanup::run_with(
                &HostFs,
                &settings,
                now,
                force,
                dry_run,
                super::largest_first,
            )
        }
    }

    bachata_common_policy::export_policy!(SizeFirst);
}

#[cfg(test)]
mod tests {
    use super::*;
    use bachata_common_policy::types::EntryKind;

    fn file(path: &str, size: u64, mtime: u64) -> Entry {
        Entry {
            path: path.to_string(),
            kind: EntryKind::File,
            size,
            mtime,
            atime: mtime,
            ctime: mtime,
            device: 1,
            locked: false,
        }
    }

    #[test]
    fn largest_go_first_then_oldest_then_by_path() {
        let mut files = [
            file("small-old", 10, 1),
            file("big-new", 900, 50),
            file("mid-b", 300, 5),
            file("mid-a", 300, 5),
            file("mid-older", 300, 2),
        ];
        files.sort_by(largest_first);
        let order: Vec<&str> = files.iter().map(|f| f.path.as_str()).collect();
        assert_eq!(
            order,
            ["big-new", "mid-older", "mid-a", "mid-b", "small-old"]
        );
    }
}
