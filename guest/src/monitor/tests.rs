//! The monitor's formulas on hand-computed cases.

use super::*;
use crate::types::{JudgedDecision, Judgment, LatencyBucket, MoveTotals, RankingTotals};

fn feedback(kind: &str, count: u64, value_sum: f64) -> FeedbackTotals {
    let valued = if kind == "rating" { count } else { 0 };
    FeedbackTotals {
        feedback_type: kind.into(),
        count,
        valued,
        value_sum,
    }
}

fn bucket(count: u64, min_ms: f64, max_ms: f64) -> LatencyBucket {
    LatencyBucket {
        count,
        min_ms,
        max_ms,
    }
}

fn judgment(rank: u32, kind: &str, value: Option<f64>) -> Judgment {
    Judgment {
        rank,
        feedback_type: kind.into(),
        value,
    }
}

fn decision(moves: u32, judgments: Vec<Judgment>) -> JudgedDecision {
    JudgedDecision { moves, judgments }
}

fn zero() -> RankingTotals {
    RankingTotals {
        judged: 0,
        with_relevant: 0,
        precision_sum: 0.0,
        recall_sum: 0.0,
        hits: 0,
        reciprocal_rank_sum: 0.0,
        ndcg_sum: 0.0,
        first_relevant: 0,
    }
}

fn close(a: f64, b: f64) {
    assert!((a - b).abs() < 1e-12, "{a} != {b}");
}

#[test]
fn satisfaction_counts_likes_and_uses_for_dislikes_and_skips_against_and_ratings_scaled() {
    // 2 likes, 1 use, 1 dislike, 1 skip, ratings 5 and 1: (3 + (4 + 0) / 4) / 7 = 4 / 7.
    let totals = [
        feedback("like", 2, 0.0),
        feedback("use", 1, 0.0),
        feedback("dislike", 1, 0.0),
        feedback("skip", 1, 0.0),
        feedback("rating", 2, 6.0),
    ];
    close(satisfaction(&totals), 4.0 / 7.0);
    close(satisfaction(&[feedback("rating", 1, 3.0)]), 0.5);
    close(satisfaction(&[feedback("rating", 1, 1.0)]), 0.0);
    close(satisfaction(&[]), 0.0);
    close(satisfaction(&[feedback("other", 4, 0.0)]), 0.0);
}

#[test]
fn percentiles_interpolate_between_closest_ranks() {
    let buckets: Vec<_> = [100.0, 200.0, 300.0, 400.0, 500.0]
        .iter()
        .map(|&ms| bucket(1, ms, ms))
        .collect();
    let p = percentiles(&buckets);
    close(p.p50, 300.0);
    close(p.p95, 480.0); // h = 3.8: 400 + 0.8 × 100
    close(p.p99, 496.0);
    // A bucket of three times from 10 to 30 is read as 10, 20, 30.
    close(quantile::quantile(&[bucket(3, 10.0, 30.0)], 0.5), 20.0);
    close(quantile::quantile(&[bucket(1, 7.0, 7.0)], 0.99), 7.0);
    let empty = percentiles(&[]);
    assert_eq!((empty.p50, empty.p95, empty.p99), (0.0, 0.0, 0.0));
}

#[test]
fn ranking_metrics_of_one_decision() {
    // Five moves; the first disliked, the second liked, the fourth used; k = 3.
    let page = [decision(
        5,
        vec![
            judgment(1, "dislike", None),
            judgment(2, "like", None),
            judgment(4, "use", None),
        ],
    )];
    let totals = rank(3, zero(), &page);
    let r = ranking(3, &totals);
    assert_eq!((r.judged_decisions, r.decisions_with_relevant), (1, 1));
    close(r.precision, 1.0 / 3.0);
    close(r.recall, 0.5);
    close(r.f1, 2.0 * (1.0 / 3.0) * 0.5 / (1.0 / 3.0 + 0.5));
    close(r.hit_rate, 1.0);
    close(r.mrr, 0.5);
    let idcg = 1.0 + 1.0 / 3f64.log2();
    close(r.ndcg, (1.0 / 3f64.log2()) / idcg);
    close(r.accuracy, 0.0);
}

#[test]
fn k_larger_than_the_list_cuts_at_the_list() {
    let page = [decision(2, vec![judgment(1, "rating", Some(5.0))])];
    let r = ranking(10, &rank(10, zero(), &page));
    close(r.precision, 0.5);
    close(r.recall, 1.0);
    close(r.ndcg, 1.0);
    close(r.accuracy, 1.0);
    close(r.mrr, 1.0);
}

#[test]
fn a_decision_with_no_relevant_move_counts_for_precision_but_not_recall() {
    let page = [
        decision(
            3,
            vec![judgment(1, "skip", None), judgment(2, "rating", Some(2.0))],
        ),
        decision(3, vec![judgment(3, "like", None)]),
    ];
    let r = ranking(3, &rank(3, zero(), &page));
    assert_eq!((r.judged_decisions, r.decisions_with_relevant), (2, 1));
    close(r.precision, (0.0 + 1.0 / 3.0) / 2.0);
    close(r.recall, 1.0);
    close(r.hit_rate, 0.5);
    close(r.mrr, (0.0 + 1.0 / 3.0) / 2.0);
    close(r.ndcg, 0.5); // DCG = 1 / log2(4) = 0.5, IDCG = 1
}

#[test]
fn no_feedback_at_all_is_all_zeros() {
    let totals = rank(
        5,
        zero(),
        &[
            decision(4, vec![]),
            decision(0, vec![judgment(0, "like", None)]),
        ],
    );
    assert_eq!(format!("{totals:?}"), format!("{:?}", zero()));
    let r = ranking(5, &totals);
    assert_eq!(
        (
            r.precision,
            r.recall,
            r.f1,
            r.hit_rate,
            r.mrr,
            r.ndcg,
            r.accuracy
        ),
        (0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0)
    );
    assert_eq!(r.k, 5);
}

#[test]
fn the_latest_judgment_wins_and_feedback_without_a_move_judges_the_first() {
    let page = [decision(
        3,
        vec![
            judgment(0, "like", None),
            judgment(1, "dislike", None),
            judgment(2, "rating", Some(3.0)),
        ],
    )];
    let r = ranking(1, &rank(1, zero(), &page));
    assert_eq!(r.judged_decisions, 1);
    assert_eq!(r.decisions_with_relevant, 0);
    close(r.accuracy, 0.0);
    let page = [decision(
        3,
        vec![judgment(1, "skip", None), judgment(0, "use", None)],
    )];
    close(ranking(1, &rank(1, zero(), &page)).accuracy, 1.0);
}

#[test]
fn sums_over_pages_equal_one_page() {
    let a = decision(4, vec![judgment(2, "like", None)]);
    let b = decision(2, vec![judgment(1, "use", None), judgment(2, "like", None)]);
    let together = rank(2, zero(), &[a.clone(), b.clone()]);
    let paged = rank(2, rank(2, zero(), &[a]), &[b]);
    assert_eq!(format!("{together:?}"), format!("{paged:?}"));
}

#[test]
fn combined_sums_equal_one_pass_over_both_sets() {
    let a = decision(4, vec![judgment(2, "like", None)]);
    let b = decision(2, vec![judgment(1, "skip", None), judgment(2, "use", None)]);
    let together = rank(3, zero(), &[a.clone(), b.clone()]);
    let combined = combine(&rank(3, zero(), &[a]), &rank(3, zero(), &[b]));
    assert_eq!(format!("{together:?}"), format!("{combined:?}"));
}

#[test]
fn relevance_rules() {
    assert_eq!(relevance("like", None), Some(true));
    assert_eq!(relevance("use", None), Some(true));
    assert_eq!(relevance("dislike", None), Some(false));
    assert_eq!(relevance("skip", None), Some(false));
    assert_eq!(relevance("rating", Some(4.0)), Some(true));
    assert_eq!(relevance("rating", Some(3.0)), None);
    assert_eq!(relevance("rating", Some(2.0)), Some(false));
    assert_eq!(relevance("rating", None), None);
    assert_eq!(relevance("shrug", None), None);
}

#[test]
fn summarize_a_window() {
    let window = WindowTotals {
        decisions: DecisionTotals {
            decisions: 4,
            processing_ms_sum: 100.0,
            scored: 2,
            score_sum: 1.5,
            latency: vec![bucket(2, 10.0, 20.0), bucket(2, 30.0, 40.0)],
        },
        feedback: vec![
            feedback("like", 3, 0.0),
            feedback("rating", 2, 9.0),
            feedback("skip", 1, 0.0),
        ],
        moves: vec![
            MoveTotals {
                move_id: "spin".into(),
                recommended: 2,
                first: 1,
            },
            MoveTotals {
                move_id: "basic".into(),
                recommended: 4,
                first: 3,
            },
            MoveTotals {
                move_id: "dip".into(),
                recommended: 2,
                first: 0,
            },
        ],
    };
    let o = summarize(&window, 2);
    assert_eq!(o.decisions, 4);
    close(o.processing_ms_mean, 25.0);
    close(o.score_mean, 0.75);
    close(o.processing_ms.p50, 25.0);
    let names: Vec<_> = o
        .move_distribution
        .iter()
        .map(|s| (s.name.as_str(), s.count))
        .collect();
    assert_eq!(names, [("basic", 4), ("dip", 2), ("spin", 2)]);
    close(o.move_distribution[0].rate, 0.5);
    assert_eq!(o.top_moves.len(), 2);
    assert_eq!(o.feedback_count, 6);
    let kinds: Vec<_> = o
        .feedback
        .iter()
        .map(|s| (s.name.as_str(), s.count))
        .collect();
    assert_eq!(
        kinds,
        [
            ("rating", 2),
            ("like", 3),
            ("dislike", 0),
            ("skip", 1),
            ("use", 0)
        ]
    );
    close(o.feedback[1].rate, 0.75);
    assert_eq!(o.mean_rating, Some(4.5));
    // (3 + (9 − 2) / 4) / 6
    close(o.satisfaction, (3.0 + 7.0 / 4.0) / 6.0);
}

#[test]
fn an_empty_window_is_all_zeros() {
    let window = WindowTotals {
        decisions: DecisionTotals {
            decisions: 0,
            processing_ms_sum: 0.0,
            scored: 0,
            score_sum: 0.0,
            latency: vec![],
        },
        feedback: vec![],
        moves: vec![],
    };
    let o = summarize(&window, 10);
    assert_eq!(
        (
            o.decisions,
            o.processing_ms_mean,
            o.score_mean,
            o.satisfaction
        ),
        (0, 0.0, 0.0, 0.0)
    );
    assert!(o.feedback.iter().all(|s| s.count == 0 && s.rate == 0.0));
    assert_eq!(o.mean_rating, None);
    let days = daily(&[DayTotals {
        day: "2026-11-26".into(),
        decisions: window.decisions.clone(),
        feedback: vec![],
    }]);
    assert_eq!(days[0].day, "2026-11-26");
    assert_eq!(days[0].decisions, 0);
}
