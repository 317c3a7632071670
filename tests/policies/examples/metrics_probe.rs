//! `cleanup.run` reports what `host-metrics` lends it, as its error.

#[cfg(target_family = "wasm")]
mod component {
    use bachata_common_policy::bindings::bachata::common::host_metrics;
    use bachata_common_policy::catalog;
    use bachata_common_policy::policy::Policy;
    use bachata_common_policy::types::{
        AppError, CleanupReport, CleanupSettings, ErrorKind, RunOptions,
    };

    pub struct MetricsProbe;

    impl Policy for MetricsProbe {
        fn cleanup_run(
            _settings: CleanupSettings,
            _options: RunOptions,
        ) -> Result<CleanupReport, AppError> {
            let snapshot = host_metrics::snapshot();
            let areas: Vec<String> = snapshot.areas.into_iter().map(|area| area.name).collect();
            Err(catalog::make_error(
                ErrorKind::Resource(Some("probe".to_string())),
                format!(
                    "memory total {} bytes, disk total {} bytes, areas {}",
                    snapshot.memory.total,
                    snapshot.disk.total,
                    areas.join(",")
                ),
                Vec::new(),
            ))
        }
    }

    bachata_common_policy::export_policy!(MetricsProbe);
}
