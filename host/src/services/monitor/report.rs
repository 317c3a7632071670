//! The metrics and the report: what the store counted, computed by the policy, in the shape
//! clients read (the original `PerformanceMetrics` and `generate_performance_report` names).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::{TOP_MOVES, policy_error, ranking};
use crate::capabilities::store::StoreError;
use crate::capabilities::store::events;
use crate::capabilities::store::queries::{self, Window};
use crate::capabilities::store::sql::Tx;
use crate::runtime::Policy;
use crate::types::experiments::ReportedExperiment;
use crate::types::metrics::{DayMetrics, Operational, Percentiles, RankingMetrics, Share};

/// The UTC days a window covers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Period {
    /// First day, `YYYY-MM-DD`.
    pub start: String,
    /// Last day (today), `YYYY-MM-DD`.
    pub end: String,
    /// Days.
    pub days: u32,
    #[serde(skip)]
    from: i64,
    #[serde(skip)]
    to: i64,
}

impl Period {
    /// The `days` days ending on `now`'s UTC day.
    pub fn new(days: u32, now: DateTime<Utc>) -> Self {
        let to = events::day_of(now.timestamp_millis());
        let from = to - i64::from(days) + 1;
        Self {
            start: queries::day_name(from),
            end: queries::day_name(to),
            days,
            from,
            to,
        }
    }

    fn window<'a>(&self, version: Option<&'a str>) -> Window<'a> {
        Window {
            from: self.from,
            to: self.to,
            version,
        }
    }
}

/// The metrics of a window: operational figures, satisfaction and ranking quality.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PerformanceMetrics {
    /// The window.
    pub period: Period,
    /// The algorithm version these metrics are for (`None`: every version).
    pub algorithm_version: Option<String>,
    /// Decisions.
    pub total_recommendations: u64,
    /// Mean processing time, in milliseconds.
    pub avg_processing_time_ms: f64,
    /// Processing-time percentiles, in milliseconds.
    pub processing_time_ms: Percentiles,
    /// Mean recommendation score.
    pub avg_recommendation_score: f64,
    /// User satisfaction in [0, 1].
    pub user_satisfaction_score: f64,
    /// Mean rating (1 to 5), when there are ratings.
    pub mean_rating: Option<f64>,
    /// Every move recommended: decisions that recommended it and its share of all.
    pub recommendation_distribution: Vec<Share>,
    /// Feedback events.
    pub feedback_count: u64,
    /// Feedback per type: events and events per decision.
    pub feedback: Vec<Share>,
    /// Ranking quality from feedback.
    pub ranking: RankingMetrics,
    /// Share of judged decisions whose first move was relevant.
    pub accuracy: f64,
    /// precision@k.
    pub precision: f64,
    /// recall@k.
    pub recall: f64,
    /// F1@k.
    pub f1_score: f64,
    /// The same metrics per algorithm version (only when `algorithm_version` is `None`).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub by_version: BTreeMap<String, PerformanceMetrics>,
}

impl PerformanceMetrics {
    fn new(
        period: &Period,
        version: Option<&str>,
        operational: Operational,
        ranking: RankingMetrics,
    ) -> Self {
        Self {
            period: period.clone(),
            algorithm_version: version.map(str::to_string),
            total_recommendations: operational.decisions,
            avg_processing_time_ms: operational.processing_ms_mean,
            processing_time_ms: operational.processing_ms,
            avg_recommendation_score: operational.score_mean,
            user_satisfaction_score: operational.satisfaction,
            mean_rating: operational.mean_rating,
            recommendation_distribution: operational.move_distribution,
            feedback_count: operational.feedback_count,
            feedback: operational.feedback,
            accuracy: ranking.accuracy,
            precision: ranking.precision,
            recall: ranking.recall,
            f1_score: ranking.f1,
            ranking,
            by_version: BTreeMap::new(),
        }
    }
}

/// The metrics of `period` for `version` (or every version, then each one too).
pub(super) fn metrics(
    tx: &mut dyn Tx,
    policy: &Policy,
    period: &Period,
    version: Option<&str>,
    k: u32,
) -> Result<PerformanceMetrics, StoreError> {
    Ok(metrics_with_top(tx, policy, period, version, k)?.0)
}

fn metrics_with_top(
    tx: &mut dyn Tx,
    policy: &Policy,
    period: &Period,
    version: Option<&str>,
    k: u32,
) -> Result<(PerformanceMetrics, Vec<Share>), StoreError> {
    let window = period.window(version);
    let totals = queries::window_totals(tx, &window)?;
    let operational = policy.summarize(&totals, TOP_MOVES).map_err(policy_error)?;
    let top = operational.top_moves.clone();
    let (overall_ranking, version_rankings) = ranking(tx, policy, &window, k)?;
    let mut metrics = PerformanceMetrics::new(period, version, operational, overall_ranking);
    if version.is_none() {
        for name in queries::versions(tx, &window)? {
            let window = period.window(Some(&name));
            let totals = queries::window_totals(tx, &window)?;
            let operational = policy.summarize(&totals, TOP_MOVES).map_err(policy_error)?;
            let ranking = match version_rankings.iter().find(|(v, _)| *v == name) {
                Some((_, ranking)) => *ranking,
                None => policy
                    .ranking(k, Default::default())
                    .map_err(policy_error)?,
            };
            let entry = PerformanceMetrics::new(period, Some(&name), operational, ranking);
            metrics.by_version.insert(name, entry);
        }
    }
    Ok((metrics, top))
}

/// Feedback over the window: totals per type, and per day.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FeedbackTrends {
    /// Per type over the window (rate: events per decision).
    pub totals: Vec<Share>,
    /// Per day: the count of each type.
    pub daily: Vec<DayFeedback>,
}

/// One day's feedback counts.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DayFeedback {
    /// `YYYY-MM-DD`.
    pub date: String,
    /// Events per type.
    pub counts: BTreeMap<String, u64>,
    /// User satisfaction that day.
    pub satisfaction: f64,
}

/// The performance report of a window.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    /// The window.
    pub report_period: Period,
    /// When it was made (RFC 3339).
    pub generated_at: String,
    /// The metrics of the whole window (and per version).
    pub overall_metrics: PerformanceMetrics,
    /// One entry per day of the window, quiet days included.
    pub daily_metrics: Vec<DayMetrics>,
    /// The most recommended moves (at most 10).
    pub top_recommended_moves: Vec<Share>,
    /// Feedback per type, overall and per day.
    pub feedback_trends: FeedbackTrends,
    /// The analysis of each experiment running in the period, or why it could not be
    /// computed (see `Experiments::report`; empty from [`super::Monitor::report`]).
    pub experiments: Vec<ReportedExperiment>,
    /// Running experiments left out of `experiments` (a report analyzes at most
    /// `experiments::MAX_REPORTED`, the most recently started).
    pub experiments_omitted: u64,
}

/// The report of `period`.
pub(super) fn report(
    tx: &mut dyn Tx,
    policy: &Policy,
    period: &Period,
    now: DateTime<Utc>,
) -> Result<Report, StoreError> {
    let (overall_metrics, top_recommended_moves) =
        metrics_with_top(tx, policy, period, None, super::DEFAULT_K)?;
    let days = queries::daily_totals(tx, &period.window(None))?;
    let daily_metrics = policy.daily(&days).map_err(policy_error)?;
    let daily = daily_metrics
        .iter()
        .map(|day| DayFeedback {
            date: day.day.clone(),
            counts: day
                .feedback
                .iter()
                .map(|share| (share.name.clone(), share.count))
                .collect(),
            satisfaction: day.satisfaction,
        })
        .collect();
    Ok(Report {
        report_period: period.clone(),
        generated_at: now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        feedback_trends: FeedbackTrends {
            totals: overall_metrics.feedback.clone(),
            daily,
        },
        overall_metrics,
        daily_metrics,
        top_recommended_moves,
        experiments: Vec::new(),
        experiments_omitted: 0,
    })
}
