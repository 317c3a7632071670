//! What the host removed during one cleanup call, kept in bounded memory (totals per area
//! and reason, the first few removals), and the check that a policy's report agrees with it.

use std::collections::{HashMap, HashSet};

use super::cleanup::{CleanupReport, PhaseReport};

/// Entries and bytes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Totals {
    /// Entries removed (files, links, other entries and directories).
    pub entries: u64,
    /// Bytes freed.
    pub bytes: u64,
}

/// What the host removed during one call (in a dry run: answered it would remove).
#[derive(Debug, Default)]
pub struct Removed {
    /// Per area and reason (`age`, `cache-cap`).
    totals: HashMap<(String, String), Totals>,
    /// The first `limit` removals: area and path to bytes and reason.
    first: HashMap<(String, String), (u64, String)>,
    limit: usize,
}

impl Removed {
    /// Nothing removed yet; the first `limit` removals are kept by path.
    pub fn new(limit: usize) -> Self {
        Self {
            limit,
            ..Self::default()
        }
    }

    /// Records one batch of removals in `area` for `reason`: paths and bytes freed.
    pub fn record(&mut self, area: &str, reason: &str, removed: &[(&str, u64)]) {
        if removed.is_empty() {
            return;
        }
        let totals = self
            .totals
            .entry((area.to_string(), reason.to_string()))
            .or_default();
        for &(path, bytes) in removed {
            totals.entries = totals.entries.saturating_add(1);
            totals.bytes = totals.bytes.saturating_add(bytes);
            if self.first.len() < self.limit {
                self.first.insert(
                    (area.to_string(), path.to_string()),
                    (bytes, reason.to_string()),
                );
            }
        }
    }

    /// Entries removed in all.
    pub fn entries(&self) -> u64 {
        self.totals
            .values()
            .fold(0, |sum, totals| sum.saturating_add(totals.entries))
    }

    /// Bytes freed in all.
    pub fn bytes(&self) -> u64 {
        self.totals
            .values()
            .fold(0, |sum, totals| sum.saturating_add(totals.bytes))
    }

    fn totals(&self, area: &str, reason: &str) -> Totals {
        self.totals
            .get(&(area.to_string(), reason.to_string()))
            .copied()
            .unwrap_or_default()
    }
}

fn phase_totals(phase: &PhaseReport) -> Option<Totals> {
    Some(Totals {
        entries: phase.files_removed.checked_add(phase.directories_removed)?,
        bytes: phase.bytes_freed,
    })
}

fn add(sum: &mut PhaseReport, phase: &PhaseReport) -> Option<()> {
    sum.files_removed = sum.files_removed.checked_add(phase.files_removed)?;
    sum.directories_removed = sum
        .directories_removed
        .checked_add(phase.directories_removed)?;
    sum.bytes_freed = sum.bytes_freed.checked_add(phase.bytes_freed)?;
    Some(())
}

impl CleanupReport {
    /// Checks that the report is one a policy could honestly give: it says whether it was a
    /// dry run as asked; each area's totals per phase are those of the removals the host made
    /// (or, in a dry run, answered it would make) there for that reason, and every area where
    /// the host removed something is listed, once; the phase totals are the sums over the
    /// areas; at most `max_samples` removals and problems are listed, none twice, and each
    /// removal listed is among the first `max_samples` the host made, with its bytes and
    /// reason.
    pub fn check(
        &self,
        dry_run: bool,
        max_samples: usize,
        removed: &Removed,
    ) -> Result<(), String> {
        if self.dry_run != dry_run {
            return Err(format!(
                "the report says dry_run={} for a call with dry_run={dry_run}",
                self.dry_run
            ));
        }
        self.check_samples(max_samples, removed)?;
        self.check_areas(removed)
    }

    fn check_areas(&self, removed: &Removed) -> Result<(), String> {
        let mut listed = HashSet::new();
        let (mut age, mut cap) = (PhaseReport::default(), PhaseReport::default());
        let overflow = || "the totals add up to more than 2^64".to_string();
        for area in &self.areas {
            if !listed.insert(area.area.as_str()) {
                return Err(format!("area `{}` is listed twice", area.area));
            }
            for (phase, reason) in [
                (&area.temporary_files, "age"),
                (&area.cache_cleanup, "cache-cap"),
            ] {
                let claimed = phase_totals(phase).ok_or_else(overflow)?;
                let made = removed.totals(&area.area, reason);
                if claimed != made {
                    return Err(format!(
                        "area `{}` reports {} removal(s) of {} bytes for `{reason}`; the host made \
                         {} of {} bytes",
                        area.area, claimed.entries, claimed.bytes, made.entries, made.bytes
                    ));
                }
            }
            add(&mut age, &area.temporary_files).ok_or_else(overflow)?;
            add(&mut cap, &area.cache_cleanup).ok_or_else(overflow)?;
        }
        if let Some(((area, reason), _)) = removed
            .totals
            .iter()
            .find(|((area, _), totals)| totals.entries > 0 && !listed.contains(area.as_str()))
        {
            return Err(format!(
                "the host removed entries in area `{area}` for `{reason}`, which the report does \
                 not list"
            ));
        }
        if age != self.temporary_files || cap != self.cache_cleanup {
            return Err("the phase totals are not the sums over the areas".to_string());
        }
        Ok(())
    }

    fn check_samples(&self, max_samples: usize, removed: &Removed) -> Result<(), String> {
        if self.removals.len() > max_samples || self.errors.len() > max_samples {
            return Err(format!(
                "{} removal(s) and {} problem(s) are listed; at most {max_samples} of each were asked for",
                self.removals.len(),
                self.errors.len()
            ));
        }
        if self.error_count < self.errors.len() as u64 {
            return Err(format!(
                "{} problem(s) are listed but the count says {}",
                self.errors.len(),
                self.error_count
            ));
        }
        let mut seen = HashSet::with_capacity(self.removals.len());
        for removal in &self.removals {
            let key = (removal.area.clone(), removal.path.clone());
            if !seen.insert((removal.area.as_str(), removal.path.as_str())) {
                return Err(format!(
                    "`{}` in area `{}` is listed twice",
                    removal.path, removal.area
                ));
            }
            match removed.first.get(&key) {
                None => {
                    return Err(format!(
                        "`{}` in area `{}` is listed as removed, but it is not among the first \
                         {max_samples} removals the host made",
                        removal.path, removal.area
                    ));
                }
                Some((bytes, reason)) if *bytes != removal.bytes || *reason != removal.reason => {
                    return Err(format!(
                        "`{}` in area `{}` is listed with {} bytes for `{}`; the host freed \
                         {bytes} for `{reason}`",
                        removal.path, removal.area, removal.bytes, removal.reason
                    ));
                }
                Some(_) => {}
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::cleanup::{AreaReport, PlannedRemoval};

    fn removal(area: &str, path: &str, bytes: u64) -> PlannedRemoval {
        PlannedRemoval {
            area: area.to_string(),
            path: path.to_string(),
            bytes,
            reason: "age".to_string(),
        }
    }

    fn phase(files: u64, bytes: u64) -> PhaseReport {
        PhaseReport {
            files_removed: files,
            bytes_freed: bytes,
            directories_removed: 0,
        }
    }

    /// A report of age removals in `temp`, listing `samples`.
    fn report(files: u64, bytes: u64, samples: Vec<PlannedRemoval>) -> CleanupReport {
        CleanupReport {
            temporary_files: phase(files, bytes),
            areas: vec![AreaReport {
                area: "temp".to_string(),
                entries_scanned: files,
                temporary_files: phase(files, bytes),
                cache_cleanup: PhaseReport::default(),
            }],
            directories_processed: 1,
            removals: samples,
            ..CleanupReport::default()
        }
    }

    fn done(pairs: &[(&str, u64)], limit: usize) -> Removed {
        let mut removed = Removed::new(limit);
        removed.record("temp", "age", pairs);
        removed
    }

    #[test]
    fn an_honest_report_passes_with_samples_of_the_first_removals() {
        let removed = done(&[("a", 3), ("b", 4), ("c", 5)], 2);
        let honest = report(
            3,
            12,
            vec![removal("temp", "a", 3), removal("temp", "b", 4)],
        );
        assert_eq!(honest.check(false, 2, &removed), Ok(()));
        assert_eq!((removed.entries(), removed.bytes()), (3, 12));
    }

    #[test]
    fn impossible_reports_are_named() {
        let removed = done(&[("a", 3), ("b", 4), ("c", 5)], 2);
        let cases = [
            (report(3, 12, vec![]), true, "dry_run=false"),
            (
                report(
                    3,
                    12,
                    vec![removal("temp", "a", 3), removal("temp", "a", 3)],
                ),
                false,
                "listed twice",
            ),
            (
                report(3, 12, vec![removal("temp", "c", 5)]),
                false,
                "not among the first 2",
            ),
            (
                report(3, 12, vec![removal("temp", "a", 9)]),
                false,
                "the host freed 3",
            ),
            (report(2, 12, vec![]), false, "reports 2 removal(s)"),
            (report(3, 99, vec![]), false, "of 99 bytes"),
            (
                report(
                    3,
                    12,
                    vec![
                        removal("temp", "a", 3),
                        removal("temp", "b", 4),
                        removal("temp", "c", 5),
                    ],
                ),
                false,
                "at most 2",
            ),
        ];
        for (bad, dry_run, needle) in cases {
            let reason = bad.check(dry_run, 2, &removed).expect_err(needle);
            assert!(reason.contains(needle), "{needle}: {reason}");
        }
        let mut unlisted = report(0, 0, vec![]);
        unlisted.areas.clear();
        unlisted.temporary_files = PhaseReport::default();
        let reason = unlisted.check(false, 2, &removed).expect_err("unlisted");
        assert!(reason.contains("does not list"), "{reason}");
        let mut inflated = report(3, 12, vec![]);
        inflated.temporary_files.bytes_freed = 13;
        let reason = inflated.check(false, 2, &removed).expect_err("sums");
        assert!(reason.contains("sums over the areas"), "{reason}");
        let mut miscounted = report(3, 12, vec![]);
        miscounted.errors = vec![Default::default()];
        let reason = miscounted.check(false, 2, &removed).expect_err("count");
        assert!(reason.contains("count says 0"), "{reason}");
    }
}
