//! `cleanup`: a cleanup run over the managed areas (lending files and metrics) and the
//! assessment of a resource snapshot; both answers are checked before they are believed.

use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use super::super::Policy;
use super::super::convert;
use super::super::state::Capabilities;
use crate::capabilities::fs::Areas;
use crate::capabilities::metrics::{Metrics, SystemResources};
use crate::types::cleanup::{Assessment, CleanupReport, CleanupSettings};
use crate::types::error::Error;

impl Policy {
    /// Runs the cleanup policy over `areas`, lending `metrics` for `host-metrics` (without
    /// them the policy sees an all-zero snapshot).
    #[allow(clippy::too_many_arguments, reason = "one per input of `cleanup.run`")]
    pub fn cleanup(
        &self,
        areas: &Arc<Areas>,
        metrics: Option<&Arc<Metrics>>,
        settings: &CleanupSettings,
        now: u64,
        force: bool,
        dry_run: bool,
    ) -> Result<CleanupReport, Error> {
        self.cleanup_cancellable(areas, metrics, settings, now, force, dry_run, None)
    }

    /// [`cleanup`](Self::cleanup) that stops when `cancel` is set: at the next scan, removal
    /// batch (between two paths) or deadline check. A stopped call is [`Error::Cancelled`],
    /// with what was removed until then.
    #[allow(clippy::too_many_arguments, reason = "one per input of `cleanup.run`")]
    pub fn cleanup_cancellable(
        &self,
        areas: &Arc<Areas>,
        metrics: Option<&Arc<Metrics>>,
        settings: &CleanupSettings,
        now: u64,
        force: bool,
        dry_run: bool,
        cancel: Option<Arc<AtomicBool>>,
    ) -> Result<CleanupReport, Error> {
        let wit_settings = convert::cleanup_settings(*settings);
        let lend = Capabilities {
            areas: Some(Arc::clone(areas)),
            metrics: metrics.cloned(),
            dry_run,
            cancel,
            ..self.lend_secrets()
        };
        let (outcome, audit) = self.call_with("cleanup.run", lend, |instance, store| {
            instance
                .bachata_common_cleanup()
                .call_run(store, wit_settings, now, force, dry_run)
        })?;
        let report = outcome
            .map(CleanupReport::from)
            .map_err(|error| Error::App(error.into()))?;
        report.check(dry_run, &audit.removed).map_err(|reason| {
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
        let assessment = self.call("cleanup.assess", |instance, store| {
            instance
                .bachata_common_cleanup()
                .call_assess(store, wit_settings, &wit_snapshot)
        })?;
        let assessment = Assessment::from(assessment);
        assessment.check().map_err(|reason| {
            self.violation(
                "cleanup.assess",
                format!("returned an impossible assessment: {reason}"),
            )
        })?;
        Ok(assessment)
    }
}
