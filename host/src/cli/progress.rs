//! The cleanup's progress bar on a terminal: entries scanned, files removed, bytes freed and
//! the scan rate, read from the host's live counters a few times a second. None when stdout
//! is not a terminal or with `--json`.

use std::io::IsTerminal;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use bachata_common::capabilities::fs::Progress;
use indicatif::{HumanBytes, HumanCount, ProgressBar, ProgressStyle};

/// How often the bar is redrawn.
const REFRESH: Duration = Duration::from_millis(150);

/// A running progress bar and the thread that updates it.
pub struct CleanupProgress(Option<(ProgressBar, Arc<AtomicBool>, JoinHandle<()>)>);

impl CleanupProgress {
    /// Starts the bar, unless `json` or stdout is not a terminal.
    pub fn start(json: bool, counters: &Arc<Progress>) -> Self {
        if json || !std::io::stdout().is_terminal() {
            return Self(None);
        }
        let bar = ProgressBar::new_spinner();
        if let Ok(style) = ProgressStyle::with_template("{spinner} [{elapsed_precise}] {msg}") {
            bar.set_style(style);
        }
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (bar, stop, counters) = (bar.clone(), Arc::clone(&stop), Arc::clone(counters));
            std::thread::spawn(move || {
                let started = Instant::now();
                while !stop.load(Ordering::Relaxed) {
                    bar.set_message(line(&counters, started.elapsed()));
                    bar.tick();
                    std::thread::sleep(REFRESH);
                }
            })
        };
        Self(Some((bar, stop, thread)))
    }

    /// Stops and clears the bar.
    pub fn finish(self) {
        if let Some((bar, stop, thread)) = self.0 {
            stop.store(true, Ordering::Relaxed);
            // The updater only sleeps and draws: it cannot fail in a way worth reporting.
            let _ = thread.join();
            bar.finish_and_clear();
        }
    }
}

/// `1,204,000 scanned · 600,000 removed · 2.3 GiB freed · 350,000 entries/s`.
fn line(counters: &Progress, elapsed: Duration) -> String {
    let (scanned, removed, bytes) = counters.snapshot();
    let seconds = elapsed.as_secs_f64().max(0.001);
    format!(
        "{} scanned · {} removed · {} freed · {} entries/s",
        HumanCount(scanned),
        HumanCount(removed),
        HumanBytes(bytes),
        HumanCount((scanned as f64 / seconds) as u64),
    )
}

/// A bar over the events of an import file (`monitor log-decision --from`). None when stdout
/// is not a terminal or with `--json`.
pub struct ImportProgress(Option<ProgressBar>);

impl ImportProgress {
    /// Starts the bar over `total` events.
    pub fn start(json: bool, total: u64) -> Self {
        if json || !std::io::stdout().is_terminal() {
            return Self(None);
        }
        let bar = ProgressBar::new(total);
        if let Ok(style) = ProgressStyle::with_template(
            "{bar:40} {human_pos}/{human_len} events · {per_sec} · {eta} left",
        ) {
            bar.set_style(style);
        }
        Self(Some(bar))
    }

    /// Counts `events` more stored (or found already stored).
    pub fn add(&self, events: u64) {
        if let Some(bar) = &self.0 {
            bar.inc(events);
        }
    }

    /// Clears the bar.
    pub fn finish(self) {
        if let Some(bar) = self.0 {
            bar.finish_and_clear();
        }
    }
}

/// A bar over the moves of an organizer run. None when stdout is not a terminal or with
/// `--json`.
pub struct MoveProgress(Option<ProgressBar>);

impl MoveProgress {
    /// A bar, shown from the first move.
    pub fn start(json: bool) -> Self {
        if json || !std::io::stdout().is_terminal() {
            return Self(None);
        }
        let bar = ProgressBar::new(0);
        if let Ok(style) = ProgressStyle::with_template(
            "{bar:40} {human_pos}/{human_len} clips moved · {per_sec} · {eta} left",
        ) {
            bar.set_style(style);
        }
        Self(Some(bar))
    }

    /// `done` of `total` moves made.
    pub fn update(&self, done: u64, total: u64) {
        if let Some(bar) = &self.0 {
            bar.set_length(total);
            bar.set_position(done);
        }
    }

    /// Clears the bar.
    pub fn finish(self) {
        if let Some(bar) = self.0 {
            bar.finish_and_clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_line_says_what_was_done_and_how_fast() {
        let counters = Progress::default();
        counters.scanned(2_000);
        counters.removed(&[("a", 1_536), ("b", 512)]);
        let text = line(&counters, Duration::from_secs(2));
        assert_eq!(
            text,
            "2,000 scanned · 2 removed · 2.00 KiB freed · 1,000 entries/s"
        );
    }
}
