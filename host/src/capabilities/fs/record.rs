//! What a cleanup's removals leave outside the call as they happen: the removals log (one
//! JSON object per line, written as each batch is answered) and live progress counters.

use std::io::{self, Write};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use serde::Serialize;

/// One line of the removals log.
#[derive(Debug, Serialize)]
struct Line<'a> {
    area: &'a str,
    path: &'a str,
    bytes: u64,
    reason: &'a str,
    dry_run: bool,
}

/// A JSON Lines log of every removal (in a dry run: every removal the host answered it
/// would make): `{"area","path","bytes","reason","dry_run"}` per line.
pub struct RemovalLog {
    out: Mutex<Box<dyn Write + Send>>,
    lines: AtomicU64,
    failure: Mutex<Option<String>>,
}

impl std::fmt::Debug for RemovalLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RemovalLog")
            .field("lines", &self.lines.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

impl RemovalLog {
    /// A log written (buffered) to `out`.
    pub fn new(out: impl Write + Send + 'static) -> Self {
        Self {
            out: Mutex::new(Box::new(io::BufWriter::with_capacity(64 << 10, out))),
            lines: AtomicU64::new(0),
            failure: Mutex::new(None),
        }
    }

    /// Appends one batch of removals in `area` for `reason` (paths and bytes freed). A write
    /// that fails is remembered (see [`finish`](Self::finish)) and later lines are dropped.
    pub fn write(&self, area: &str, reason: &str, dry_run: bool, removed: &[(&str, u64)]) {
        let mut failure = self
            .failure
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if failure.is_some() || removed.is_empty() {
            return;
        }
        let mut out = self
            .out
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        for &(path, bytes) in removed {
            let line = Line {
                area,
                path,
                bytes,
                reason,
                dry_run,
            };
            let written = serde_json::to_writer(&mut *out, &line)
                .map_err(io::Error::from)
                .and_then(|()| out.write_all(b"\n"));
            if let Err(error) = written {
                *failure = Some(error.to_string());
                return;
            }
            self.lines.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Lines written so far.
    pub fn lines(&self) -> u64 {
        self.lines.load(Ordering::Relaxed)
    }

    /// Flushes the log; the first write error, if any.
    pub fn finish(&self) -> Result<u64, String> {
        if let Some(reason) = self
            .failure
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
        {
            return Err(reason);
        }
        self.out
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .flush()
            .map_err(|error| error.to_string())?;
        Ok(self.lines())
    }
}

/// Live counters of a cleanup, read by a progress display while the call runs.
#[derive(Debug, Default)]
pub struct Progress {
    scanned: AtomicU64,
    removed: AtomicU64,
    bytes: AtomicU64,
}

impl Progress {
    /// Counts entries listed by a scan.
    pub fn scanned(&self, entries: u64) {
        self.scanned.fetch_add(entries, Ordering::Relaxed);
    }

    /// Counts a batch of removals (paths and bytes freed).
    pub fn removed(&self, removed: &[(&str, u64)]) {
        let bytes = removed
            .iter()
            .fold(0u64, |sum, (_, bytes)| sum.saturating_add(*bytes));
        self.removed
            .fetch_add(removed.len() as u64, Ordering::Relaxed);
        self.bytes.fetch_add(bytes, Ordering::Relaxed);
    }

    /// Entries scanned, entries removed and bytes freed so far.
    pub fn snapshot(&self) -> (u64, u64, u64) {
        (
            self.scanned.load(Ordering::Relaxed),
            self.removed.load(Ordering::Relaxed),
            self.bytes.load(Ordering::Relaxed),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    /// A writer into shared memory, failing once `limit` bytes are written.
    #[derive(Clone)]
    struct Shared(Arc<Mutex<Vec<u8>>>, usize);

    impl Write for Shared {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            let mut data = self.0.lock().expect("lock");
            if data.len() + buf.len() > self.1 {
                return Err(io::Error::other("disk full"));
            }
            data.extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn lines_are_json_objects_and_failures_are_reported() {
        let data = Arc::new(Mutex::new(Vec::new()));
        let log = RemovalLog::new(Shared(Arc::clone(&data), usize::MAX));
        log.write("temp", "age", false, &[("a/b\"c", 3)]);
        log.write("cache", "cache-cap", true, &[("x", 9)]);
        assert_eq!(log.finish(), Ok(2));
        let text = String::from_utf8(data.lock().expect("lock").clone()).expect("utf-8");
        let lines: Vec<serde_json::Value> = text
            .lines()
            .map(|line| serde_json::from_str(line).expect("json"))
            .collect();
        assert_eq!(lines[0]["path"], "a/b\"c");
        assert_eq!(lines[1]["reason"], "cache-cap");
        assert_eq!(lines[1]["dry_run"], true);

        let full = RemovalLog::new(Shared(Arc::new(Mutex::new(Vec::new())), 10));
        let names: Vec<String> = (0..10_000).map(|n| format!("file-{n}")).collect();
        let batch: Vec<(&str, u64)> = names.iter().map(|name| (name.as_str(), 1)).collect();
        full.write("temp", "age", false, &batch);
        assert!(full.finish().expect_err("full").contains("disk full"));
    }
}
