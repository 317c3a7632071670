//! `cleanup.run` asks the host to remove what no area holds, and a locked file.

#[cfg(target_family = "wasm")]
mod component {
    use bachata_common_policy::cleanup::Filesystem;
    use bachata_common_policy::policy::{HostFs, Policy};
    use bachata_common_policy::types::{
        AppError, CleanupReport, CleanupSettings, RemovalReason, RunOptions,
    };

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
            options: RunOptions,
        ) -> Result<CleanupReport, AppError> {
            for area in HostFs.areas() {
                for target in TARGETS {
                    HostFs.remove(&area, RemovalReason::Age, &[target.to_string()]);
                }
            }
            HostFs.remove("etc", RemovalReason::Age, &["passwd".to_string()]);
            Ok(bachata_test_policies::empty_report(options.dry_run))
        }
    }

    bachata_common_policy::export_policy!(Escape);
}
