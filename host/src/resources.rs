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

use std::sync::{Arc, PoisonError, RwLock};

use serde_json::{Value, json};

use crate::capabilities::fs::{Areas, now_secs};
use crate::capabilities::metrics::{Metrics, SystemResources};
use crate::cleanup::{Assessment, CleanupReport};
use crate::config::ResourceSettings;
use crate::error::Error;
use crate::policy::Policy;
use crate::temp::TempManager;

/// Manages the areas under one data directory with one policy (which can be swapped while
/// the manager runs; each call uses the policy current when it starts).
#[derive(Debug)]
pub struct ResourceManager {
    policy: RwLock<Arc<Policy>>,
    areas: Arc<Areas>,
    metrics: Arc<Metrics>,
    settings: ResourceSettings,
    temp: TempManager,
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
        })
    }

    /// The policy in use.
    pub fn policy(&self) -> Arc<Policy> {
        Arc::clone(&self.policy.read().unwrap_or_else(PoisonError::into_inner))
    }

    /// Replaces the policy (calls already running finish with the old one); returns the old.
    pub fn swap_policy(&self, policy: Arc<Policy>) -> Arc<Policy> {
        let mut slot = self.policy.write().unwrap_or_else(PoisonError::into_inner);
        std::mem::replace(&mut *slot, policy)
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
    pub fn cleanup(&self, force: bool, dry_run: bool) -> Result<CleanupReport, Error> {
        let report = self.policy().cleanup(
            &self.areas,
            Some(&self.metrics),
            &self.settings.cleanup,
            now_secs(),
            force,
            dry_run,
        )?;
        if !dry_run {
            self.metrics.invalidate_area_usage();
        }
        tracing::info!(
            force,
            dry_run,
            files_removed = report.total_files_removed(),
            bytes_freed = report.total_bytes_freed(),
            skipped_in_use = report.skipped_in_use,
            errors = report.errors.len(),
            "cleanup finished"
        );
        for problem in &report.errors {
            tracing::warn!(area = %problem.area, path = %problem.path, reason = %problem.reason, "cleanup problem");
        }
        Ok(report)
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
        "errors": report.errors,
        "removals": report.removals,
    })
}
