use std::collections::BTreeMap;

use chrono::{TimeZone, Utc};

use super::super::report::{FeedbackTrends, PerformanceMetrics, Period, Report};
use super::axis::MAX_DAY_LABELS;
use super::format::escape;
use crate::types::metrics::{DayMetrics, Percentiles, RankingMetrics, Share};

fn share(name: &str, count: u64, rate: f64) -> Share {
    Share {
        name: name.to_string(),
        count,
        rate,
    }
}

fn ranking(judged: u64) -> RankingMetrics {
    RankingMetrics {
        k: 5,
        judged_decisions: judged,
        decisions_with_relevant: judged / 2,
        precision: 0.4,
        recall: 0.75,
        f1: 0.5217,
        hit_rate: 0.8,
        mrr: 0.6125,
        ndcg: 0.7012,
        accuracy: 0.55,
    }
}

fn metrics(period: &Period, version: Option<&str>, decisions: u64) -> PerformanceMetrics {
    let feedback = if decisions == 0 {
        ["rating", "like", "dislike", "skip", "use"]
            .map(|name| share(name, 0, 0.0))
            .to_vec()
    } else {
        vec![
            share("rating", 6, 0.2),
            share("like", 9, 0.3),
            share("dislike", 2, 0.07),
            share("skip", 3, 0.1),
            share("use", 4, 0.13),
        ]
    };
    let feedback_count = feedback.iter().map(|share| share.count).sum();
    PerformanceMetrics {
        period: period.clone(),
        algorithm_version: version.map(str::to_string),
        total_recommendations: decisions,
        avg_processing_time_ms: if decisions == 0 { 0.0 } else { 41.25 },
        processing_time_ms: Percentiles {
            p50: if decisions == 0 { 0.0 } else { 38.5 },
            p95: if decisions == 0 { 0.0 } else { 96.0 },
            p99: if decisions == 0 { 0.0 } else { 180.0 },
        },
        avg_recommendation_score: if decisions == 0 { 0.0 } else { 0.8125 },
        user_satisfaction_score: if decisions == 0 { 0.0 } else { 0.6875 },
        mean_rating: (decisions > 0).then_some(4.25),
        recommendation_distribution: Vec::new(),
        feedback_count,
        feedback,
        ranking: ranking(decisions / 2),
        accuracy: 0.55,
        precision: 0.4,
        recall: 0.75,
        f1_score: 0.5217,
        by_version: BTreeMap::new(),
    }
}

fn day(name: &str, decisions: u64) -> DayMetrics {
    let busy = decisions > 0;
    DayMetrics {
        day: name.to_string(),
        decisions,
        processing_ms_mean: if busy { 30.0 + decisions as f64 } else { 0.0 },
        processing_ms: Percentiles {
            p50: if busy { 28.0 } else { 0.0 },
            p95: if busy { 80.0 + decisions as f64 } else { 0.0 },
            p99: if busy { 150.0 } else { 0.0 },
        },
        score_mean: if busy { 0.8 } else { 0.0 },
        feedback_count: decisions / 2,
        feedback: vec![share("like", decisions / 2, 0.5)],
        satisfaction: if busy { 0.6 } else { 0.0 },
    }
}

fn report(days: &[(&str, u64)], moves: Vec<Share>) -> Report {
    let now = Utc.with_ymd_and_hms(2024, 5, 7, 12, 0, 0).unwrap();
    let period = Period::new(days.len().max(1) as u32, now);
    let decisions = days.iter().map(|(_, count)| count).sum();
    let mut overall = metrics(&period, None, decisions);
    if decisions > 0 {
        for version in ["v1.0", "v2.0-<beta>"] {
            overall
                .by_version
                .insert(version.to_string(), metrics(&period, Some(version), 5));
        }
    }
    let daily_metrics: Vec<DayMetrics> =
        days.iter().map(|(name, count)| day(name, *count)).collect();
    Report {
        report_period: period,
        generated_at: now.to_rfc3339(),
        feedback_trends: FeedbackTrends {
            totals: overall.feedback.clone(),
            daily: Vec::new(),
        },
        overall_metrics: overall,
        daily_metrics,
        top_recommended_moves: moves,
        experiments: Vec::new(),
        experiments_omitted: 0,
    }
}

/// No `NaN` or `inf` word anywhere (how Rust prints non-finite floats).
fn assert_no_non_finite(html: &str) {
    assert!(!html.contains("NaN"));
    let words: Vec<&str> = html
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|word| word.eq_ignore_ascii_case("inf") || word.eq_ignore_ascii_case("nan"))
        .collect();
    assert!(words.is_empty(), "{words:?}");
}

fn week() -> Report {
    report(
        &[
            ("2024-05-01", 4),
            ("2024-05-02", 7),
            ("2024-05-03", 0),
            ("2024-05-04", 0),
            ("2024-05-05", 5),
            ("2024-05-06", 11),
            ("2024-05-07", 3),
        ],
        vec![
            share("basic", 20, 0.4),
            share("cross_body_lead", 15, 0.3),
            share("<script>alert(1)</script>", 5, 0.1),
        ],
    )
}

#[test]
fn a_week_renders_its_figures_and_four_charts() {
    let html = week().to_html();
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(html.contains("<meta charset=\"utf-8\">"));
    assert!(html.contains("Bachata Buddy — recommender performance"));
    assert!(html.contains("2024-05-01 to 2024-05-07 (7 days, UTC)"));
    assert_eq!(html.matches("<svg").count(), 4, "{html}");
    for id in ["decisions", "latency", "satisfaction", "feedback"] {
        assert!(
            html.contains(&format!("<figure id=\"figure-{id}\"")),
            "{id}"
        );
        assert!(html.contains(&format!("<svg id=\"chart-{id}\"")), "{id}");
    }
    assert_eq!(html.matches("<figcaption>").count(), 4);
    for (id, value) in [
        ("decisions", "30"),
        ("latency-mean", "41.2"),
        ("latency-p50", "38.5"),
        ("latency-p95", "96.0"),
        ("latency-p99", "180.0"),
        ("score", "0.812"),
        ("satisfaction", "0.688"),
        ("rating", "4.25"),
        ("feedback", "24"),
        ("precision", "0.400"),
        ("recall", "0.750"),
        ("f1", "0.522"),
        ("ndcg", "0.701"),
        ("mrr", "0.613"),
        ("hit-rate", "0.800"),
        ("accuracy", "0.550"),
    ] {
        let start = html
            .find(&format!("id=\"kpi-{id}\""))
            .unwrap_or_else(|| panic!("kpi-{id}"));
        let entry = &html[start..start + html[start..].find("</div>").unwrap()];
        assert!(entry.contains(&format!("<dd>{value}")), "{id}: {entry}");
    }
    assert!(html.contains("Precision@5"));
    assert!(html.contains("id=\"versions-table\""));
    assert!(html.contains("id=\"top-moves-table\""));
    assert!(html.contains("<td class=\"name\">cross_body_lead</td>"));
    assert!(html.contains("05-06"), "day labels");
    assert!(!html.contains("id=\"no-data\""));
    assert_no_non_finite(&html);
    assert!(!html.to_lowercase().contains("<script"));
}

#[test]
fn names_from_the_data_are_escaped() {
    let html = week().to_html();
    assert!(!html.contains("<script>alert(1)</script>"));
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(html.contains("v2.0-&lt;beta&gt;"));
    assert!(!html.contains("v2.0-<beta>"));
    assert_eq!(escape("a&b\"c'd"), "a&amp;b&quot;c&#39;d");
    assert_eq!(escape("plain"), "plain");
    assert_eq!(escape("\u{202e}x\n"), "\\u{202e}x\\n");
}

#[test]
fn an_empty_report_renders_with_a_note() {
    let mut empty = report(&[], Vec::new());
    empty.daily_metrics.clear();
    empty.overall_metrics.feedback.clear();
    for html in [
        empty.to_html(),
        report(&[("2024-05-07", 0)], Vec::new()).to_html(),
    ] {
        assert!(html.contains("id=\"no-data\""), "{html}");
        assert_eq!(html.matches("<svg").count(), 4, "{html}");
        assert!(html.contains("No move was recommended"));
        assert!(html.contains("<dd>0</dd>"));
        assert_no_non_finite(&html);
        assert!(!html.contains("class=\"chart-error\""));
        assert!(html.ends_with("</html>\n"));
    }
}

#[test]
fn non_finite_values_never_reach_the_page() {
    let mut report = week();
    report.overall_metrics.avg_processing_time_ms = f64::NAN;
    report.overall_metrics.processing_time_ms.p99 = f64::INFINITY;
    report.daily_metrics[1].processing_ms_mean = f64::NAN;
    report.daily_metrics[1].satisfaction = f64::NAN;
    report.daily_metrics[5].processing_ms.p95 = f64::INFINITY;
    report.top_recommended_moves[0].rate = f64::NAN;
    let html = report.to_html();
    assert_no_non_finite(&html);
    assert!(!html.contains("class=\"chart-error\""));
    assert_eq!(html.matches("<svg").count(), 4);
}

#[test]
fn a_long_period_labels_a_few_days_only() {
    let days: Vec<String> = (0..90)
        .map(|index| {
            let date = chrono::NaiveDate::from_ymd_opt(2024, 1, 1).unwrap()
                + chrono::Duration::days(index);
            date.format("%Y-%m-%d").to_string()
        })
        .collect();
    let days: Vec<(&str, u64)> = days
        .iter()
        .enumerate()
        .map(|(index, day)| (day.as_str(), (index % 13) as u64))
        .collect();
    let html = report(&days, Vec::new()).to_html();
    let start = html.find("<svg id=\"chart-decisions\"").unwrap();
    let svg = &html[start..start + html[start..].find("</svg>").unwrap()];
    let labels = svg.matches(">\n03-").count()
        + svg.matches(">\n02-").count()
        + svg.matches(">\n01-").count();
    assert!((2..=MAX_DAY_LABELS).contains(&labels), "{labels}");
    assert!(svg.contains("03-30"), "the last day is labelled");
}
