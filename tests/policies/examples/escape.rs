//! `cleanup.run` asks the host to remove what no area holds, and a locked file.

#[cfg(target_family = "wasm")]
mod component {
    use bachata_common_policy::cleanup::Filesystem;
    use bachata_common_policy::policy::{HostFs, Policy};
    use bachata_common_policy::types::{AppError, CleanupReport, CleanupSettings};

    /// Each asked on its own, in every area.
    const TARGETS: [&str; 6] = [
        "../outside.txt",
        "/etc/passwd",
        "a/../../outside.txt",
        "link/target.txt",
        "../cache/keep.bin",
        "locked.bin",
    ];

    pub struct Escape;

    impl Policy for Escape {
        fn cleanup_run(
            _settings: CleanupSettings,
            _now: u64,
            _force: bool,
            dry_run: bool,
        ) -> Result<CleanupReport, AppError> {
            for area in HostFs.areas() {
                for target in TARGETS {
                    HostFs.remove(&area, &[target.to_string()]);
                }
            }
            HostFs.remove("etc", &["passwd".to_string()]);
            Ok(bachata_test_policies::empty_report(dry_run))
        }
    }

    bachata_common_policy::export_policy!(Escape);
}
