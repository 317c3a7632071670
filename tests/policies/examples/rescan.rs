//! `cleanup.run` opens scans of the same area without end (each one a walk the host keeps).

#[cfg(target_family = "wasm")]
mod component {
    use bachata_common_policy::cleanup::Filesystem;
    use bachata_common_policy::policy::{HostFs, Policy};
    use bachata_common_policy::types::{AppError, CleanupReport, CleanupSettings, RunOptions};

    pub struct Rescan;

    impl Policy for Rescan {
        fn cleanup_run(
            _settings: CleanupSettings,
            options: RunOptions,
        ) -> Result<CleanupReport, AppError> {
            let mut open = Vec::new();
            for area in HostFs.areas() {
                loop {
                    match HostFs.open_scan(&area) {
                        Ok(scan) => open.push(scan),
                        Err(_) => break,
                    }
                }
            }
            Ok(bachata_test_policies::empty_report(options.dry_run))
        }
    }

    bachata_common_policy::export_policy!(Rescan);
}
