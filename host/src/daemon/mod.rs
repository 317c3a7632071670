//! The `run` daemon: background resource monitoring, scheduled cleanup, an HTTP endpoint
//! (`/metrics`, `/healthz`, `/v1/resources`, `POST /v1/cleanup`) and graceful shutdown.

mod background;
mod http;
pub mod reload;
pub mod telemetry;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;

use crate::config::DaemonSettings;
use crate::error::{AppError, Error};
use crate::resources::ResourceManager;

pub use background::{Background, MonitorPolicy};
use telemetry::Telemetry;

/// How long each shutdown step may take before it is abandoned.
pub const SHUTDOWN_STEP_TIMEOUT: Duration = Duration::from_secs(20);

/// Everything the daemon's tasks share.
#[derive(Debug)]
pub struct Shared {
    /// The resource manager.
    pub manager: Arc<ResourceManager>,
    /// Metrics.
    pub telemetry: Telemetry,
    /// The bearer token `POST /v1/cleanup` requires, if any.
    pub api_token: Option<String>,
}

/// Checks that the daemon may listen where configured: off loopback a token is required.
pub fn check_listen(settings: &DaemonSettings) -> Result<(), Error> {
    if !settings.listen.ip().is_loopback() && settings.api_token.is_none() {
        return Err(Error::App(AppError::Validation {
            message: format!(
                "refusing to serve on {} (not loopback) without BACHATA_API_TOKEN: set a token so \
                 that POST /v1/cleanup cannot be called by anyone on the network",
                settings.listen
            ),
            field: Some("BACHATA_LISTEN".to_string()),
            value: Some(settings.listen.to_string()),
            details: Vec::new(),
        }));
    }
    Ok(())
}

/// Runs the daemon until SIGINT or SIGTERM, then shuts down in order: stop monitoring, cancel
/// the schedule, a final age-based cleanup, release live temp files, stop serving.
/// With `policy_file`, the policy is reloaded whenever that file changes (see [`reload`]).
pub async fn run(
    manager: Arc<ResourceManager>,
    settings: &DaemonSettings,
    policy_file: Option<&std::path::Path>,
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
    });
    let _watcher = policy_file
        .map(|path| reload::watch(Arc::clone(&shared), path))
        .transpose()?;
    let background = Background::new(Arc::clone(&shared));
    background.start_monitoring(MonitorPolicy::from_settings(shared.manager.settings()));
    background.start_schedule(Duration::from_secs_f64(
        shared.manager.settings().cleanup_interval_hours * 3600.0,
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
    match tokio::time::timeout(SHUTDOWN_STEP_TIMEOUT, server).await {
        Ok(Ok(Ok(()))) => {}
        Ok(Ok(Err(error))) => tracing::warn!(%error, "HTTP server stopped with an error"),
        Ok(Err(error)) => tracing::warn!(%error, "HTTP server task failed"),
        Err(_) => tracing::warn!("HTTP server did not stop in time"),
    }
    tracing::info!("stopped");
    Ok(())
}

/// The ordered shutdown steps, each bounded by [`SHUTDOWN_STEP_TIMEOUT`].
async fn shutdown(shared: &Arc<Shared>, background: &Background) {
    background.stop_monitoring().await;
    background.cancel_schedule().await;
    let manager = Arc::clone(&shared.manager);
    let final_cleanup = tokio::task::spawn_blocking(move || manager.cleanup(false, false));
    match tokio::time::timeout(SHUTDOWN_STEP_TIMEOUT, final_cleanup).await {
        Ok(Ok(Ok(report))) => {
            shared.telemetry.cleanup_done("shutdown", &report);
            tracing::info!(
                files_removed = report.total_files_removed(),
                bytes_freed = report.total_bytes_freed(),
                "final cleanup done"
            );
        }
        Ok(Ok(Err(error))) => {
            shared.telemetry.policy_error();
            tracing::error!(%error, "final cleanup failed");
        }
        Ok(Err(error)) => tracing::error!(%error, "final cleanup task failed"),
        Err(_) => tracing::warn!("final cleanup did not finish in time"),
    }
    let released = shared.manager.temp().cleanup_all_active();
    tracing::info!(released, "released live temp files");
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
