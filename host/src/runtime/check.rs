//! The self-check a policy passes before it is trusted: every component of the set
//! instantiates, its catalog is usable, it resolves
//! the default configuration, it assesses a snapshot sensibly, a forced dry-run cleanup
//! of a scratch directory answers honestly without removing anything, and the monitor's event
//! rules take a plain decision and feedback.
//!
//! Every step runs under the same limits and rules as real calls, so a policy that loops,
//! exhausts memory, traps, tries to remove files or answers nonsense fails here, before it
//! replaces a policy that works.

use std::sync::Arc;

use serde::Serialize;

use super::Policy;
use crate::capabilities::fs::{Areas, now_secs};
use crate::capabilities::metrics::SystemResources;
use crate::types::cleanup::CleanupSettings;
use crate::types::error::Error;
use crate::types::monitor::{DecisionInput, FeedbackInput, Refusal};

/// The areas of the scratch directory and the file each holds.
const SCRATCH_AREAS: [&str; 2] = ["temp", "cache"];
const SCRATCH_FILE: &str = "self-check.tmp";

/// What a passed self-check saw.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SelfCheck {
    /// Catalog entries.
    pub catalog_entries: usize,
    /// Distinct error codes in the catalog.
    pub error_codes: usize,
    /// Settings in the default configuration.
    pub settings: usize,
    /// Paths a forced dry-run cleanup of the scratch areas planned to remove.
    pub planned_removals: usize,
}

impl Policy {
    /// Runs the self-check; the first failure is the error.
    pub fn self_check(&self) -> Result<SelfCheck, Error> {
        let failed = |function: &'static str, reason: String| {
            self.violation(function, format!("failed the self-check: {reason}"))
        };
        // Every component of the set starts, whatever concerns it answers.
        self.instantiate()?;

        let catalog = self.catalog()?;
        if catalog.is_empty() {
            return Err(failed("errors.catalog", "the catalog is empty".to_string()));
        }
        let mut codes: Vec<&str> = catalog.iter().map(|e| e.error_code.as_str()).collect();
        codes.sort_unstable();
        codes.dedup();
        for entry in &catalog {
            if !(400..=599).contains(&entry.http_status) || entry.message.trim().is_empty() {
                return Err(failed(
                    "errors.catalog",
                    format!(
                        "entry {}/{} has HTTP status {} and message {:?}",
                        entry.error_code, entry.error_type, entry.http_status, entry.message
                    ),
                ));
            }
        }
        if let Some(code) = codes.iter().find(|code| {
            !catalog
                .iter()
                .any(|e| e.error_code == **code && e.error_type == "default")
        }) {
            return Err(failed(
                "errors.catalog",
                format!("code {code} has no `default` message"),
            ));
        }
        let status = self.http_status("VALIDATION_ERROR")?;
        if !(400..=599).contains(&status) {
            return Err(failed(
                "errors.http-status",
                format!("VALIDATION_ERROR maps to HTTP status {status}"),
            ));
        }

        let config = match self.load_config(&[], None)? {
            Ok(config) => config,
            Err(failure) => {
                return Err(failed(
                    "config.load",
                    format!("the default configuration is rejected: {}", failure.error),
                ));
            }
        };

        let settings = config.resources.cleanup;
        self.assess(&settings, &SystemResources::empty())?;

        let planned_removals = self.scratch_cleanup(&settings)?;
        self.events_check()?;
        Ok(SelfCheck {
            catalog_entries: catalog.len(),
            error_codes: codes.len(),
            settings: config.settings.len(),
            planned_removals,
        })
    }

    /// The monitor's event rules take a plain decision and a plain like on it, and word a
    /// refusal as a validation error.
    fn events_check(&self) -> Result<(), Error> {
        let failed = |function: &'static str, error: Error| match error {
            violation @ Error::PolicyViolation { .. } => violation,
            other => self.violation(function, format!("failed the self-check: {other}")),
        };
        let now = chrono::Utc::now();
        let decision = DecisionInput {
            decision_id: Some("self-check".into()),
            input_song: "Self-check song".into(),
            recommended_moves: vec!["basic_step".into()],
            recommendation_scores: vec![0.5],
            processing_time_ms: 10.0,
            ..DecisionInput::default()
        };
        self.check_decisions(vec![decision], now, false)
            .map_err(|error| failed("events.check-decisions", error))?;
        let like = FeedbackInput {
            decision_id: "self-check".into(),
            feedback_type: "like".into(),
            move_id: Some("basic_step".into()),
            ..FeedbackInput::default()
        };
        self.check_feedback(vec![like], now, false)
            .map_err(|error| failed("events.check-feedback", error))?;
        self.refused(Refusal::UnknownDecision("self-check".into()), Some(0))
            .map_err(|error| failed("events.refused", error))?;
        Ok(())
    }

    /// A forced dry run over scratch areas holding one file each: it must finish, remove
    /// nothing and plan only files that exist.
    fn scratch_cleanup(&self, settings: &CleanupSettings) -> Result<usize, Error> {
        let scratch = tempfile::tempdir().map_err(|source| Error::Io {
            path: std::env::temp_dir(),
            source,
        })?;
        let names: Vec<String> = SCRATCH_AREAS.iter().map(|s| s.to_string()).collect();
        let areas = Arc::new(Areas::open(scratch.path(), &names)?);
        for area in SCRATCH_AREAS {
            let path = scratch.path().join(area).join(SCRATCH_FILE);
            std::fs::write(&path, b"self-check").map_err(|source| Error::Io { path, source })?;
        }
        let report = self.cleanup(&areas, None, settings, now_secs(), true, true)?;
        if let Some(stray) = report.removals.iter().find(|removal| {
            !SCRATCH_AREAS.contains(&removal.area.as_str()) || removal.path != SCRATCH_FILE
        }) {
            return Err(self.violation(
                "cleanup.run",
                format!(
                    "failed the self-check: planned to remove `{}` in area `{}`, which does not exist",
                    stray.path, stray.area
                ),
            ));
        }
        Ok(report.removals.len())
    }
}
