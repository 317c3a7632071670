//! Monitoring and scheduled cleanup start, never duplicate, and stop.

use std::sync::Arc;
use std::time::Duration;

use bachata_common::daemon::telemetry::Telemetry;
use bachata_common::daemon::{Background, MonitorPolicy, Shared};
use bachata_common::resources::ResourceManager;
use bachata_common::{Policy, config};

fn shared(dir: &std::path::Path) -> Arc<Shared> {
    let policy = Arc::new(Policy::embedded().expect("policy"));
    let env = vec![("BACHATA_DATA_DIR".to_string(), dir.display().to_string())];
    // The monitor's database defaults to a file in the data directory.
    let config = config::resolve(&policy, &env, None).expect("config");
    let manager =
        Arc::new(ResourceManager::new(Arc::clone(&policy), &config.resources).expect("manager"));
    Arc::new(Shared {
        telemetry: Telemetry::new(&policy),
        manager,
        api_token: None,
        monitor: bachata_common::monitor::MonitorSlot::new(config.monitor.clone()),
    })
}

#[test]
fn monitoring_and_schedule_start_once_and_stop() {
    let dir = tempfile::tempdir().expect("temp dir");
    let shared = shared(dir.path());
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async {
        let background = Background::new(Arc::clone(&shared));
        let policy = MonitorPolicy {
            interval: Duration::from_millis(50),
            max_backoff: Duration::from_secs(1),
            max_failures: 5,
        };
        assert!(background.start_monitoring(policy));
        assert!(!background.start_monitoring(policy), "never two monitors");
        assert!(background.is_monitoring());
        assert!(background.start_schedule(Duration::from_millis(50)));
        assert!(
            !background.start_schedule(Duration::from_millis(50)),
            "one schedule"
        );
        assert!(background.is_scheduled());
        tokio::time::sleep(Duration::from_millis(400)).await;
        background.stop_monitoring().await;
        background.cancel_schedule().await;
        assert!(!background.is_monitoring());
        assert!(!background.is_scheduled());
        // Restartable after a stop.
        assert!(background.start_schedule(Duration::from_secs(3600)));
        background.cancel_schedule().await;
    });
    let metrics = shared.telemetry.encode();
    assert!(
        metrics.contains("bachata_common_cleanup_runs_total{trigger=\"schedule\"}"),
        "{metrics}"
    );
    assert!(metrics.contains("bachata_common_memory_total_bytes"));
}
