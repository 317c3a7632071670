//! The performance monitor's metrics: operational figures, user satisfaction and ranking
//! quality, from the totals the host counted in its event store. The formulas are the ones
//! documented in `wit/monitor.wit`.

mod quantile;
mod ranking;
#[cfg(test)]
mod tests;

pub use quantile::percentiles;
pub use ranking::{combine, rank, ranking, relevance};

use crate::types::{
    DayMetrics, DayTotals, DecisionTotals, FeedbackTotals, Operational, Share, WindowTotals,
};

/// The feedback types, in the order the metrics list them.
pub const FEEDBACK_TYPES: [&str; 5] = ["rating", "like", "dislike", "skip", "use"];

/// `a / b`, or 0 when `b` is 0.
pub(crate) fn ratio(a: f64, b: f64) -> f64 {
    if b == 0.0 { 0.0 } else { a / b }
}

/// The totals of one feedback type (all zeros when absent).
fn totals_of<'a>(
    feedback: &'a [FeedbackTotals],
    kind: &str,
) -> impl Iterator<Item = &'a FeedbackTotals> {
    feedback
        .iter()
        .filter(move |totals| totals.feedback_type == kind)
}

fn count_of(feedback: &[FeedbackTotals], kind: &str) -> u64 {
    totals_of(feedback, kind).map(|totals| totals.count).sum()
}

/// `monitor.satisfaction`: (like + use + Σ (rating − 1) / 4) / (like + use + dislike + skip +
/// ratings), 0 with no such feedback.
pub fn satisfaction(feedback: &[FeedbackTotals]) -> f64 {
    let positive = count_of(feedback, "like") + count_of(feedback, "use");
    let negative = count_of(feedback, "dislike") + count_of(feedback, "skip");
    let (ratings, rating_sum) = totals_of(feedback, "rating")
        .fold((0u64, 0.0), |(n, sum), totals| {
            (n + totals.valued, sum + totals.value_sum)
        });
    // Σ (r − 1) / 4 = (Σ r − ratings) / 4.
    let rated = (rating_sum - ratings as f64) / 4.0;
    let score = ratio(
        positive as f64 + rated,
        (positive + negative + ratings) as f64,
    );
    score.clamp(0.0, 1.0)
}

/// Per feedback type: its count and its rate per decision, the five known types first.
fn feedback_shares(feedback: &[FeedbackTotals], decisions: u64) -> Vec<Share> {
    let mut names: Vec<&str> = FEEDBACK_TYPES.to_vec();
    for totals in feedback {
        if !names.contains(&totals.feedback_type.as_str()) {
            names.push(&totals.feedback_type);
        }
    }
    names
        .into_iter()
        .map(|name| {
            let count = count_of(feedback, name);
            Share {
                name: name.to_string(),
                count,
                rate: ratio(count as f64, decisions as f64),
            }
        })
        .collect()
}

/// Mean processing time and mean score of a window's decisions.
fn means(decisions: &DecisionTotals) -> (f64, f64) {
    (
        ratio(decisions.processing_ms_sum, decisions.decisions as f64),
        ratio(decisions.score_sum, decisions.scored as f64),
    )
}

/// `monitor.summarize`: the operational metrics of a window.
pub fn summarize(window: &WindowTotals, top: u32) -> Operational {
    let decisions = &window.decisions;
    let (processing_ms_mean, score_mean) = means(decisions);
    let mut moves: Vec<(&str, u64)> = window
        .moves
        .iter()
        .map(|totals| (totals.move_id.as_str(), totals.recommended))
        .collect();
    moves.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(b.0)));
    let recommendations: u64 = moves.iter().map(|(_, count)| count).sum();
    let move_distribution: Vec<Share> = moves
        .into_iter()
        .map(|(name, count)| Share {
            name: name.to_string(),
            count,
            rate: ratio(count as f64, recommendations as f64),
        })
        .collect();
    let top_moves = move_distribution
        .iter()
        .take(top as usize)
        .cloned()
        .collect();
    let ratings = totals_of(&window.feedback, "rating").fold((0u64, 0.0), |(n, sum), totals| {
        (n + totals.valued, sum + totals.value_sum)
    });
    Operational {
        decisions: decisions.decisions,
        processing_ms_mean,
        processing_ms: percentiles(&decisions.latency),
        score_mean,
        move_distribution,
        top_moves,
        feedback_count: window.feedback.iter().map(|totals| totals.count).sum(),
        feedback: feedback_shares(&window.feedback, decisions.decisions),
        satisfaction: satisfaction(&window.feedback),
        mean_rating: (ratings.0 > 0).then(|| ratings.1 / ratings.0 as f64),
    }
}

/// `monitor.daily`: the metrics of each day, in the order given.
pub fn daily(days: &[DayTotals]) -> Vec<DayMetrics> {
    days.iter()
        .map(|day| {
            let (processing_ms_mean, score_mean) = means(&day.decisions);
            DayMetrics {
                day: day.day.clone(),
                decisions: day.decisions.decisions,
                processing_ms_mean,
                processing_ms: percentiles(&day.decisions.latency),
                score_mean,
                feedback_count: day.feedback.iter().map(|totals| totals.count).sum(),
                feedback: feedback_shares(&day.feedback, day.decisions.decisions),
                satisfaction: satisfaction(&day.feedback),
            }
        })
        .collect()
}
