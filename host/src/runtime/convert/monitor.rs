//! The monitor's totals to the WIT records, and the metrics back.

use super::super::bindings::wit::monitor as wit;
use crate::types::metrics::{
    DayMetrics, DayTotals, DecisionTotals, FeedbackTotals, JudgedDecision, Operational,
    Percentiles, RankingMetrics, RankingTotals, Share, WindowTotals,
};

impl From<&DecisionTotals> for wit::DecisionTotals {
    fn from(totals: &DecisionTotals) -> Self {
        Self {
            decisions: totals.decisions,
            processing_ms_sum: totals.processing_ms_sum,
            scored: totals.scored,
            score_sum: totals.score_sum,
            latency: totals
                .latency
                .iter()
                .map(|bucket| wit::LatencyBucket {
                    count: bucket.count,
                    min_ms: bucket.min_ms,
                    max_ms: bucket.max_ms,
                })
                .collect(),
        }
    }
}

/// Feedback totals as WIT records.
pub(crate) fn feedback(totals: &[FeedbackTotals]) -> Vec<wit::FeedbackTotals> {
    totals
        .iter()
        .map(|totals| wit::FeedbackTotals {
            feedback_type: totals.feedback_type.clone(),
            count: totals.count,
            valued: totals.valued,
            value_sum: totals.value_sum,
        })
        .collect()
}

impl From<&WindowTotals> for wit::WindowTotals {
    fn from(window: &WindowTotals) -> Self {
        Self {
            decisions: (&window.decisions).into(),
            feedback: feedback(&window.feedback),
            moves: window
                .moves
                .iter()
                .map(|totals| wit::MoveTotals {
                    move_id: totals.move_id.clone(),
                    recommended: totals.recommended,
                    first: totals.first,
                })
                .collect(),
        }
    }
}

impl From<&DayTotals> for wit::DayTotals {
    fn from(day: &DayTotals) -> Self {
        Self {
            day: day.day.clone(),
            decisions: (&day.decisions).into(),
            feedback: feedback(&day.feedback),
        }
    }
}

/// A page of judged decisions as WIT records.
pub(crate) fn judged(page: Vec<JudgedDecision>) -> Vec<wit::JudgedDecision> {
    page.into_iter()
        .map(|decision| wit::JudgedDecision {
            moves: decision.moves,
            judgments: decision
                .judgments
                .into_iter()
                .map(|judgment| wit::Judgment {
                    rank: judgment.rank,
                    feedback_type: judgment.feedback_type,
                    value: judgment.value,
                })
                .collect(),
        })
        .collect()
}

impl From<RankingTotals> for wit::RankingTotals {
    fn from(totals: RankingTotals) -> Self {
        Self {
            judged: totals.judged,
            with_relevant: totals.with_relevant,
            precision_sum: totals.precision_sum,
            recall_sum: totals.recall_sum,
            hits: totals.hits,
            reciprocal_rank_sum: totals.reciprocal_rank_sum,
            ndcg_sum: totals.ndcg_sum,
            first_relevant: totals.first_relevant,
        }
    }
}

impl From<wit::RankingTotals> for RankingTotals {
    fn from(totals: wit::RankingTotals) -> Self {
        Self {
            judged: totals.judged,
            with_relevant: totals.with_relevant,
            precision_sum: totals.precision_sum,
            recall_sum: totals.recall_sum,
            hits: totals.hits,
            reciprocal_rank_sum: totals.reciprocal_rank_sum,
            ndcg_sum: totals.ndcg_sum,
            first_relevant: totals.first_relevant,
        }
    }
}

impl From<wit::RankingMetrics> for RankingMetrics {
    fn from(metrics: wit::RankingMetrics) -> Self {
        Self {
            k: metrics.k,
            judged_decisions: metrics.judged_decisions,
            decisions_with_relevant: metrics.decisions_with_relevant,
            precision: metrics.precision,
            recall: metrics.recall,
            f1: metrics.f1,
            hit_rate: metrics.hit_rate,
            mrr: metrics.mrr,
            ndcg: metrics.ndcg,
            accuracy: metrics.accuracy,
        }
    }
}

fn shares(shares: Vec<wit::Share>) -> Vec<Share> {
    shares
        .into_iter()
        .map(|share| Share {
            name: share.name,
            count: share.count,
            rate: share.rate,
        })
        .collect()
}

impl From<wit::Percentiles> for Percentiles {
    fn from(p: wit::Percentiles) -> Self {
        Self {
            p50: p.p50,
            p95: p.p95,
            p99: p.p99,
        }
    }
}

impl From<wit::Operational> for Operational {
    fn from(o: wit::Operational) -> Self {
        Self {
            decisions: o.decisions,
            processing_ms_mean: o.processing_ms_mean,
            processing_ms: o.processing_ms.into(),
            score_mean: o.score_mean,
            move_distribution: shares(o.move_distribution),
            top_moves: shares(o.top_moves),
            feedback_count: o.feedback_count,
            feedback: shares(o.feedback),
            satisfaction: o.satisfaction,
            mean_rating: o.mean_rating,
        }
    }
}

impl From<wit::DayMetrics> for DayMetrics {
    fn from(d: wit::DayMetrics) -> Self {
        Self {
            day: d.day,
            decisions: d.decisions,
            processing_ms_mean: d.processing_ms_mean,
            processing_ms: d.processing_ms.into(),
            score_mean: d.score_mean,
            feedback_count: d.feedback_count,
            feedback: shares(d.feedback),
            satisfaction: d.satisfaction,
        }
    }
}
