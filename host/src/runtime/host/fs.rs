//! `host-fs`: scans and removal batches in the managed areas, audited. A call is stopped
//! (and the violation reported) when the policy asks to remove outside an area, during a dry
//! run, or more than [`MAX_REMOVAL_BATCH`] paths at once; a cancelled call stops at its next
//! scan or between two removals.

use std::time::Instant;

use super::super::bindings::bachata::common::host_fs;
use super::super::convert;
use super::super::state::{Cancelled, HostState, MAX_REMOVAL_BATCH};
use crate::capabilities::fs::{self, Areas, ScanFailure};

impl host_fs::Host for HostState {
    fn areas(&mut self) -> Vec<String> {
        self.capabilities
            .areas
            .as_ref()
            .map(|areas| areas.names())
            .unwrap_or_default()
    }

    fn scan(
        &mut self,
        area: String,
    ) -> wasmtime::Result<Result<host_fs::ScanResult, host_fs::FsError>> {
        let started = Instant::now();
        let outcome = self.scan_area(area);
        self.host_time += started.elapsed();
        outcome
    }

    fn remove(
        &mut self,
        area: String,
        paths: Vec<String>,
    ) -> wasmtime::Result<Vec<host_fs::Removal>> {
        let started = Instant::now();
        let outcome = self.remove_paths(area, paths);
        self.host_time += started.elapsed();
        outcome
    }
}

impl HostState {
    fn scan_area(
        &mut self,
        area: String,
    ) -> wasmtime::Result<Result<host_fs::ScanResult, host_fs::FsError>> {
        if self.cancelled() {
            return Err(Cancelled.into());
        }
        let Some(areas) = &self.capabilities.areas else {
            return Ok(Err(host_fs::FsError::UnknownArea(area)));
        };
        let scan = match areas.scan_with(&area, &self.context) {
            Ok(scan) => scan,
            Err(ScanFailure::UnknownArea(name)) => {
                return Ok(Err(host_fs::FsError::UnknownArea(name)));
            }
            Err(ScanFailure::Cancelled) => return Err(Cancelled.into()),
            Err(ScanFailure::Displaced(reason)) => return Ok(Err(host_fs::FsError::Io(reason))),
        };
        Ok(Ok(convert::scan_result(scan)))
    }

    fn remove_paths(
        &mut self,
        area: String,
        paths: Vec<String>,
    ) -> wasmtime::Result<Vec<host_fs::Removal>> {
        if self.cancelled() {
            return Err(Cancelled.into());
        }
        if paths.len() > MAX_REMOVAL_BATCH {
            self.audit.violation(format!(
                "asked to remove {} paths in one call (at most {MAX_REMOVAL_BATCH})",
                paths.len()
            ));
            wasmtime::bail!(
                "host-fs.remove called with {} paths; the limit is {MAX_REMOVAL_BATCH} per call",
                paths.len()
            );
        }
        if self.capabilities.dry_run {
            self.audit.violation(format!(
                "asked to remove {} path(s) in area `{area}` during a dry run",
                paths.len()
            ));
            let refusal = |path: String| {
                convert::removal(fs::Removal {
                    path,
                    status: fs::RemovalStatus::Refused,
                    bytes: 0,
                    reason: Some("a dry run removes nothing".to_string()),
                })
            };
            return Ok(paths.into_iter().map(refusal).collect());
        }
        let outcomes = match &self.capabilities.areas {
            Some(areas) => areas.remove_with(&area, &paths, &self.context),
            None => Areas::none().remove(&area, &paths),
        };
        for removal in &outcomes {
            match removal.status {
                fs::RemovalStatus::OutOfBounds => self.audit.violation(format!(
                    "asked to remove `{}` in area `{area}`, which is outside the area ({})",
                    removal.path,
                    removal.reason.as_deref().unwrap_or("refused")
                )),
                fs::RemovalStatus::Removed => {
                    self.audit
                        .removed
                        .entry(area.clone())
                        .or_default()
                        .insert(removal.path.clone(), removal.bytes);
                }
                _ => {}
            }
        }
        if outcomes
            .iter()
            .any(|removal| removal.status == fs::RemovalStatus::Cancelled)
        {
            return Err(Cancelled.into());
        }
        Ok(outcomes.into_iter().map(convert::removal).collect())
    }
}
