//! A cleanup that never ends unless stopped: dry runs (and so the self-check) are the stock
//! policy's, a real `cleanup.run` computes forever. For the tests of cancellation: a daemon
//! shutting down must stop it at once, whatever the call deadline.

#[cfg(target_family = "wasm")]
mod component {
    use bachata_common_policy::cleanup;
    use bachata_common_policy::policy::{HostFs, Policy};
    use bachata_common_policy::types::{AppError, CleanupReport, CleanupSettings, RunOptions};

    pub struct Slow;

    impl Policy for Slow {
        fn cleanup_run(
            settings: CleanupSettings,
            options: RunOptions,
        ) -> Result<CleanupReport, AppError> {
            if options.dry_run {
                return cleanup::run(&HostFs, &settings, &options);
            }
            let mut counter = options.now;
            loop {
                counter = std::hint::black_box(counter.wrapping_add(1));
            }
        }
    }

    bachata_common_policy::export_policy!(Slow);
}
