//! `cleanup.run` sends one removal batch larger than the host accepts.

#[cfg(target_family = "wasm")]
mod component {
    use bachata_common_policy::cleanup::Filesystem;

    /// The most paths the host accepts in one batch.
    const MAX_BATCH: usize = 65_536;
    use bachata_common_policy::policy::{HostFs, Policy};
    use bachata_common_policy::types::{
        AppError, CleanupReport, CleanupSettings, RemovalReason, RunOptions,
    };

    pub struct Flood;

    impl Policy for Flood {
        fn cleanup_run(
            _settings: CleanupSettings,
            options: RunOptions,
        ) -> Result<CleanupReport, AppError> {
            let paths: Vec<String> = (0..=MAX_BATCH).map(|n| format!("flood-{n}")).collect();
            for area in HostFs.areas() {
                HostFs.remove(&area, RemovalReason::Age, &paths);
            }
            Ok(bachata_test_policies::empty_report(options.dry_run))
        }
    }

    bachata_common_policy::export_policy!(Flood);
}
