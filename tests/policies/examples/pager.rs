//! `cleanup.run` never stops asking for pages: it reads a scan to its end, then asks again.

#[cfg(target_family = "wasm")]
mod component {
    use bachata_common_policy::cleanup::Filesystem;
    use bachata_common_policy::policy::{HostFs, Policy};
    use bachata_common_policy::types::{AppError, CleanupReport, CleanupSettings, RunOptions};

    pub struct Pager;

    impl Policy for Pager {
        fn cleanup_run(
            _settings: CleanupSettings,
            options: RunOptions,
        ) -> Result<CleanupReport, AppError> {
            for area in HostFs.areas() {
                if let Ok(scan) = HostFs.open_scan(&area) {
                    loop {
                        let page = HostFs::next(&scan, 1);
                        std::hint::black_box(page);
                    }
                }
            }
            Ok(bachata_test_policies::empty_report(options.dry_run))
        }
    }

    bachata_common_policy::export_policy!(Pager);
}
