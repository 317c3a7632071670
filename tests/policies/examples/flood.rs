//! `cleanup.run` sends one removal batch larger than the host accepts.

#[cfg(target_family = "wasm")]
mod component {
    use bachata_common_policy::cleanup::{Filesystem, MAX_BATCH};
    use bachata_common_policy::policy::{HostFs, Policy};
    use bachata_common_policy::types::{AppError, CleanupReport, CleanupSettings};

    pub struct Flood;

    impl Policy for Flood {
        fn cleanup_run(
            _settings: CleanupSettings,
            _now: u64,
            _force: bool,
            dry_run: bool,
        ) -> Result<CleanupReport, AppError> {
            let paths: Vec<String> = (0..=MAX_BATCH).map(|n| format!("flood-{n}")).collect();
            for area in HostFs.areas() {
                HostFs.remove(&area, &paths);
            }
            Ok(bachata_test_policies::empty_report(dry_run))
        }
    }

    bachata_common_policy::export_policy!(Flood);
}
