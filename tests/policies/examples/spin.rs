//! `cleanup.run` never returns; the host's deadline must stop it.

#[cfg(target_family = "wasm")]
mod component {
    use bachata_common_policy::policy::Policy;
    use bachata_common_policy::types::{AppError, CleanupReport, CleanupSettings, RunOptions};

    pub struct Spin;

    impl Policy for Spin {
        fn cleanup_run(
            _settings: CleanupSettings,
            options: RunOptions,
        ) -> Result<CleanupReport, AppError> {
            let mut counter = options.now;
            loop {
                counter = std::hint::black_box(counter.wrapping_add(1));
            }
        }
    }

    bachata_common_policy::export_policy!(Spin);
}
