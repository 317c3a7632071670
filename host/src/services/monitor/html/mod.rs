//! The report as a self-contained HTML page: key figures, tables and charts drawn here as
//! inline SVG. The page loads nothing (no script, font, image or style sheet from elsewhere),
//! so it can be mailed, archived or opened offline as is.

mod axis;
mod charts;
mod experiments;
mod format;
#[cfg(test)]
mod tests;

use std::fmt::Write as _;

use self::charts::charts;
use self::format::{escape, finite, number, percent};
use super::report::{PerformanceMetrics, Report};
use crate::types::metrics::Share;

const STYLE: &str = r#"
:root { color-scheme: light; }
* { box-sizing: border-box; }
body { margin: 0; background: #f6f5f8; color: #33333d;
  font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
main { max-width: 1360px; margin: 0 auto; padding: 24px 28px 40px; }
header { border-bottom: 3px solid #c2185b; margin-bottom: 20px; padding-bottom: 10px; }
h1 { font-size: 26px; margin: 0 0 4px; }
h2 { font-size: 18px; margin: 28px 0 10px; }
.period { margin: 0; color: #66667a; }
.no-data { background: #fff4e5; border: 1px solid #f0c36d; border-radius: 6px; padding: 10px 14px; }
.kpis { display: grid; grid-template-columns: repeat(auto-fill, minmax(170px, 1fr)); gap: 10px; margin: 0; }
.kpi { background: #fff; border: 1px solid #e3e2ea; border-radius: 8px; padding: 10px 14px; }
.kpi dt { font-size: 12px; text-transform: uppercase; letter-spacing: .04em; color: #77778a; }
.kpi dd { margin: 2px 0 0; font-size: 22px; font-weight: 600; font-variant-numeric: tabular-nums; }
.kpi dd small { font-size: 13px; font-weight: 400; color: #77778a; }
.charts { display: grid; grid-template-columns: repeat(auto-fit, minmax(460px, 1fr)); gap: 14px; }
figure { margin: 0; background: #fff; border: 1px solid #e3e2ea; border-radius: 8px; padding: 8px 10px 10px; }
figure svg { display: block; width: 100%; height: auto; }
figcaption { font-size: 13px; color: #55556a; padding: 4px 4px 0; }
.chart-error { color: #b00020; }
table { border-collapse: collapse; background: #fff; border: 1px solid #e3e2ea; min-width: 50%; }
th, td { padding: 6px 12px; border-bottom: 1px solid #ececf1; text-align: left; }
th { background: #faf9fc; font-size: 13px; color: #55556a; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
td.name { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace; font-size: 14px; overflow-wrap: anywhere; }
.bar { display: inline-block; height: 10px; background: #c2185b; border-radius: 2px; vertical-align: middle; }
.empty { color: #77778a; font-style: italic; }
.experiment { background: #fff; border: 1px solid #e3e2ea; border-radius: 8px; padding: 4px 16px 14px; margin-bottom: 14px; }
.experiment figure { max-width: 760px; margin: 10px 0; }
.verdict { font-size: 18px; font-weight: 600; border-left: 5px solid #99a; padding: 4px 10px; }
.verdict-wins { border-color: #2e7d32; } .verdict-loses, .verdict-mismatch { border-color: #c2185b; }
.verdict-mixed { border-color: #f0a020; }
.srm-mismatch { color: #b00020; font-weight: 600; }
tr.outcome-better td { background: #eef7ee; } tr.outcome-worse td { background: #fbeef3; }
footer { margin-top: 32px; font-size: 12px; color: #88889a; }
"#;

impl Report {
    /// The report as a self-contained HTML5 page: the period, the key figures (decisions,
    /// latency, score, satisfaction, rating, feedback, ranking quality at k), a table per
    /// algorithm version when there are several, the top moves, and four charts drawn as
    /// inline SVG (decisions, latency, satisfaction per day; feedback per type).
    ///
    /// The page has no script and loads nothing from elsewhere; every name from the data
    /// (moves, versions, feedback types) is escaped. Quiet days and an empty report render
    /// too (the latter with a "no data" note).
    pub fn to_html(&self) -> String {
        let metrics = &self.overall_metrics;
        let period = &self.report_period;
        let mut page = String::with_capacity(64 * 1024);
        page.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
        page.push_str(
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
             <meta name=\"referrer\" content=\"no-referrer\">\n\
             <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; \
             style-src 'unsafe-inline'\">\n",
        );
        let _ = writeln!(
            page,
            "<title>Bachata Buddy — recommender performance, {} to {}</title>",
            escape(&period.start),
            escape(&period.end)
        );
        let _ = writeln!(page, "<style>{STYLE}</style>\n</head>\n<body>\n<main>");
        let _ = writeln!(
            page,
            "<header>\n<h1 id=\"title\">Bachata Buddy — recommender performance</h1>\n\
             <p class=\"period\" id=\"period\">{} to {} ({} {}, UTC) · generated {}</p>\n</header>",
            escape(&period.start),
            escape(&period.end),
            period.days,
            if period.days == 1 { "day" } else { "days" },
            escape(&self.generated_at),
        );
        if metrics.total_recommendations == 0 && metrics.feedback_count == 0 {
            page.push_str(
                "<p class=\"no-data\" id=\"no-data\">No data: no decision and no feedback \
                 were recorded in this period.</p>\n",
            );
        }
        key_figures(&mut page, metrics);
        charts(&mut page, self);
        experiments::experiments(&mut page, &self.experiments, self.experiments_omitted);
        versions(&mut page, metrics);
        top_moves(&mut page, &self.top_recommended_moves);
        feedback_table(&mut page, &metrics.feedback);
        let _ = writeln!(
            page,
            "<footer>Bachata Buddy shared services · performance monitor · ranking at k = {} \
             · satisfaction in [0, 1] from likes, uses, dislikes, skips and ratings</footer>\n\
             </main>\n</body>\n</html>",
            metrics.ranking.k
        );
        page
    }
}

/// One key figure: its id, label, value and an optional small note.
fn kpi(page: &mut String, id: &str, label: &str, value: &str, note: &str) {
    let note = if note.is_empty() {
        String::new()
    } else {
        format!(" <small>{note}</small>")
    };
    let _ = writeln!(
        page,
        "<div class=\"kpi\" id=\"kpi-{id}\"><dt>{label}</dt><dd>{value}{note}</dd></div>"
    );
}

fn key_figures(page: &mut String, metrics: &PerformanceMetrics) {
    let latency = &metrics.processing_time_ms;
    let feedback = metrics.feedback_count > 0;
    page.push_str("<section id=\"key-figures\">\n<h2>Key figures</h2>\n<dl class=\"kpis\">\n");
    kpi(
        page,
        "decisions",
        "Decisions",
        &metrics.total_recommendations.to_string(),
        "",
    );
    kpi(
        page,
        "latency-mean",
        "Mean latency",
        &number(metrics.avg_processing_time_ms, 1),
        "ms",
    );
    kpi(
        page,
        "latency-p50",
        "Latency p50",
        &number(latency.p50, 1),
        "ms",
    );
    kpi(
        page,
        "latency-p95",
        "Latency p95",
        &number(latency.p95, 1),
        "ms",
    );
    kpi(
        page,
        "latency-p99",
        "Latency p99",
        &number(latency.p99, 1),
        "ms",
    );
    kpi(
        page,
        "score",
        "Mean score",
        &number(metrics.avg_recommendation_score, 3),
        "",
    );
    kpi(
        page,
        "satisfaction",
        "Satisfaction",
        &if feedback {
            number(metrics.user_satisfaction_score, 3)
        } else {
            "—".to_string()
        },
        "of 1",
    );
    kpi(
        page,
        "rating",
        "Mean rating",
        &metrics
            .mean_rating
            .map_or_else(|| "—".to_string(), |rating| number(rating, 2)),
        "of 5",
    );
    kpi(
        page,
        "feedback",
        "Feedback",
        &metrics.feedback_count.to_string(),
        "events",
    );
    page.push_str("</dl>\n");
    let ranking = &metrics.ranking;
    let _ = writeln!(
        page,
        "<h2 id=\"ranking-title\">Ranking quality at k = {} <small>({} judged {})</small></h2>\n\
         <dl class=\"kpis\" id=\"ranking\">",
        ranking.k,
        ranking.judged_decisions,
        if ranking.judged_decisions == 1 {
            "decision"
        } else {
            "decisions"
        }
    );
    let k = ranking.k;
    for (id, label, value) in [
        ("precision", format!("Precision@{k}"), ranking.precision),
        ("recall", format!("Recall@{k}"), ranking.recall),
        ("f1", format!("F1@{k}"), ranking.f1),
        ("ndcg", format!("NDCG@{k}"), ranking.ndcg),
        ("mrr", "MRR".to_string(), ranking.mrr),
        ("hit-rate", format!("Hit rate@{k}"), ranking.hit_rate),
        (
            "accuracy",
            "Accuracy (1st move)".to_string(),
            ranking.accuracy,
        ),
    ] {
        let value = if ranking.judged_decisions > 0 {
            number(value, 3)
        } else {
            "—".to_string()
        };
        kpi(page, id, &label, &value, "");
    }
    page.push_str("</dl>\n</section>\n");
}

fn versions(page: &mut String, metrics: &PerformanceMetrics) {
    if metrics.by_version.len() < 2 {
        return;
    }
    let k = metrics.ranking.k;
    let _ = writeln!(
        page,
        "<section id=\"versions\">\n<h2>Per algorithm version</h2>\n<table id=\"versions-table\">\n\
         <thead><tr><th>Version</th><th class=\"num\">Decisions</th><th class=\"num\">Mean ms</th>\
         <th class=\"num\">p95 ms</th><th class=\"num\">Mean score</th><th class=\"num\">Satisfaction</th>\
         <th class=\"num\">Feedback</th><th class=\"num\">Precision@{k}</th><th class=\"num\">NDCG@{k}</th>\
         <th class=\"num\">Hit rate@{k}</th></tr></thead>\n<tbody>"
    );
    for (name, version) in &metrics.by_version {
        let judged = version.ranking.judged_decisions > 0;
        let ranked = |value: f64| {
            if judged {
                number(value, 3)
            } else {
                "—".to_string()
            }
        };
        let _ = writeln!(
            page,
            "<tr><td class=\"name\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>\
             <td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>\
             <td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>\
             <td class=\"num\">{}</td></tr>",
            escape(name),
            version.total_recommendations,
            number(version.avg_processing_time_ms, 1),
            number(version.processing_time_ms.p95, 1),
            number(version.avg_recommendation_score, 3),
            if version.feedback_count > 0 {
                number(version.user_satisfaction_score, 3)
            } else {
                "—".to_string()
            },
            version.feedback_count,
            ranked(version.ranking.precision),
            ranked(version.ranking.ndcg),
            ranked(version.ranking.hit_rate),
        );
    }
    page.push_str("</tbody>\n</table>\n</section>\n");
}

fn top_moves(page: &mut String, moves: &[Share]) {
    page.push_str("<section id=\"top-moves\">\n<h2>Top recommended moves</h2>\n");
    if moves.is_empty() {
        page.push_str(
            "<p class=\"empty\">No move was recommended in this period.</p>\n</section>\n",
        );
        return;
    }
    page.push_str(
        "<table id=\"top-moves-table\">\n<thead><tr><th class=\"num\">#</th><th>Move</th>\
         <th class=\"num\">Decisions</th><th class=\"num\">Share of recommendations</th><th></th></tr></thead>\n<tbody>\n",
    );
    let widest = moves
        .iter()
        .map(|share| finite(share.rate))
        .fold(0.0, f64::max);
    for (rank, share) in moves.iter().enumerate() {
        let width = if widest > 0.0 {
            (finite(share.rate) / widest * 160.0).clamp(0.0, 160.0)
        } else {
            0.0
        };
        let _ = writeln!(
            page,
            "<tr><td class=\"num\">{}</td><td class=\"name\">{}</td><td class=\"num\">{}</td>\
             <td class=\"num\">{}</td><td><span class=\"bar\" style=\"width:{width:.0}px\"></span></td></tr>",
            rank + 1,
            escape(&share.name),
            share.count,
            percent(share.rate),
        );
    }
    page.push_str("</tbody>\n</table>\n</section>\n");
}

fn feedback_table(page: &mut String, feedback: &[Share]) {
    page.push_str("<section id=\"feedback\">\n<h2>Feedback by type</h2>\n");
    if feedback.iter().all(|share| share.count == 0) {
        page.push_str("<p class=\"empty\">No feedback in this period.</p>\n</section>\n");
        return;
    }
    page.push_str(
        "<table id=\"feedback-table\">\n<thead><tr><th>Type</th><th class=\"num\">Events</th>\
         <th class=\"num\">Per decision</th></tr></thead>\n<tbody>\n",
    );
    for share in feedback {
        let _ = writeln!(
            page,
            "<tr><td class=\"name\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
            escape(&share.name),
            share.count,
            number(share.rate, 3),
        );
    }
    page.push_str("</tbody>\n</table>\n</section>\n");
}
