//! The report as a self-contained HTML page: key figures, tables and charts drawn here as
//! inline SVG. The page loads nothing (no script, font, image or style sheet from elsewhere),
//! so it can be mailed, archived or opened offline as is.

use std::borrow::Cow;
use std::fmt::Write as _;

use std::ops::Range;

use plotters::coord::Shift;
use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint};
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::report::{PerformanceMetrics, Report};
use crate::types::metrics::{DayMetrics, Share};
use crate::types::text::printable;

/// Chart size in SVG units (the page scales it to its column).
const CHART_SIZE: (u32, u32) = (640, 320);
/// Day labels under a chart, at most.
const MAX_DAY_LABELS: usize = 8;
/// Slots an x axis is at least wide (a lone day's bar stays a bar).
const MIN_SLOTS: usize = 5;
/// Days beyond which line charts mark only lone days.
const MARKED_DAYS: usize = 31;

const INK: RGBColor = RGBColor(0x33, 0x33, 0x3d);
const GRID: RGBColor = RGBColor(0xe6, 0xe6, 0xeb);
const AXIS: RGBColor = RGBColor(0x99, 0x99, 0xa3);
const ACCENT: RGBColor = RGBColor(0xc2, 0x18, 0x5b);
const SECOND: RGBColor = RGBColor(0x3f, 0x51, 0xb5);
const POSITIVE: RGBColor = RGBColor(0x2e, 0x7d, 0x32);
const FONT: &str = "sans-serif";

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

/// `text` safe in HTML text and attribute values, with control and bidirectional
/// formatting characters made visible.
fn escape(text: &str) -> Cow<'_, str> {
    let text = printable(text);
    if !text.contains(['&', '<', '>', '"', '\'']) {
        return text;
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            other => out.push(other),
        }
    }
    Cow::Owned(out)
}

/// `value` with `decimals` decimals, or a dash when it is not a number.
fn number(value: f64, decimals: usize) -> String {
    if value.is_finite() {
        format!("{value:.decimals$}")
    } else {
        "—".to_string()
    }
}

/// `value` (a share in [0, 1]) as a percentage.
fn percent(value: f64) -> String {
    if value.is_finite() {
        format!("{:.1} %", value * 100.0)
    } else {
        "—".to_string()
    }
}

/// A finite value for a chart (0 for NaN or infinities).
fn finite(value: f64) -> f64 {
    if value.is_finite() { value } else { 0.0 }
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

/// The four charts, each in its figure.
fn charts(page: &mut String, report: &Report) {
    let days = &report.daily_metrics;
    let quiet = days.iter().filter(|day| day.decisions == 0).count();
    let quiet = match quiet {
        0 => String::new(),
        1 => " One day had no decision.".to_string(),
        n => format!(" {n} days had no decision."),
    };
    page.push_str("<section id=\"charts\">\n<h2>Per day</h2>\n<div class=\"charts\">\n");
    figure(
        page,
        "decisions",
        "Decisions per day",
        &format!("Decisions per UTC day.{quiet}"),
        decisions_chart(days),
    );
    figure(
        page,
        "latency",
        "Processing time per day",
        "Processing time per day, in milliseconds: the mean and the 95th percentile \
         (days without decisions are left out).",
        latency_chart(days),
    );
    figure(
        page,
        "satisfaction",
        "User satisfaction per day",
        "User satisfaction per day, from 0 to 1 (days without feedback are left out).",
        satisfaction_chart(days),
    );
    figure(
        page,
        "feedback",
        "Feedback by type",
        "Feedback events by type over the period.",
        feedback_chart(&report.overall_metrics.feedback),
    );
    page.push_str("</div>\n</section>\n");
}

type ChartResult = Result<String, Box<dyn std::error::Error>>;

/// A chart's figure: its SVG (given an id and an accessible name) and its caption.
fn figure(page: &mut String, id: &str, title: &str, caption: &str, chart: ChartResult) {
    let _ = writeln!(page, "<figure id=\"figure-{id}\" class=\"chart-figure\">");
    match chart {
        Ok(svg) => {
            let open = format!(
                "<svg id=\"chart-{id}\" class=\"chart\" role=\"img\" aria-label=\"{}\" ",
                escape(title)
            );
            page.push_str(&svg.replacen("<svg ", &open, 1));
        }
        Err(error) => {
            let _ = writeln!(
                page,
                "<p class=\"chart-error\" id=\"chart-{id}\">The chart could not be drawn: {}</p>",
                escape(&error.to_string())
            );
        }
    }
    let _ = writeln!(
        page,
        "<figcaption>{}</figcaption>\n</figure>",
        escape(caption)
    );
}

/// `MM-DD` of a `YYYY-MM-DD` day.
fn short_day(day: &str) -> &str {
    day.get(5..).filter(|_| day.len() == 10).unwrap_or(day)
}

/// An x axis of slots 0, 1, … `slots − 1` (days or categories), each one unit wide, with
/// ticks and labels at the given slots only.
struct SlotAxis {
    range: RangedCoordf64,
    labels: Vec<f64>,
}

impl SlotAxis {
    fn new(slots: usize, labels: impl IntoIterator<Item = usize>) -> Self {
        let slots = slots.max(1);
        // Few slots: centred, with room on both sides.
        let pad = MIN_SLOTS.saturating_sub(slots) as f64 / 2.0;
        Self {
            range: RangedCoordf64::from(-0.5 - pad..slots as f64 - 0.5 + pad),
            labels: labels
                .into_iter()
                .filter(|&slot| slot < slots)
                .map(|slot| slot as f64)
                .collect(),
        }
    }

    /// The axis of `days` days: labels on at most [`MAX_DAY_LABELS`] days, the last one
    /// always.
    fn days(days: usize) -> Self {
        let slots = days.max(1);
        let step = slots.div_ceil(MAX_DAY_LABELS).max(1);
        let mut labels: Vec<usize> = (0..slots).rev().step_by(step).collect();
        labels.reverse();
        Self::new(slots, labels)
    }
}

impl Ranged for SlotAxis {
    type FormatOption = DefaultFormatting;
    type ValueType = f64;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        self.range.map(value, limit)
    }

    fn key_points<Hint: KeyPointHint>(&self, hint: Hint) -> Vec<f64> {
        if hint.weight().allow_light_points() {
            Vec::new()
        } else {
            self.labels.clone()
        }
    }

    fn range(&self) -> Range<f64> {
        self.range.range()
    }
}

/// The label of the day at slot `value`.
fn day_label(days: &[DayMetrics], value: f64) -> String {
    let index = value.round();
    if index < 0.0 || (index - value).abs() > 1e-6 {
        return String::new();
    }
    days.get(index as usize)
        .map(|day| short_day(&day.day).to_string())
        .unwrap_or_default()
}

/// The top of a y axis showing values up to `max`: some headroom, and at least `span`.
fn top_of(max: f64, span: f64) -> f64 {
    let max = finite(max);
    (max * 1.15).max(span)
}

/// A note drawn in the middle of an empty chart's plotting area.
fn note<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, text: &str)
where
    DB::ErrorType: 'static,
{
    let (width, height) = area.dim_in_pixel();
    let style = TextStyle::from((FONT, 22).into_font())
        .color(&AXIS)
        .pos(Pos::new(HPos::Center, VPos::Center));
    let _ = area.draw(&Text::new(
        text.to_string(),
        (width as i32 / 2, height as i32 / 2),
        style,
    ));
}

fn decisions_chart(days: &[DayMetrics]) -> ChartResult {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, CHART_SIZE).into_drawing_area();
        root.fill(&WHITE)?;
        let max = days.iter().map(|day| day.decisions).max().unwrap_or(0) as f64;
        let top = top_of(max, 4.0).ceil();
        let mut chart = ChartBuilder::on(&root)
            .caption("Decisions per day", (FONT, 22).into_font().color(&INK))
            .margin(12)
            .x_label_area_size(34)
            .y_label_area_size(54)
            .build_cartesian_2d(SlotAxis::days(days.len()), 0.0..top)?;
        let label = |value: &f64| day_label(days, *value);
        let count = |value: &f64| {
            if (value - value.round()).abs() < 1e-6 {
                format!("{value:.0}")
            } else {
                String::new()
            }
        };
        chart
            .configure_mesh()
            .disable_x_mesh()
            .light_line_style(WHITE)
            .bold_line_style(GRID)
            .axis_style(AXIS)
            .label_style((FONT, 17).into_font().color(&INK))
            .x_label_formatter(&label)
            .y_label_formatter(&count)
            .y_labels(6)
            .draw()?;
        chart.draw_series(days.iter().enumerate().map(|(index, day)| {
            let x = index as f64;
            Rectangle::new(
                [(x - 0.38, 0.0), (x + 0.38, day.decisions as f64)],
                ACCENT.filled(),
            )
        }))?;
        if max == 0.0 {
            note(&chart.plotting_area().strip_coord_spec(), "no decisions");
        }
        root.present()?;
    }
    Ok(svg)
}

/// Runs of consecutive days where `keep` holds, as (slot, value) points.
fn runs(
    days: &[DayMetrics],
    keep: impl Fn(&DayMetrics) -> bool,
    value: impl Fn(&DayMetrics) -> f64,
) -> Vec<Vec<(f64, f64)>> {
    let mut runs: Vec<Vec<(f64, f64)>> = Vec::new();
    let mut open = false;
    for (index, day) in days.iter().enumerate() {
        if keep(day) {
            let point = (index as f64, finite(value(day)));
            match runs.last_mut() {
                Some(run) if open => run.push(point),
                _ => runs.push(vec![point]),
            }
            open = true;
        } else {
            open = false;
        }
    }
    runs
}

/// A line of a daily chart: its legend, its colour and its value on a day.
type Line = (&'static str, RGBColor, fn(&DayMetrics) -> f64);

/// The points of `run` to mark: all, or when `dense` only a lone day's (a line needs two).
fn markers(run: &[(f64, f64)], dense: bool) -> impl Iterator<Item = (f64, f64)> + '_ {
    let all = !dense || run.len() == 1;
    run.iter().copied().filter(move |_| all)
}

fn latency_chart(days: &[DayMetrics]) -> ChartResult {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, CHART_SIZE).into_drawing_area();
        root.fill(&WHITE)?;
        let busy = |day: &DayMetrics| day.decisions > 0;
        let max = days
            .iter()
            .filter(|day| busy(day))
            .map(|day| finite(day.processing_ms.p95).max(finite(day.processing_ms_mean)))
            .fold(0.0, f64::max);
        // Room above the lines for the legend.
        let top = top_of(max * 1.3, 10.0);
        let mut chart = ChartBuilder::on(&root)
            .caption(
                "Processing time per day (ms)",
                (FONT, 22).into_font().color(&INK),
            )
            .margin(12)
            .x_label_area_size(34)
            .y_label_area_size(60)
            .build_cartesian_2d(SlotAxis::days(days.len()), 0.0..top)?;
        let label = |value: &f64| day_label(days, *value);
        let millis = |value: &f64| {
            let text = format!("{value:.1}");
            text.strip_suffix(".0").map(str::to_string).unwrap_or(text)
        };
        chart
            .configure_mesh()
            .disable_x_mesh()
            .light_line_style(WHITE)
            .bold_line_style(GRID)
            .axis_style(AXIS)
            .label_style((FONT, 17).into_font().color(&INK))
            .x_label_formatter(&label)
            .y_label_formatter(&millis)
            .y_labels(6)
            .draw()?;
        let series: [Line; 2] = [
            ("p95", SECOND, |day| day.processing_ms.p95),
            ("mean", ACCENT, |day| day.processing_ms_mean),
        ];
        let dense = days.len() > MARKED_DAYS;
        let mut drawn = false;
        for (name, color, value) in series {
            chart
                .draw_series(LineSeries::new(std::iter::empty(), color.stroke_width(2)))?
                .label(name)
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 18, y)], color.stroke_width(3))
                });
            for run in runs(days, busy, value) {
                drawn = true;
                chart.draw_series(LineSeries::new(run.iter().copied(), color.stroke_width(2)))?;
                chart.draw_series(
                    markers(&run, dense).map(|point| Circle::new(point, 3, color.filled())),
                )?;
            }
        }
        if drawn {
            chart
                .configure_series_labels()
                .position(SeriesLabelPosition::UpperLeft)
                .background_style(WHITE.mix(0.85))
                .border_style(GRID)
                .label_font((FONT, 16).into_font().color(&INK))
                .draw()?;
        }
        if max == 0.0 {
            note(&chart.plotting_area().strip_coord_spec(), "no decisions");
        }
        root.present()?;
    }
    Ok(svg)
}

fn satisfaction_chart(days: &[DayMetrics]) -> ChartResult {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, CHART_SIZE).into_drawing_area();
        root.fill(&WHITE)?;
        let judged = |day: &DayMetrics| day.feedback_count > 0;
        let mut chart = ChartBuilder::on(&root)
            .caption(
                "User satisfaction per day",
                (FONT, 22).into_font().color(&INK),
            )
            .margin(12)
            .x_label_area_size(34)
            .y_label_area_size(54)
            .build_cartesian_2d(SlotAxis::days(days.len()), 0.0..1.0)?;
        let label = |value: &f64| day_label(days, *value);
        let share = |value: &f64| format!("{value:.1}");
        chart
            .configure_mesh()
            .disable_x_mesh()
            .light_line_style(WHITE)
            .bold_line_style(GRID)
            .axis_style(AXIS)
            .label_style((FONT, 17).into_font().color(&INK))
            .x_label_formatter(&label)
            .y_label_formatter(&share)
            .y_labels(6)
            .draw()?;
        let value = |day: &DayMetrics| day.satisfaction.clamp(0.0, 1.0);
        let runs = runs(days, judged, value);
        for run in &runs {
            let mut area: Vec<(f64, f64)> = run.clone();
            if let (Some(&(first, _)), Some(&(last, _))) = (run.first(), run.last()) {
                area.push((last, 0.0));
                area.push((first, 0.0));
            }
            chart.draw_series(std::iter::once(Polygon::new(area, POSITIVE.mix(0.12))))?;
            chart.draw_series(LineSeries::new(
                run.iter().copied(),
                POSITIVE.stroke_width(2),
            ))?;
            chart.draw_series(
                markers(run, days.len() > MARKED_DAYS)
                    .map(|point| Circle::new(point, 3, POSITIVE.filled())),
            )?;
        }
        if runs.is_empty() {
            note(&chart.plotting_area().strip_coord_spec(), "no feedback");
        }
        root.present()?;
    }
    Ok(svg)
}

fn feedback_chart(feedback: &[Share]) -> ChartResult {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, CHART_SIZE).into_drawing_area();
        root.fill(&WHITE)?;
        let slots = feedback.len().max(1);
        let max = feedback.iter().map(|share| share.count).max().unwrap_or(0) as f64;
        let axis = SlotAxis::new(slots, 0..feedback.len());
        let mut chart = ChartBuilder::on(&root)
            .caption("Feedback by type", (FONT, 22).into_font().color(&INK))
            .margin(12)
            .x_label_area_size(34)
            .y_label_area_size(54)
            .build_cartesian_2d(axis, 0.0..top_of(max, 4.0).ceil())?;
        let label = |value: &f64| {
            let index = value.round();
            if index < 0.0 || (index - value).abs() > 1e-6 {
                return String::new();
            }
            feedback
                .get(index as usize)
                .map(|share| printable(&share.name).into_owned())
                .unwrap_or_default()
        };
        let count = |value: &f64| {
            if (value - value.round()).abs() < 1e-6 {
                format!("{value:.0}")
            } else {
                String::new()
            }
        };
        chart
            .configure_mesh()
            .disable_x_mesh()
            .light_line_style(WHITE)
            .bold_line_style(GRID)
            .axis_style(AXIS)
            .label_style((FONT, 17).into_font().color(&INK))
            .x_label_formatter(&label)
            .y_label_formatter(&count)
            .y_labels(6)
            .draw()?;
        chart.draw_series(feedback.iter().enumerate().map(|(index, share)| {
            let x = index as f64;
            let color = match share.name.as_str() {
                "like" | "use" => POSITIVE,
                "dislike" | "skip" => ACCENT,
                _ => SECOND,
            };
            Rectangle::new(
                [(x - 0.32, 0.0), (x + 0.32, share.count as f64)],
                color.filled(),
            )
        }))?;
        chart.draw_series(
            feedback
                .iter()
                .enumerate()
                .filter(|(_, share)| share.count > 0)
                .map(|(index, share)| {
                    Text::new(
                        share.count.to_string(),
                        (index as f64, share.count as f64),
                        (FONT, 16)
                            .into_font()
                            .color(&INK)
                            .pos(Pos::new(HPos::Center, VPos::Bottom)),
                    )
                }),
        )?;
        if max == 0.0 {
            note(&chart.plotting_area().strip_coord_spec(), "no feedback");
        }
        root.present()?;
    }
    Ok(svg)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use chrono::{TimeZone, Utc};

    use super::super::report::{FeedbackTrends, PerformanceMetrics, Period, Report};
    use super::escape;
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
        assert!((2..=super::MAX_DAY_LABELS).contains(&labels), "{labels}");
        assert!(svg.contains("03-30"), "the last day is labelled");
    }
}
