//! The `run` daemon: background resource monitoring, scheduled cleanup, an HTTP endpoint
//! (`/metrics`, `/healthz`, `/v1/resources`, `POST /v1/cleanup`, the monitor's and the
//! experiments' endpoints; hardened in `http/`) and graceful shutdown.

mod background;
mod http;
pub mod reload;
pub mod telemetry;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;

use crate::services::monitor::MonitorSlot;
use crate::services::resources::ResourceManager;
use crate::types::config::{DaemonSettings, MonitorSettings};
use crate::types::error::{AppError, Error};

pub use background::{Background, MonitorPolicy};
use telemetry::Telemetry;

/// How long the final cleanup of a shutdown may take before it is cancelled (it then gets
/// two more seconds to stop).
pub const SHUTDOWN_STEP_TIMEOUT: Duration = Duration::from_secs(8);

/// How long stopping monitoring and the schedule (together) may take.
pub const TASKS_STOP_TIMEOUT: Duration = Duration::from_secs(5);

/// How long releasing live temp files may take.
pub const RELEASE_TIMEOUT: Duration = Duration::from_secs(3);

/// How long open HTTP connections get to finish their request.
pub const HTTP_DRAIN_TIMEOUT: Duration = Duration::from_secs(5);

/// The longest a shutdown takes from the signal to the exit, whatever runs at the time.
pub const SHUTDOWN_BOUND: Duration = Duration::from_secs(30);

/// Everything the daemon's tasks share.
#[derive(Debug)]
pub struct Shared {
    /// The resource manager.
    pub manager: Arc<ResourceManager>,
    /// Metrics.
    pub telemetry: Telemetry,
    /// The bearer token, if any: writes require it, and so does any request addressed to a
    /// host name other than `localhost` (see `http/guard.rs`).
    pub api_token: Option<String>,
    /// The performance monitor's store, opened on first use.
    pub monitor: MonitorSlot,
}

/// The shortest and longest time between scheduled cleanups.
pub const CLEANUP_INTERVAL_RANGE: (Duration, Duration) =
    (Duration::from_secs(1), Duration::from_secs(365 * 24 * 3600));

/// `hours` as the time between scheduled cleanups, kept within [`CLEANUP_INTERVAL_RANGE`]
/// whatever a policy let through (the stock policy refuses values outside it).
pub fn cleanup_interval(hours: f64) -> Duration {
    let (shortest, longest) = CLEANUP_INTERVAL_RANGE;
    match Duration::try_from_secs_f64(hours * 3600.0) {
        Ok(interval) => interval.clamp(shortest, longest),
        // Too large, negative, infinite or not a number: as rarely as allowed.
        Err(_) => longest,
    }
}

/// Checks that the daemon may listen where configured: off loopback a token of at least
/// 16 characters is required.
pub fn check_listen(settings: &DaemonSettings) -> Result<(), Error> {
    let token = settings.api_token.as_ref().map(|token| token.expose());
    match http::listen_problem(settings.listen, token) {
        None => Ok(()),
        Some(message) => Err(Error::App(AppError::Validation {
            message,
            field: Some("BACHATA_LISTEN".to_string()),
            value: Some(settings.listen.to_string()),
            details: Vec::new(),
        })),
    }
}

/// Runs the daemon until SIGINT or SIGTERM, then shuts down in order: stop monitoring, cancel
/// the schedule, a final age-based cleanup, release live temp files, stop serving.
/// With `policy_file`, the policy is reloaded whenever that file changes (see [`reload`]).
pub async fn run(
    manager: Arc<ResourceManager>,
    settings: &DaemonSettings,
    monitor: &MonitorSettings,
    policy_files: &[std::path::PathBuf],
) -> Result<(), Error> {
    check_listen(settings)?;
    let listener = TcpListener::bind(settings.listen).await.map_err(|error| {
        Error::App(AppError::ServiceUnavailable {
            message: format!("cannot listen on {}: {error}", settings.listen),
            service_name: Some("http".to_string()),
            details: Vec::new(),
        })
    })?;
    let address: SocketAddr = listener.local_addr().map_err(|error| Error::Io {
        path: settings.listen.to_string().into(),
        source: error,
    })?;
    let shared = Arc::new(Shared {
        telemetry: Telemetry::new(&manager.policy()),
        manager,
        api_token: settings
            .api_token
            .as_ref()
            .map(|token| token.expose().to_string()),
        monitor: MonitorSlot::new(monitor.clone()),
    });
    let _watcher = (!policy_files.is_empty())
        .then(|| reload::watch(Arc::clone(&shared), policy_files))
        .transpose()?;
    let background = Background::new(Arc::clone(&shared));
    // Events past their retention go now, then on the cleanup schedule.
    tokio::spawn({
        let shared = Arc::clone(&shared);
        async move { background::prune_monitor(&shared).await }
    });
    background.start_monitoring(MonitorPolicy::from_settings(shared.manager.settings()));
    background.start_schedule(cleanup_interval(
        shared.manager.settings().cleanup_interval_hours,
    ));
    tracing::info!(
        %address,
        data_dir = %shared.manager.areas().root().display(),
        policy = %shared.manager.policy().origin(),
        sha256 = %shared.manager.policy().sha256(),
        "bachata-common daemon started"
    );
    // Printed for people and scripts waiting for the daemon to be ready.
    println!("listening on http://{address}");

    let (stop_http, http_stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(http::serve(listener, Arc::clone(&shared), async {
        let _ = http_stopped.await;
    }));

    wait_for_signal().await;
    tracing::info!("shutting down");
    shutdown(&shared, &background).await;
    let _ = stop_http.send(());
    let abort = server.abort_handle();
    match tokio::time::timeout(HTTP_DRAIN_TIMEOUT, server).await {
        Ok(Ok(Ok(()))) => {}
        Ok(Ok(Err(error))) => tracing::warn!(%error, "HTTP server stopped with an error"),
        Ok(Err(error)) => tracing::warn!(%error, "HTTP server task failed"),
        Err(_) => {
            abort.abort();
            tracing::warn!("HTTP connections did not close in time; dropped");
        }
    }
    close_monitor(&shared).await;
    tracing::info!("stopped");
    Ok(())
}

/// The ordered shutdown steps, each bounded by [`SHUTDOWN_STEP_TIMEOUT`]: a running cleanup
/// is cancelled at once (it answers with what it removed), monitoring and the schedule stop,
/// a final age-based cleanup runs (cancelled when it takes too long), live temp files are
/// released.
async fn shutdown(shared: &Arc<Shared>, background: &Background) {
    if shared.manager.begin_shutdown() {
        tracing::info!("cancelling the running cleanup");
    }
    tokio::join!(background.stop_monitoring(), background.cancel_schedule());
    let manager = Arc::clone(&shared.manager);
    let mut final_cleanup =
        tokio::task::spawn_blocking(move || manager.final_cleanup(SHUTDOWN_STEP_TIMEOUT / 2));
    let outcome = match tokio::time::timeout(SHUTDOWN_STEP_TIMEOUT, &mut final_cleanup).await {
        Ok(outcome) => Some(outcome),
        Err(_) => {
            tracing::warn!("final cleanup did not finish in time; cancelling it");
            shared.manager.cancel_running();
            tokio::time::timeout(Duration::from_secs(2), final_cleanup)
                .await
                .ok()
        }
    };
    match outcome {
        Some(Ok(Ok(report))) => {
            shared.telemetry.cleanup_done("shutdown", &report);
            tracing::info!(
                files_removed = report.total_files_removed(),
                bytes_freed = report.total_bytes_freed(),
                "final cleanup done"
            );
        }
        Some(Ok(Err(error))) if error.is_interruption() => {
            tracing::warn!(%error, "final cleanup stopped");
        }
        Some(Ok(Err(error))) => {
            shared.telemetry.policy_error();
            tracing::error!(%error, "final cleanup failed");
        }
        Some(Err(error)) => tracing::error!(%error, "final cleanup task failed"),
        None => tracing::warn!("final cleanup did not stop after cancellation; leaving it"),
    }
    let temp = shared.manager.temp().clone();
    let release = tokio::task::spawn_blocking(move || temp.cleanup_all_active());
    match tokio::time::timeout(RELEASE_TIMEOUT, release).await {
        Ok(Ok(released)) => tracing::info!(released, "released live temp files"),
        Ok(Err(error)) => tracing::error!(%error, "releasing live temp files failed"),
        Err(_) => tracing::warn!("releasing live temp files did not finish in time"),
    }
}

/// Closes the monitor's database connections on a blocking thread (a PostgreSQL client must
/// not be dropped on the runtime's threads), bounded by [`RELEASE_TIMEOUT`].
async fn close_monitor(shared: &Arc<Shared>) {
    let task_shared = Arc::clone(shared);
    let closing = tokio::task::spawn_blocking(move || task_shared.monitor.close());
    match tokio::time::timeout(RELEASE_TIMEOUT, closing).await {
        Ok(Ok(())) => tracing::debug!("monitor closed"),
        Ok(Err(error)) => tracing::error!(%error, "closing the monitor failed"),
        Err(_) => tracing::warn!("closing the monitor did not finish in time"),
    }
}

/// Resolves on SIGINT or SIGTERM.
async fn wait_for_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let mut terminate = match signal(SignalKind::terminate()) {
        Ok(stream) => stream,
        Err(error) => {
            tracing::error!(%error, "cannot listen for SIGTERM; only Ctrl-C stops the daemon");
            let _ = tokio::signal::ctrl_c().await;
            return;
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => tracing::info!("SIGINT received"),
        _ = terminate.recv() => tracing::info!("SIGTERM received"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cleanup_intervals_stay_within_a_second_and_a_year() {
        let (shortest, longest) = CLEANUP_INTERVAL_RANGE;
        assert_eq!(cleanup_interval(6.0), Duration::from_secs(6 * 3600));
        assert_eq!(cleanup_interval(1e-9), shortest);
        assert_eq!(cleanup_interval(0.0), shortest);
        for absurd in [1e300, f64::INFINITY, f64::NAN, -1.0, f64::NEG_INFINITY] {
            assert_eq!(cleanup_interval(absurd), longest, "{absurd}");
        }
    }
}
