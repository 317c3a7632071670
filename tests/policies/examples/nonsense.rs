//! `cleanup.run` and `cleanup.assess` answer what cannot be true.

#[cfg(target_family = "wasm")]
mod component {
    use bachata_common_policy::policy::Policy;
    use bachata_common_policy::types::{
        AppError, Assessment, CleanupReport, CleanupSettings, Level, PlannedRemoval,
        ResourceWarning, RunOptions, SystemResources,
    };

    pub struct Nonsense;

    impl Policy for Nonsense {
        fn cleanup_run(
            _settings: CleanupSettings,
            options: RunOptions,
        ) -> Result<CleanupReport, AppError> {
            let ghost = || PlannedRemoval {
                area: "temp".to_string(),
                path: "never-existed.bin".to_string(),
                bytes: u64::MAX,
                reason: "age".to_string(),
            };
            let mut report = bachata_test_policies::empty_report(options.dry_run);
            report.removals = vec![ghost(), ghost()];
            report.temporary_files.files_removed = 2;
            report.temporary_files.bytes_freed = u64::MAX;
            Ok(report)
        }

        fn cleanup_assess(_settings: CleanupSettings, _snapshot: SystemResources) -> Assessment {
            Assessment {
                warnings: vec![ResourceWarning {
                    resource: "memory".to_string(),
                    level: Level::Critical,
                    value: -3.0,
                    threshold: f64::NAN,
                    message: "memory is below zero".to_string(),
                }],
                emergency_cleanup: true,
            }
        }
    }

    bachata_common_policy::export_policy!(Nonsense);
}
