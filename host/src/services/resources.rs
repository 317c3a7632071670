//! The resource manager: system resources, cleanup of the managed areas through the policy,
//! resource assessments, and the temp file manager, over one data directory.
//!
//! ```no_run
//! use std::sync::Arc;
//! use bachata_common::{Policy, config, resources::ResourceManager};
//! let policy = Arc::new(Policy::embedded()?);
//! let config = config::load(&policy, None)?;
//! let manager = ResourceManager::new(policy, &config.resources)?;
//! let report = manager.cleanup(false, true)?; // a dry run
//! println!("would free {} bytes", report.total_bytes_freed());
//! # Ok::<(), bachata_common::Error>(())
//! ```

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::capabilities::fs::{Areas, now_secs};
use crate::capabilities::metrics::{Metrics, SystemResources};
use crate::runtime::Policy;
use crate::services::temp::TempManager;
use crate::types::cleanup::{Assessment, CleanupReport};
use crate::types::config::ResourceSettings;
use crate::types::error::Error;

/// How a cleanup runs (the policy runtime's options: force, dry run, samples, removals log,
/// progress counters).
pub use crate::runtime::CleanupOptions;

/// Manages the areas under one data directory with one policy (which can be swapped while
/// the manager runs; each call uses the policy current when it starts).
#[derive(Debug)]
pub struct ResourceManager {
    policy: RwLock<Arc<Policy>>,
    areas: Arc<Areas>,
    metrics: Arc<Metrics>,
    settings: ResourceSettings,
    temp: TempManager,
    /// The cancel switch of the cleanup running in this process, if any.
    running: Mutex<Option<Arc<AtomicBool>>>,
    /// Set by [`begin_shutdown`](Self::begin_shutdown): new cleanups are refused.
    closing: AtomicBool,
}

/// An exclusive `flock` on the data directory, held while a cleanup runs: one cleanup at a
/// time per data directory, across threads and processes.
struct CleanupLock {
    _file: std::fs::File,
}

impl CleanupLock {
    fn try_take(data_dir: &std::path::Path) -> Result<Option<Self>, Error> {
        let file = std::fs::File::open(data_dir).map_err(|source| Error::Io {
            path: data_dir.to_path_buf(),
            source,
        })?;
        match file.try_lock() {
            Ok(()) => Ok(Some(Self { _file: file })),
            Err(std::fs::TryLockError::WouldBlock) => Ok(None),
            Err(std::fs::TryLockError::Error(source)) => Err(Error::Io {
                path: data_dir.to_path_buf(),
                source,
            }),
        }
    }
}

impl ResourceManager {
    /// Opens (creating when missing) the data directory and its areas.
    pub fn new(policy: Arc<Policy>, settings: &ResourceSettings) -> Result<Self, Error> {
        let areas = Arc::new(Areas::open(&settings.data_dir, &settings.areas)?);
        let metrics = Arc::new(Metrics::new(Arc::clone(&areas)));
        let temp = TempManager::new(Arc::clone(&areas))?;
        Ok(Self {
            policy: RwLock::new(policy),
            areas,
            metrics,
            settings: settings.clone(),
            temp,
            running: Mutex::new(None),
            closing: AtomicBool::new(false),
        })
    }

    /// The policy in use.
    pub fn policy(&self) -> Arc<Policy> {
        Arc::clone(&self.policy.read().unwrap_or_else(PoisonError::into_inner))
    }

    /// Replaces the policy (calls already running finish with the old one); returns the old,
    /// its waiting instances dropped.
    pub fn swap_policy(&self, policy: Arc<Policy>) -> Arc<Policy> {
        let mut slot = self.policy.write().unwrap_or_else(PoisonError::into_inner);
        let old = std::mem::replace(&mut *slot, policy);
        old.release_instances();
        old
    }

    /// The resource settings.
    pub fn settings(&self) -> &ResourceSettings {
        &self.settings
    }

    /// The managed areas.
    pub fn areas(&self) -> &Arc<Areas> {
        &self.areas
    }

    /// The temp file manager of the `temp` area.
    pub fn temp(&self) -> &TempManager {
        &self.temp
    }

    /// A snapshot of system resources.
    pub fn system_resources(&self) -> SystemResources {
        self.metrics.snapshot()
    }

    /// Cleans the areas: age-based (`force`: everything not in use), then the cache cap.
    /// A dry run removes nothing and lists what would go.
    ///
    /// One cleanup runs at a time per data directory (an `flock` on it, so also across
    /// processes): while another runs this fails at once with [`Error::Busy`]. A cleanup
    /// cancelled by [`begin_shutdown`](Self::begin_shutdown) fails with
    /// [`Error::Cancelled`], counting what it had removed.
    pub fn cleanup(&self, force: bool, dry_run: bool) -> Result<CleanupReport, Error> {
        self.cleanup_with(&CleanupOptions {
            force,
            dry_run,
            ..CleanupOptions::default()
        })
    }

    /// [`cleanup`](Self::cleanup) with a removals log, a progress display's counters and
    /// the number of sample removals in the report.
    pub fn cleanup_with(&self, options: &CleanupOptions) -> Result<CleanupReport, Error> {
        if self.closing.load(Ordering::Relaxed) {
            return Err(self.refused_while_closing());
        }
        let lock = CleanupLock::try_take(self.areas.root())?.ok_or_else(|| Error::Busy {
            data_dir: self.areas.root().to_path_buf(),
        })?;
        self.cleanup_locked(options, lock, false)
    }

    /// The final cleanup of a shutdown: waits up to `wait` for a running cleanup to end,
    /// then cleans by age like [`cleanup`](Self::cleanup), even while closing. It can be
    /// cancelled with [`cancel_running`](Self::cancel_running).
    pub fn final_cleanup(&self, wait: Duration) -> Result<CleanupReport, Error> {
        let started = Instant::now();
        let lock = loop {
            if let Some(lock) = CleanupLock::try_take(self.areas.root())? {
                break lock;
            }
            if started.elapsed() >= wait {
                return Err(Error::Busy {
                    data_dir: self.areas.root().to_path_buf(),
                });
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        self.cleanup_locked(&CleanupOptions::default(), lock, true)
    }

    fn refused_while_closing(&self) -> Error {
        Error::Cancelled {
            function: "cleanup.run",
            files_removed: 0,
            bytes_freed: 0,
        }
    }

    fn cleanup_locked(
        &self,
        options: &CleanupOptions,
        lock: CleanupLock,
        final_run: bool,
    ) -> Result<CleanupReport, Error> {
        let CleanupOptions { force, dry_run, .. } = *options;
        let cancel = Arc::new(AtomicBool::new(false));
        {
            // Registered and checked under one lock with `begin_shutdown`, so a cleanup
            // starting as the shutdown begins is either refused or cancelled.
            let mut running = self.running.lock().unwrap_or_else(PoisonError::into_inner);
            if self.closing.load(Ordering::SeqCst) && !final_run {
                return Err(self.refused_while_closing());
            }
            *running = Some(Arc::clone(&cancel));
        }
        let outcome = self.policy().cleanup_with(
            &self.areas,
            Some(&self.metrics),
            &self.settings.cleanup,
            now_secs(),
            options,
            Some(cancel),
        );
        let logged = options.removals_log.as_ref().map(|log| log.finish());
        *self.running.lock().unwrap_or_else(PoisonError::into_inner) = None;
        drop(lock);
        if !dry_run {
            self.metrics.invalidate_area_usage();
        }
        let report = outcome?;
        if let Some(Err(reason)) = logged {
            return Err(Error::Io {
                path: "removals log".into(),
                source: std::io::Error::other(reason),
            });
        }
        tracing::info!(
            force,
            dry_run,
            files_removed = report.total_files_removed(),
            bytes_freed = report.total_bytes_freed(),
            skipped_in_use = report.skipped_in_use,
            errors = report.error_count,
            "cleanup finished"
        );
        for problem in &report.errors {
            tracing::warn!(
                area = %problem.area,
                path = %crate::types::text::printable(&problem.path),
                reason = %crate::types::text::printable(&problem.reason),
                "cleanup problem"
            );
        }
        Ok(report)
    }

    /// Cancels the cleanup running in this process, if any (it stops at its next scan,
    /// removal or deadline check); true when there was one.
    pub fn cancel_running(&self) -> bool {
        match &*self.running.lock().unwrap_or_else(PoisonError::into_inner) {
            Some(cancel) => {
                cancel.store(true, Ordering::Relaxed);
                true
            }
            None => false,
        }
    }

    /// Refuses new cleanups (but the [`final_cleanup`](Self::final_cleanup)) and cancels
    /// the running one; true when one was running.
    pub fn begin_shutdown(&self) -> bool {
        let running = self.running.lock().unwrap_or_else(PoisonError::into_inner);
        self.closing.store(true, Ordering::SeqCst);
        match &*running {
            Some(cancel) => {
                cancel.store(true, Ordering::Relaxed);
                true
            }
            None => false,
        }
    }

    /// Judges a snapshot against the thresholds.
    pub fn assess(&self, snapshot: &SystemResources) -> Result<Assessment, Error> {
        self.policy().assess(&self.settings.cleanup, snapshot)
    }
}

const GB: f64 = 1024.0 * 1024.0 * 1024.0;
const MB: f64 = 1024.0 * 1024.0;

fn round2(value: f64) -> f64 {
    (value * 100.0).round() / 100.0
}

/// The resources JSON document, in the shape existing callers expect
/// (`memory.{total_gb, available_gb, used_gb, percent_used}`, `disk.{…}`,
/// `temp_directories.{<area>: {exists, size_mb, file_count}}`) plus exact byte fields.
pub fn resources_json(snapshot: &SystemResources) -> Value {
    let memory = &snapshot.memory;
    let disk = &snapshot.disk;
    let areas: serde_json::Map<String, Value> = snapshot
        .areas
        .iter()
        .map(|area| {
            (
                area.name.clone(),
                json!({
                    "exists": area.exists,
                    "size_mb": round2(area.size as f64 / MB),
                    "size_bytes": area.size,
                    "file_count": area.file_count,
                }),
            )
        })
        .collect();
    json!({
        "timestamp": snapshot.taken_at,
        "memory": {
            "total_gb": round2(memory.total as f64 / GB),
            "available_gb": round2(memory.available as f64 / GB),
            "used_gb": round2(memory.used as f64 / GB),
            "percent_used": round2(memory.used_ratio * 100.0),
            "total_bytes": memory.total,
            "available_bytes": memory.available,
            "used_bytes": memory.used,
            "container_limited": memory.container_limited,
        },
        "disk": {
            "total_gb": round2(disk.total as f64 / GB),
            "free_gb": round2(disk.free as f64 / GB),
            "used_gb": round2(disk.used as f64 / GB),
            "percent_used": round2(disk.used_ratio * 100.0),
            "total_bytes": disk.total,
            "free_bytes": disk.free,
            "used_bytes": disk.used,
        },
        "cpu": {
            "percent_used": round2(snapshot.cpu_ratio * 100.0),
            "load_average": [snapshot.load_average.0, snapshot.load_average.1, snapshot.load_average.2],
        },
        "temp_directories": areas,
    })
}

/// The cleanup JSON document: per-phase reports and totals.
pub fn cleanup_json(report: &CleanupReport) -> Value {
    json!({
        "temporary_files": {
            "files_removed": report.temporary_files.files_removed,
            "bytes_freed": report.temporary_files.bytes_freed,
            "directories_removed": report.temporary_files.directories_removed,
            "directories_processed": report.directories_processed,
        },
        "cache_cleanup": {
            "files_removed": report.cache_cleanup.files_removed,
            "bytes_freed": report.cache_cleanup.bytes_freed,
        },
        "total_files_removed": report.total_files_removed(),
        "total_bytes_freed": report.total_bytes_freed(),
        "skipped_in_use": report.skipped_in_use,
        "vanished": report.vanished,
        "dry_run": report.dry_run,
        "areas": report.areas,
        "error_count": report.error_count,
        "errors": report.errors,
        "removals": report.removals,
    })
}
