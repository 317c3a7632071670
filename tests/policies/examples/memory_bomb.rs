//! `cleanup.run` allocates until the host refuses memory.

#[cfg(target_family = "wasm")]
mod component {
    use bachata_common_policy::policy::Policy;
    use bachata_common_policy::types::{AppError, CleanupReport, CleanupSettings, RunOptions};

    pub struct MemoryBomb;

    impl Policy for MemoryBomb {
        fn cleanup_run(
            _settings: CleanupSettings,
            options: RunOptions,
        ) -> Result<CleanupReport, AppError> {
            let mut hoard: Vec<Vec<u8>> = Vec::new();
            loop {
                hoard.push(std::hint::black_box(vec![7u8; 1 << 20]));
                if hoard.len() == usize::MAX {
                    return Ok(bachata_test_policies::empty_report(options.dry_run));
                }
            }
        }
    }

    bachata_common_policy::export_policy!(MemoryBomb);
}
