//! `cleanup.run` panics (a trap in the component).

#[cfg(target_family = "wasm")]
mod component {
    use bachata_common_policy::policy::Policy;
    use bachata_common_policy::types::{AppError, CleanupReport, CleanupSettings, RunOptions};

    pub struct Trap;

    impl Policy for Trap {
        fn cleanup_run(
            _settings: CleanupSettings,
            _options: RunOptions,
        ) -> Result<CleanupReport, AppError> {
            panic!("the trap policy gives up on every cleanup")
        }
    }

    bachata_common_policy::export_policy!(Trap);
}
