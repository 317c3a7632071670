//! `host-fs`: streaming scans and removal batches in the managed areas, audited. A call is
//! stopped (and the violation reported) when the policy asks to remove outside an area, sends
//! more than [`MAX_REMOVAL_BATCH`] paths at once, opens more than [`MAX_SCANS_PER_AREA`]
//! scans of one area or asks for a page after the end of a scan; a cancelled call stops at
//! its next scan, page or removal batch (between two removals). In a dry run the host checks
//! and answers each path and removes nothing.

use std::sync::Arc;
use std::time::Instant;

use wasmtime::component::Resource;

use super::super::bindings::bachata::common::host_fs;
use super::super::convert;
use super::super::state::{Cancelled, HostState, MAX_PAGE, MAX_REMOVAL_BATCH, MAX_SCANS_PER_AREA};
use crate::capabilities::fs::{self, Areas, ScanFailure, Walker, locked_files};

impl host_fs::Host for HostState {
    fn areas(&mut self) -> Vec<String> {
        self.capabilities
            .areas
            .as_ref()
            .map(|areas| areas.names())
            .unwrap_or_default()
    }

    fn open_scan(
        &mut self,
        area: String,
    ) -> wasmtime::Result<Result<Resource<Walker>, host_fs::FsError>> {
        let started = Instant::now();
        let outcome = self.open_walk(area);
        self.host_time += started.elapsed();
        outcome
    }

    fn remove(
        &mut self,
        area: String,
        reason: host_fs::RemovalReason,
        paths: String,
    ) -> wasmtime::Result<String> {
        let started = Instant::now();
        let outcome = self.remove_paths(area, reason, &paths);
        self.host_time += started.elapsed();
        outcome
    }
}

impl host_fs::HostScan for HostState {
    fn next(&mut self, scan: Resource<Walker>, max: u32) -> wasmtime::Result<host_fs::Page> {
        let started = Instant::now();
        let outcome = self.next_page(&scan, max);
        self.host_time += started.elapsed();
        outcome
    }

    fn drop(&mut self, scan: Resource<Walker>) -> wasmtime::Result<()> {
        self.table().delete(scan)?;
        Ok(())
    }
}

impl HostState {
    fn open_walk(
        &mut self,
        area: String,
    ) -> wasmtime::Result<Result<Resource<Walker>, host_fs::FsError>> {
        if self.cancelled() {
            return Err(Cancelled.into());
        }
        let Some(areas) = self.capabilities.areas.clone() else {
            return Ok(Err(host_fs::FsError::UnknownArea(area)));
        };
        let opened = self.audit.scans_opened.entry(area.clone()).or_default();
        *opened += 1;
        if *opened > MAX_SCANS_PER_AREA {
            self.audit.violation(format!(
                "opened more than {MAX_SCANS_PER_AREA} scans of area `{area}` in one call"
            ));
            wasmtime::bail!(
                "host-fs.open-scan: more than {MAX_SCANS_PER_AREA} scans of area `{area}` in one call"
            );
        }
        let walker = match areas.walk(&area, Arc::new(locked_files()), &self.context) {
            Ok(walker) => walker,
            Err(ScanFailure::UnknownArea(name)) => {
                return Ok(Err(host_fs::FsError::UnknownArea(name)));
            }
            Err(ScanFailure::Cancelled) => return Err(Cancelled.into()),
            Err(ScanFailure::Displaced(reason)) => return Ok(Err(host_fs::FsError::Io(reason))),
        };
        Ok(Ok(self.table().push(walker)?))
    }

    fn next_page(&mut self, scan: &Resource<Walker>, max: u32) -> wasmtime::Result<host_fs::Page> {
        if self.cancelled() {
            return Err(Cancelled.into());
        }
        let walker = self.table().get_mut(scan)?;
        if walker.end_reported() {
            self.audit
                .violation("asked for a page after the end of a scan".to_string());
            wasmtime::bail!("host-fs: scan.next called after the scan ended");
        }
        let (entries, problems) = walker.page(max.clamp(1, MAX_PAGE) as usize);
        let cancelled = walker.was_cancelled();
        let done = walker.is_done();
        if done {
            walker.report_end();
        }
        if cancelled {
            return Err(Cancelled.into());
        }
        if let Some(progress) = &self.capabilities.progress {
            progress.scanned(entries.len() as u64);
        }
        Ok(convert::page(entries, problems, done))
    }

    fn remove_paths(
        &mut self,
        area: String,
        reason: host_fs::RemovalReason,
        packed: &str,
    ) -> wasmtime::Result<String> {
        if self.cancelled() {
            return Err(Cancelled.into());
        }
        let Some(paths) = convert::paths(packed) else {
            self.audit
                .violation("sent removal paths not in the packed form".to_string());
            wasmtime::bail!("host-fs.remove: the last path is not followed by a NUL");
        };
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
        let outcomes = match &self.capabilities.areas {
            Some(areas) => areas.remove_with(&area, &paths, &self.context),
            None => Areas::none().remove(&area, &paths),
        };
        let reason = convert::reason_name(reason);
        for removal in &outcomes {
            if removal.status == fs::RemovalStatus::OutOfBounds {
                self.audit.violation(format!(
                    "asked to remove `{}` in area `{area}`, which is outside the area ({})",
                    removal.path,
                    removal.reason.as_deref().unwrap_or("refused")
                ));
            }
        }
        // Audit, log and progress once per batch: removed entries as (path, bytes).
        let removed: Vec<(&str, u64)> = outcomes
            .iter()
            .filter(|removal| removal.status == fs::RemovalStatus::Removed)
            .map(|removal| (removal.path.as_str(), removal.bytes))
            .collect();
        self.audit.removed.record(&area, reason, &removed);
        if let Some(log) = &self.capabilities.removals_log {
            log.write(&area, reason, self.capabilities.dry_run, &removed);
        }
        if let Some(progress) = &self.capabilities.progress {
            progress.removed(&removed);
        }
        if outcomes
            .iter()
            .any(|removal| removal.status == fs::RemovalStatus::Cancelled)
        {
            return Err(Cancelled.into());
        }
        Ok(convert::removals(&outcomes))
    }
}
