//! Background monitoring and scheduled cleanup: at most one of each runs at a time, and
//! each stops promptly when asked.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::Shared;
use crate::types::config::ResourceSettings;

/// Longest wait between monitoring attempts after failures.
pub const MAX_BACKOFF: Duration = Duration::from_secs(600);
/// Failures in a row after which monitoring stops.
pub const MAX_CONSECUTIVE_FAILURES: u32 = 5;

/// How monitoring paces itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MonitorPolicy {
    /// Time between checks.
    pub interval: Duration,
    /// Longest wait after failures.
    pub max_backoff: Duration,
    /// Failures in a row after which monitoring stops.
    pub max_failures: u32,
}

impl MonitorPolicy {
    /// From `MONITOR_INTERVAL_SECS`, with the standard backoff limits.
    pub fn from_settings(settings: &ResourceSettings) -> Self {
        Self {
            interval: Duration::from_secs(settings.monitor_interval_secs.clamp(1, 365 * 24 * 3600)),
            max_backoff: MAX_BACKOFF,
            max_failures: MAX_CONSECUTIVE_FAILURES,
        }
    }

    /// The wait after `failures` failures in a row: the interval doubled per failure, capped.
    pub fn delay_after(&self, failures: u32) -> Duration {
        if failures == 0 {
            return self.interval;
        }
        let factor = 2u32.saturating_pow(failures.min(16));
        self.interval.saturating_mul(factor).min(self.max_backoff)
    }
}

/// A running task and the switch that stops it.
struct Task {
    stop: watch::Sender<bool>,
    handle: JoinHandle<()>,
}

/// The daemon's background tasks.
pub struct Background {
    shared: Arc<Shared>,
    monitor: Mutex<Option<Task>>,
    schedule: Mutex<Option<Task>>,
}

impl std::fmt::Debug for Background {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Background")
            .field("monitoring", &self.is_monitoring())
            .field("scheduled", &self.is_scheduled())
            .finish()
    }
}

fn running(slot: &Mutex<Option<Task>>) -> bool {
    match slot.lock() {
        Ok(guard) => guard
            .as_ref()
            .is_some_and(|task| !task.handle.is_finished()),
        Err(_) => false,
    }
}

/// Starts `make(stop)` in `slot` unless a task is already running there.
fn start<F>(slot: &Mutex<Option<Task>>, make: impl FnOnce(watch::Receiver<bool>) -> F) -> bool
where
    F: std::future::Future<Output = ()> + Send + 'static,
{
    let Ok(mut guard) = slot.lock() else {
        return false;
    };
    if guard
        .as_ref()
        .is_some_and(|task| !task.handle.is_finished())
    {
        return false;
    }
    let (stop, stopped) = watch::channel(false);
    let handle = tokio::spawn(make(stopped));
    *guard = Some(Task { stop, handle });
    true
}

async fn stop(slot: &Mutex<Option<Task>>) {
    let task = slot.lock().ok().and_then(|mut guard| guard.take());
    if let Some(task) = task {
        let _ = task.stop.send(true);
        let abort = task.handle.abort_handle();
        if tokio::time::timeout(super::TASKS_STOP_TIMEOUT, task.handle)
            .await
            .is_err()
        {
            abort.abort();
            tracing::warn!("a background task did not stop in time; abandoned");
        }
    }
}

/// Sleeps for `delay`; true when asked to stop meanwhile.
async fn sleep_or_stop(delay: Duration, stop: &mut watch::Receiver<bool>) -> bool {
    tokio::select! {
        _ = tokio::time::sleep(delay) => *stop.borrow(),
        _ = stop.changed() => true,
    }
}

impl Background {
    /// No tasks yet.
    pub fn new(shared: Arc<Shared>) -> Self {
        Self {
            shared,
            monitor: Mutex::new(None),
            schedule: Mutex::new(None),
        }
    }

    /// Whether monitoring is running.
    pub fn is_monitoring(&self) -> bool {
        running(&self.monitor)
    }

    /// Whether scheduled cleanup is running.
    pub fn is_scheduled(&self) -> bool {
        running(&self.schedule)
    }

    /// Starts monitoring; false (and nothing new) when it already runs.
    pub fn start_monitoring(&self, policy: MonitorPolicy) -> bool {
        let shared = Arc::clone(&self.shared);
        start(&self.monitor, move |stop| monitor(shared, policy, stop))
    }

    /// Stops monitoring and waits for it.
    pub async fn stop_monitoring(&self) {
        stop(&self.monitor).await;
    }

    /// Starts cleanup every `every`; false (and no second schedule) when one already runs.
    pub fn start_schedule(&self, every: Duration) -> bool {
        let shared = Arc::clone(&self.shared);
        start(&self.schedule, move |stop| schedule(shared, every, stop))
    }

    /// Cancels the schedule and waits for it.
    pub async fn cancel_schedule(&self) {
        stop(&self.schedule).await;
    }
}

/// One monitoring check: snapshot, assessment, warnings, emergency cleanup.
fn check_once(shared: &Shared) -> Result<(), crate::types::error::Error> {
    let snapshot = shared.manager.system_resources();
    shared.telemetry.observe(&snapshot);
    let assessment = shared.manager.assess(&snapshot)?;
    shared.telemetry.assessed(&assessment);
    for warning in &assessment.warnings {
        tracing::warn!(
            resource = %warning.resource,
            value = warning.value,
            threshold = warning.threshold,
            "{}",
            warning.message
        );
    }
    if assessment.emergency_cleanup {
        tracing::warn!("memory is critical: running an emergency cleanup");
        match shared.manager.cleanup(true, false) {
            Ok(report) => shared.telemetry.cleanup_done("emergency", &report),
            Err(error) if error.is_interruption() => {
                tracing::warn!(%error, "emergency cleanup skipped");
            }
            Err(error) => return Err(error),
        }
    }
    Ok(())
}

async fn monitor(shared: Arc<Shared>, policy: MonitorPolicy, mut stop: watch::Receiver<bool>) {
    let mut failures = 0u32;
    tracing::info!(
        interval_secs = policy.interval.as_secs(),
        "monitoring started"
    );
    loop {
        let task_shared = Arc::clone(&shared);
        let outcome = tokio::task::spawn_blocking(move || check_once(&task_shared)).await;
        match outcome {
            Ok(Ok(())) => failures = 0,
            Ok(Err(error)) => {
                failures += 1;
                shared.telemetry.policy_error();
                tracing::error!(%error, failures, "resource check failed");
            }
            Err(error) => {
                failures += 1;
                tracing::error!(%error, failures, "resource check task failed");
            }
        }
        if failures >= policy.max_failures {
            tracing::error!(
                failures,
                "monitoring stopped after {} failures in a row",
                policy.max_failures
            );
            return;
        }
        if sleep_or_stop(policy.delay_after(failures), &mut stop).await {
            tracing::info!("monitoring stopped");
            return;
        }
    }
}

async fn schedule(shared: Arc<Shared>, every: Duration, mut stop: watch::Receiver<bool>) {
    tracing::info!(
        every_secs = every.as_secs_f64(),
        "scheduled cleanup started"
    );
    loop {
        if sleep_or_stop(every, &mut stop).await {
            tracing::info!("scheduled cleanup cancelled");
            return;
        }
        prune_monitor(&shared).await;
        let task_shared = Arc::clone(&shared);
        match tokio::task::spawn_blocking(move || task_shared.manager.cleanup(false, false)).await {
            Ok(Ok(report)) => shared.telemetry.cleanup_done("schedule", &report),
            Ok(Err(error)) if error.is_interruption() => {
                tracing::info!(%error, "scheduled cleanup skipped");
            }
            Ok(Err(error)) => {
                shared.telemetry.policy_error();
                tracing::error!(%error, "scheduled cleanup failed");
            }
            Err(error) => tracing::error!(%error, "scheduled cleanup task failed"),
        }
    }
}

/// Removes the monitor's events older than its retention (`MONITOR_RETENTION_DAYS`), on the
/// cleanup schedule.
pub async fn prune_monitor(shared: &Arc<Shared>) {
    let task_shared = Arc::clone(shared);
    let outcome =
        tokio::task::spawn_blocking(move || task_shared.monitor.get()?.prune(chrono::Utc::now()))
            .await;
    match outcome {
        Ok(Ok(_)) => {}
        Ok(Err(error)) => tracing::warn!(%error, "monitor events could not be pruned"),
        Err(error) => tracing::error!(%error, "monitor prune task failed"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_caps() {
        let policy = MonitorPolicy {
            interval: Duration::from_secs(60),
            max_backoff: MAX_BACKOFF,
            max_failures: 5,
        };
        assert_eq!(policy.delay_after(0), Duration::from_secs(60));
        assert_eq!(policy.delay_after(1), Duration::from_secs(120));
        assert_eq!(policy.delay_after(2), Duration::from_secs(240));
        assert_eq!(policy.delay_after(3), Duration::from_secs(480));
        assert_eq!(policy.delay_after(4), MAX_BACKOFF);
        assert_eq!(policy.delay_after(40), MAX_BACKOFF);
    }
}
