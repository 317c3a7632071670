//! `size-first`: a bachata-common policy whose cache cap evicts the **largest** files first
//! (the stock policy evicts the oldest). Big renders and downloads go before the many small
//! analysis files that are cheap to keep and costly to recompute. Everything else (the
//! configuration rules, the error catalog, age-based cleanup, warnings, pose) is the stock
//! policy's.
//!
//! Build it with `cargo build -p size-first-policy --target wasm32-wasip2 --release` and
//! point the host at `target/wasm32-wasip2/release/size_first_policy.wasm` (`--policy` or
//! `BACHATA_POLICY`); a running daemon picks it up when that file changes.

use bachata_common_policy::types::Entry;

/// The eviction key (smallest goes first): the largest file first; files of equal size in
/// the order the host walks them. The cap finds its cut-off over these keys in bounded memory,
/// like the stock order.
pub fn largest_first(entry: &Entry) -> u64 {
    u64::MAX - entry.size
}

#[cfg(target_family = "wasm")]
mod component {
    use bachata_common_policy::cleanup;
    use bachata_common_policy::policy::{HostFs, Policy};
    use bachata_common_policy::types::{AppError, CleanupReport, CleanupSettings, RunOptions};

    /// The policy: stock decisions, but size-first cache eviction.
    pub struct SizeFirst;

    impl Policy for SizeFirst {
        fn cleanup_run(
            settings: CleanupSettings,
            options: RunOptions,
        ) -> Result<CleanupReport, AppError> {
            cleanup::run_with(&HostFs, &settings, &options, super::largest_first)
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
            mtime_nanos: 0,
            locked: false,
        }
    }

    #[test]
    fn largest_go_first() {
        let mut files = [
            file("small-old", 10, 1),
            file("big-new", 900, 50),
            file("mid", 300, 5),
        ];
        files.sort_by_key(largest_first);
        let order: Vec<&str> = files.iter().map(|f| f.path.as_str()).collect();
        assert_eq!(order, ["big-new", "mid", "small-old"]);
    }
}
