//! The performance monitor: recommendation decisions and user feedback stored durably (SQLite,
//! or PostgreSQL for a fleet), and the quality metrics the policy computes from them.
//!
//! ```no_run
//! # fn main() -> Result<(), bachata_common::Error> {
//! use bachata_common::monitor::{DecisionInput, FeedbackInput, MetricsQuery, Monitor};
//! use bachata_common::config::{Database, MonitorSettings};
//! use bachata_common::Policy;
//!
//! let policy = Policy::embedded()?;
//! let monitor = Monitor::open(&MonitorSettings {
//!     database: Database::new("data/monitor.sqlite3"),
//!     retention_days: 90,
//! })?;
//! let decision = monitor.log_decision(&policy, DecisionInput {
//!     input_song: "Obsesión".into(),
//!     recommended_moves: vec!["basic".into(), "cross_body_lead".into()],
//!     recommendation_scores: vec![0.92, 0.81],
//!     processing_time_ms: 38.0,
//!     ..Default::default()
//! })?;
//! monitor.log_feedback(&policy, FeedbackInput {
//!     decision_id: decision.id.clone(),
//!     feedback_type: "like".into(),
//!     ..Default::default()
//! })?;
//! let metrics = monitor.metrics(&policy, &MetricsQuery::default())?;
//! println!("satisfaction {}", metrics.user_satisfaction_score);
//! # Ok(()) }
//! ```

mod html;
mod import;
mod logging;
mod report;
mod slot;

use std::sync::{Mutex, PoisonError};

use chrono::{DateTime, Utc};

pub use self::import::{Imported, MAX_LINE_BYTES, Spool};
pub use self::logging::{Event, Stored};
pub use self::report::{FeedbackTrends, PerformanceMetrics, Period, Report};
pub use self::slot::{MonitorSlot, RETRY_AFTER_DETAIL};
use crate::capabilities::store::events;
use crate::capabilities::store::queries::{self, Window};
use crate::capabilities::store::retention::{self, Pruned};
use crate::capabilities::store::sql::Tx;
use crate::capabilities::store::{Store, StoreError};
use crate::runtime::Policy;
use crate::types::config::MonitorSettings;
use crate::types::error::Error;
use crate::types::metrics::{RankingMetrics, RankingTotals};
use crate::types::monitor::invalid;

/// The most events one batch may hold.
pub const MAX_BATCH: usize = 1_000;
/// The longest window, in days.
pub const MAX_DAYS: u32 = 3_650;
/// The default ranking cut-off.
pub const DEFAULT_K: u32 = 5;
/// Judged decisions handed to the policy per call.
const RANKING_PAGE: usize = 4_096;
/// Top moves in a report.
pub const TOP_MOVES: u32 = 10;

/// What [`Monitor::metrics`] computes: the last `days` UTC days (today included), one
/// algorithm version or all, ranking at cut-off `k`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetricsQuery {
    /// Days in the window, 1 to [`MAX_DAYS`].
    pub days: u32,
    /// Only this algorithm version.
    pub version: Option<String>,
    /// The ranking cut-off (at least 1).
    pub k: u32,
}

impl Default for MetricsQuery {
    fn default() -> Self {
        Self {
            days: 7,
            version: None,
            k: DEFAULT_K,
        }
    }
}

/// The event store and what is computed from it. Writes and reads use a connection each, so
/// a long report does not hold up the events arriving meanwhile.
pub struct Monitor {
    writer: Mutex<Store>,
    reader: Mutex<Store>,
    retention_days: u32,
    engine: &'static str,
    shown: String,
}

impl std::fmt::Debug for Monitor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Monitor")
            .field("database", &self.shown)
            .field("retention_days", &self.retention_days)
            .finish_non_exhaustive()
    }
}

/// A store failure as the library's error: the caller's fault, or the database unavailable
/// (with when to ask again).
fn store_error(error: StoreError) -> Error {
    match error {
        StoreError::Invalid(error) => Error::App(error),
        StoreError::Conflict(error) => Error::Conflict(error),
        // Worded by the policy where events are written (`logging::worded`); this is the
        // fallback of a path that did not.
        StoreError::Refused { refusal, index } => Error::App(invalid(
            "event",
            index.map(|index| index.to_string()),
            format!("the store refused the event: {refusal:?}"),
        )),
        StoreError::NotFound(error) => Error::NotFound(error),
        StoreError::Aborted(error) => *error,
        StoreError::Database(reason) => slot::unavailable(
            format!("the monitor database failed: {reason}"),
            slot::RETRY_AFTER_FAILURE,
        ),
        StoreError::Unavailable {
            reason,
            retry_after,
        } => slot::unavailable(
            format!("the monitor database is unavailable: {reason}"),
            retry_after,
        ),
    }
}

/// The day number (UTC) of `time`.
fn day_of(time: DateTime<Utc>) -> i64 {
    events::day_of(time.timestamp_millis())
}

impl Monitor {
    /// Opens the store `settings` names (SQLite file or PostgreSQL URL), creating or migrating
    /// its schema.
    pub fn open(settings: &MonitorSettings) -> Result<Self, Error> {
        let writer = Store::open(&settings.database).map_err(store_error)?;
        let reader = Store::open(&settings.database).map_err(store_error)?;
        tracing::debug!(database = %settings.database, engine = writer.engine(), "monitor store opened");
        Ok(Self {
            engine: writer.engine(),
            shown: writer.shown().to_string(),
            writer: Mutex::new(writer),
            reader: Mutex::new(reader),
            retention_days: settings.retention_days,
        })
    }

    /// `sqlite` or `postgres`.
    pub fn engine(&self) -> &'static str {
        self.engine
    }

    /// The database, its password masked.
    pub fn database(&self) -> &str {
        &self.shown
    }

    /// Days events are kept.
    pub fn retention_days(&self) -> u32 {
        self.retention_days
    }

    /// Runs `body` in a write transaction of the event store, for what is stored beside the
    /// events (experiments).
    pub(crate) fn write<R>(
        &self,
        body: impl FnMut(&mut dyn Tx) -> Result<R, StoreError>,
    ) -> Result<R, Error> {
        let mut store = self.writer.lock().unwrap_or_else(PoisonError::into_inner);
        store.write(body).map_err(store_error)
    }

    /// Runs `body` in a read transaction of the event store (one snapshot).
    pub(crate) fn read<R>(
        &self,
        body: impl FnOnce(&mut dyn Tx) -> Result<R, StoreError>,
    ) -> Result<R, Error> {
        let mut store = self.reader.lock().unwrap_or_else(PoisonError::into_inner);
        store.read(body).map_err(store_error)
    }

    /// Removes events older than the retention (whole UTC days before `now − retention + 1`).
    pub fn prune(&self, now: DateTime<Utc>) -> Result<Pruned, Error> {
        let first_kept = day_of(now) - i64::from(self.retention_days) + 1;
        let mut store = self.writer.lock().unwrap_or_else(PoisonError::into_inner);
        let pruned = store
            .write(|tx| retention::prune(tx, first_kept))
            .map_err(store_error)?;
        tracing::info!(
            decisions = pruned.decisions,
            feedback = pruned.feedback,
            exposures = pruned.exposures,
            retention_days = self.retention_days,
            "monitor events pruned"
        );
        Ok(pruned)
    }

    /// The metrics of the window `query` names, as of now.
    pub fn metrics(
        &self,
        policy: &Policy,
        query: &MetricsQuery,
    ) -> Result<PerformanceMetrics, Error> {
        self.metrics_at(policy, query, Utc::now())
    }

    /// The metrics of the window `query` names, ending on `now`'s UTC day.
    pub fn metrics_at(
        &self,
        policy: &Policy,
        query: &MetricsQuery,
        now: DateTime<Utc>,
    ) -> Result<PerformanceMetrics, Error> {
        let period = Period::new(check_days(query.days)?, now);
        let mut store = self.reader.lock().unwrap_or_else(PoisonError::into_inner);
        store
            .read(|tx| {
                report::metrics(
                    tx,
                    policy,
                    &period,
                    query.version.as_deref(),
                    query.k.max(1),
                )
            })
            .map_err(store_error)
    }

    /// The report of the last `days` days, as of now.
    pub fn report(&self, policy: &Policy, days: u32) -> Result<Report, Error> {
        self.report_at(policy, days, Utc::now())
    }

    /// The report of the `days` days ending on `now`'s UTC day.
    pub fn report_at(
        &self,
        policy: &Policy,
        days: u32,
        now: DateTime<Utc>,
    ) -> Result<Report, Error> {
        let period = Period::new(check_days(days)?, now);
        let mut store = self.reader.lock().unwrap_or_else(PoisonError::into_inner);
        store
            .read(|tx| report::report(tx, policy, &period, now))
            .map_err(store_error)
    }
}

/// The ranking metrics of a window, for every version and for each: its judged decisions
/// streamed page by page through the policy into each version's sums, which the policy then
/// combines.
pub(crate) fn ranking(
    tx: &mut dyn crate::capabilities::store::sql::Tx,
    policy: &Policy,
    window: &Window<'_>,
    k: u32,
) -> Result<(RankingMetrics, Vec<(String, RankingMetrics)>), StoreError> {
    let mut versions: std::collections::BTreeMap<String, RankingTotals> = Default::default();
    queries::judged_decisions(tx, window, RANKING_PAGE, &mut |version, page| {
        let totals = versions.entry(version.to_string()).or_default();
        *totals = policy.rank(k, *totals, page).map_err(policy_error)?;
        Ok(())
    })?;
    let mut overall = RankingTotals::default();
    for totals in versions.values() {
        overall = policy.combine(overall, *totals).map_err(policy_error)?;
    }
    let overall = policy.ranking(k, overall).map_err(policy_error)?;
    let versions = versions
        .into_iter()
        .map(|(name, totals)| Ok((name, policy.ranking(k, totals).map_err(policy_error)?)))
        .collect::<Result<Vec<_>, StoreError>>()?;
    Ok((overall, versions))
}

/// A failed policy call inside a store transaction.
pub(crate) fn policy_error(error: Error) -> StoreError {
    StoreError::Aborted(Box::new(error))
}

fn check_days(days: u32) -> Result<u32, Error> {
    if (1..=MAX_DAYS).contains(&days) {
        Ok(days)
    } else {
        Err(invalid(
            "days",
            Some(days.to_string()),
            format!("days must be from 1 to {MAX_DAYS}, not {days}"),
        )
        .into())
    }
}
