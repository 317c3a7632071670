//! `cleanup`: a cleanup run over the managed areas (lending files and metrics) and the
//! assessment of a resource snapshot; both answers are checked before they are believed.

use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use super::super::Policy;
use super::super::bindings::wit::cleanup as wit;
use super::super::convert;
use super::super::state::{Capabilities, DEFAULT_SAMPLES};
use crate::capabilities::fs::{Areas, Progress, RemovalLog};
use crate::capabilities::metrics::{Metrics, SystemResources};
use crate::types::cleanup::{Assessment, CleanupReport, CleanupSettings};
use crate::types::error::Error;

/// How one cleanup runs, beyond its settings, the time and the cancel switch.
#[derive(Debug, Clone)]
pub struct CleanupOptions {
    /// Treat every file as old (everything not in use goes).
    pub force: bool,
    /// Remove nothing; report (and log) what would go.
    pub dry_run: bool,
    /// Most sample removals (and problems) the report lists; default 1000.
    pub max_samples: u32,
    /// Where every removal is written as a JSON line, if anywhere.
    pub removals_log: Option<Arc<RemovalLog>>,
    /// Live counters for a progress display.
    pub progress: Option<Arc<Progress>>,
}

impl Default for CleanupOptions {
    fn default() -> Self {
        Self {
            force: false,
            dry_run: false,
            max_samples: DEFAULT_SAMPLES,
            removals_log: None,
            progress: None,
        }
    }
}

impl Policy {
    /// Runs the cleanup policy over `areas`, lending `metrics` for `host-metrics` (without
    /// them the policy sees an all-zero snapshot).
    pub fn cleanup(
        &self,
        areas: &Arc<Areas>,
        metrics: Option<&Arc<Metrics>>,
        settings: &CleanupSettings,
        now: u64,
        force: bool,
        dry_run: bool,
    ) -> Result<CleanupReport, Error> {
        let options = CleanupOptions {
            force,
            dry_run,
            ..CleanupOptions::default()
        };
        self.cleanup_with(areas, metrics, settings, now, &options, None)
    }

    /// [`cleanup`](Self::cleanup) with every [`CleanupOptions`], stopping when `cancel` is
    /// set: at the next scan page, removal batch (between two paths) or deadline check. A
    /// stopped call is [`Error::Cancelled`], with what was removed until then. The report is
    /// checked against what the host did: totals per area and phase, samples among the first
    /// removals made.
    pub fn cleanup_with(
        &self,
        areas: &Arc<Areas>,
        metrics: Option<&Arc<Metrics>>,
        settings: &CleanupSettings,
        now: u64,
        run: &CleanupOptions,
        cancel: Option<Arc<AtomicBool>>,
    ) -> Result<CleanupReport, Error> {
        let wit_settings = convert::cleanup_settings(*settings);
        let options = wit::RunOptions {
            now,
            force: run.force,
            dry_run: run.dry_run,
            max_samples: run.max_samples,
        };
        let lend = Capabilities {
            areas: Some(Arc::clone(areas)),
            metrics: metrics.cloned(),
            dry_run: run.dry_run,
            max_samples: run.max_samples,
            removals_log: run.removals_log.clone(),
            progress: run.progress.clone(),
            cancel,
            ..self.lend_secrets()
        };
        let (outcome, audit) = self.call_with("cleanup.run", lend, |exports, store| {
            exports
                .cleanup(&mut *store)?
                .call_run(store, wit_settings, options)
        })?;
        let report = outcome
            .map(CleanupReport::from)
            .map_err(|error| Error::App(error.into()))?;
        report
            .check(run.dry_run, run.max_samples as usize, &audit.removed)
            .map_err(|reason| {
                self.violation(
                    "cleanup.run",
                    format!("returned an impossible report: {reason}"),
                )
            })?;
        Ok(report)
    }

    /// Judges a resource snapshot against the thresholds.
    pub fn assess(
        &self,
        settings: &CleanupSettings,
        snapshot: &SystemResources,
    ) -> Result<Assessment, Error> {
        let wit_settings = convert::cleanup_settings(*settings);
        let wit_snapshot = convert::to_wit_snapshot(snapshot);
        self.call_judged(
            "cleanup.assess",
            |exports, store| {
                exports
                    .cleanup(&mut *store)?
                    .call_assess(store, wit_settings, &wit_snapshot)
            },
            |assessment| {
                let assessment = Assessment::from(assessment);
                assessment.check().map_err(|reason| {
                    self.violation(
                        "cleanup.assess",
                        format!("returned an impossible assessment: {reason}"),
                    )
                })?;
                Ok(assessment)
            },
        )
    }
}
