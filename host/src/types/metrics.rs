//! The monitor's metrics as plain data: the totals the host counts in its store and hands to
//! the policy (`wit/monitor.wit`), and the metrics the policy computes from them.

use serde::Serialize;

/// Processing times in one histogram bucket.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct LatencyBucket {
    /// Decisions in it.
    pub count: u64,
    /// Its smallest time, in milliseconds.
    pub min_ms: f64,
    /// Its largest time, in milliseconds.
    pub max_ms: f64,
}

/// Counts of the decisions of a window.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct DecisionTotals {
    /// Decisions.
    pub decisions: u64,
    /// Sum of processing times, in milliseconds.
    pub processing_ms_sum: f64,
    /// Decisions with scores.
    pub scored: u64,
    /// Sum of their mean scores.
    pub score_sum: f64,
    /// Processing times, bucketed, ascending.
    pub latency: Vec<LatencyBucket>,
}

/// Counts of one feedback type.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct FeedbackTotals {
    /// The type.
    pub feedback_type: String,
    /// Events.
    pub count: u64,
    /// Events with a value.
    pub valued: u64,
    /// Sum of the values.
    pub value_sum: f64,
}

/// How often a move was recommended.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct MoveTotals {
    /// The move.
    pub move_id: String,
    /// Decisions that recommended it.
    pub recommended: u64,
    /// Decisions that recommended it first.
    pub first: u64,
}

/// Everything counted for a window.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct WindowTotals {
    /// The decisions.
    pub decisions: DecisionTotals,
    /// Feedback per type.
    pub feedback: Vec<FeedbackTotals>,
    /// Moves.
    pub moves: Vec<MoveTotals>,
}

/// Everything counted for one day.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct DayTotals {
    /// `YYYY-MM-DD`.
    pub day: String,
    /// The decisions.
    pub decisions: DecisionTotals,
    /// Feedback per type.
    pub feedback: Vec<FeedbackTotals>,
}

/// One piece of feedback on a decision.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Judgment {
    /// 1-based rank of its move; 0 when it names none.
    pub rank: u32,
    /// Its type.
    pub feedback_type: String,
    /// Its value.
    pub value: Option<f64>,
}

/// A decision and its feedback, oldest first.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct JudgedDecision {
    /// Moves it recommended.
    pub moves: u32,
    /// Its feedback.
    pub judgments: Vec<Judgment>,
}

/// Running sums of the ranking metrics (the policy's to fill).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct RankingTotals {
    /// Judged decisions.
    pub judged: u64,
    /// Judged decisions with a relevant move.
    pub with_relevant: u64,
    /// Sum of precision@k.
    pub precision_sum: f64,
    /// Sum of recall@k.
    pub recall_sum: f64,
    /// Decisions with a hit in the top k.
    pub hits: u64,
    /// Sum of reciprocal ranks.
    pub reciprocal_rank_sum: f64,
    /// Sum of NDCG@k.
    pub ndcg_sum: f64,
    /// Decisions whose first move is relevant.
    pub first_relevant: u64,
}

/// A count and its share.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Share {
    /// What is counted.
    pub name: String,
    /// How many.
    pub count: u64,
    /// Its share of the whole.
    pub rate: f64,
}

/// Processing-time percentiles, in milliseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Percentiles {
    /// Median.
    pub p50: f64,
    /// 95th percentile.
    pub p95: f64,
    /// 99th percentile.
    pub p99: f64,
}

/// Operational metrics of a window.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Operational {
    /// Decisions.
    pub decisions: u64,
    /// Mean processing time.
    pub processing_ms_mean: f64,
    /// Processing-time percentiles.
    pub processing_ms: Percentiles,
    /// Mean recommendation score.
    pub score_mean: f64,
    /// Every move, most recommended first.
    pub move_distribution: Vec<Share>,
    /// The top moves.
    pub top_moves: Vec<Share>,
    /// Feedback events.
    pub feedback_count: u64,
    /// Feedback per type (rate: events per decision).
    pub feedback: Vec<Share>,
    /// User satisfaction in [0, 1].
    pub satisfaction: f64,
    /// Mean rating, when there are ratings.
    pub mean_rating: Option<f64>,
}

/// Ranking quality at a cut-off.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct RankingMetrics {
    /// The cut-off.
    pub k: u32,
    /// Judged decisions.
    pub judged_decisions: u64,
    /// Judged decisions with a relevant move.
    pub decisions_with_relevant: u64,
    /// precision@k.
    pub precision: f64,
    /// recall@k.
    pub recall: f64,
    /// F1@k.
    pub f1: f64,
    /// hit rate@k.
    pub hit_rate: f64,
    /// Mean reciprocal rank.
    pub mrr: f64,
    /// NDCG@k.
    pub ndcg: f64,
    /// Share of decisions whose first move is relevant.
    pub accuracy: f64,
}

/// The metrics of one day.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DayMetrics {
    /// `YYYY-MM-DD`.
    pub day: String,
    /// Decisions.
    pub decisions: u64,
    /// Mean processing time.
    pub processing_ms_mean: f64,
    /// Processing-time percentiles.
    pub processing_ms: Percentiles,
    /// Mean recommendation score.
    pub score_mean: f64,
    /// Feedback events.
    pub feedback_count: u64,
    /// Feedback per type.
    pub feedback: Vec<Share>,
    /// User satisfaction.
    pub satisfaction: f64,
}
