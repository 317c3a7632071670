//! RankingMetrics quality from feedback treated as relevance judgments: precision, recall, F1, hit
//! rate, MRR, NDCG at a cut-off, and accuracy of the first move.

use super::ratio;
use crate::types::{JudgedDecision, RankingMetrics, RankingTotals};

/// `monitor.relevance`: like, use and a rating ≥ 4 are relevant; dislike, skip and a rating
/// ≤ 2 are not; anything else (a rating of 3, an unknown type) judges nothing.
pub fn relevance(feedback_type: &str, value: Option<f64>) -> Option<bool> {
    match (feedback_type, value) {
        ("like" | "use", _) => Some(true),
        ("dislike" | "skip", _) => Some(false),
        ("rating", Some(rating)) if rating >= 4.0 => Some(true),
        ("rating", Some(rating)) if rating <= 2.0 => Some(false),
        _ => None,
    }
}

/// The discount of rank `i` (1-based): 1 / log2(i + 1).
fn discount(i: usize) -> f64 {
    1.0 / ((i + 1) as f64).log2()
}

/// The relevance of each of the decision's moves (index 0 is rank 1): the latest judgment of
/// each wins; `None` when nothing was judged.
fn judged(decision: &JudgedDecision) -> Option<Vec<bool>> {
    let n = decision.moves as usize;
    let mut relevant = vec![None; n];
    for judgment in &decision.judgments {
        let index = (judgment.rank.max(1) - 1) as usize;
        let Some(slot) = relevant.get_mut(index) else {
            continue;
        };
        if let Some(verdict) = relevance(&judgment.feedback_type, judgment.value) {
            *slot = Some(verdict);
        }
    }
    relevant.iter().any(Option::is_some).then(|| {
        relevant
            .into_iter()
            .map(|verdict| verdict == Some(true))
            .collect()
    })
}

/// `monitor.rank`: adds a page of decisions to the running sums.
pub fn rank(k: u32, mut totals: RankingTotals, page: &[JudgedDecision]) -> RankingTotals {
    let k = k.max(1) as usize;
    for decision in page {
        let Some(relevant) = judged(decision) else {
            continue;
        };
        let n = relevant.len();
        let cut = k.min(n);
        let in_top = relevant[..cut].iter().filter(|&&r| r).count();
        let all = relevant.iter().filter(|&&r| r).count();
        totals.judged += 1;
        totals.precision_sum += ratio(in_top as f64, cut as f64);
        if in_top > 0 {
            totals.hits += 1;
        }
        if let Some(first) = relevant.iter().position(|&r| r) {
            totals.reciprocal_rank_sum += 1.0 / (first + 1) as f64;
        }
        if relevant.first() == Some(&true) {
            totals.first_relevant += 1;
        }
        if all > 0 {
            totals.with_relevant += 1;
            totals.recall_sum += in_top as f64 / all as f64;
            let dcg: f64 = (1..=cut).filter(|&i| relevant[i - 1]).map(discount).sum();
            let idcg: f64 = (1..=all.min(k)).map(discount).sum();
            totals.ndcg_sum += dcg / idcg;
        }
    }
    totals
}

/// `monitor.combine`: the sums of two sets of decisions as one.
pub fn combine(a: &RankingTotals, b: &RankingTotals) -> RankingTotals {
    RankingTotals {
        judged: a.judged + b.judged,
        with_relevant: a.with_relevant + b.with_relevant,
        precision_sum: a.precision_sum + b.precision_sum,
        recall_sum: a.recall_sum + b.recall_sum,
        hits: a.hits + b.hits,
        reciprocal_rank_sum: a.reciprocal_rank_sum + b.reciprocal_rank_sum,
        ndcg_sum: a.ndcg_sum + b.ndcg_sum,
        first_relevant: a.first_relevant + b.first_relevant,
    }
}

/// `monitor.ranking`: the means from the sums.
pub fn ranking(k: u32, totals: &RankingTotals) -> RankingMetrics {
    let judged = totals.judged as f64;
    let with_relevant = totals.with_relevant as f64;
    let precision = ratio(totals.precision_sum, judged);
    let recall = ratio(totals.recall_sum, with_relevant);
    RankingMetrics {
        k: k.max(1),
        judged_decisions: totals.judged,
        decisions_with_relevant: totals.with_relevant,
        precision,
        recall,
        f1: ratio(2.0 * precision * recall, precision + recall),
        hit_rate: ratio(totals.hits as f64, judged),
        mrr: ratio(totals.reciprocal_rank_sum, judged),
        ndcg: ratio(totals.ndcg_sum, with_relevant),
        accuracy: ratio(totals.first_relevant as f64, judged),
    }
}
