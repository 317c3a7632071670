//! The report's experiments: for each, the verdict and the numbers behind it, the
//! sample-ratio check, the traffic per variation, and a chart of every relative effect with
//! its 95 % interval (a confidence sequence in sequential mode).

use std::fmt::Write as _;

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::charts::{ACCENT, AXIS, ChartResult, FONT, GRID, INK, POSITIVE, figure};
use super::format::{escape, number, percent};
use crate::types::experiments::{Analysis, Comparison, Outcome, ReportedExperiment, VerdictKind};
use crate::types::text::printable;

/// Each experiment's section (nothing when there is none).
pub(super) fn experiments(page: &mut String, sections: &[ReportedExperiment], omitted: u64) {
    if sections.is_empty() {
        return;
    }
    page.push_str("<section id=\"experiments\">\n<h2>Experiments</h2>\n");
    if omitted > 0 {
        let _ = writeln!(
            page,
            "<p class=\"omitted\">{omitted} more running experiment(s) are not shown: each \
             has its own analysis (<code>GET /v1/experiments/&lt;id&gt;/analysis</code>).</p>"
        );
    }
    for section in sections {
        match section {
            ReportedExperiment::Analyzed(analysis) => experiment(page, analysis),
            ReportedExperiment::Failed { test_id, error } => {
                let id = escape(test_id);
                let _ = writeln!(
                    page,
                    "<article class=\"experiment\" id=\"experiment-{id}\">\n<h3>{id}</h3>\n\
                     <p class=\"verdict failed\" id=\"verdict-{id}\">{}</p>\n</article>",
                    escape(error)
                );
            }
        }
    }
    page.push_str("</section>\n");
}

fn verdict_class(kind: VerdictKind) -> &'static str {
    match kind {
        VerdictKind::NotEnoughData => "not-enough-data",
        VerdictKind::SampleRatioMismatch => "mismatch",
        VerdictKind::NoSignificantDifference => "no-difference",
        VerdictKind::Wins => "wins",
        VerdictKind::Loses => "loses",
        VerdictKind::Mixed => "mixed",
    }
}

fn experiment(page: &mut String, analysis: &Analysis) {
    let id = escape(&analysis.test_id);
    let _ = writeln!(
        page,
        "<article class=\"experiment\" id=\"experiment-{id}\">\n<h3>{id}</h3>\n\
         <p class=\"verdict verdict-{}\" id=\"verdict-{id}\">{}</p>",
        verdict_class(analysis.verdict.kind),
        escape(&analysis.verdict.headline)
    );
    if !analysis.verdict.reasons.is_empty() {
        page.push_str("<ul class=\"reasons\">\n");
        for reason in &analysis.verdict.reasons {
            let _ = writeln!(page, "<li>{}</li>", escape(reason));
        }
        page.push_str("</ul>\n");
    }
    let srm = &analysis.sample_ratio;
    let (class, text) = match srm.p_value {
        Some(p) if srm.mismatch => (
            "mismatch",
            format!("Sample ratio mismatch (p = {p:.2e} < 0.001): do not trust these results."),
        ),
        Some(p) => ("ok", format!("Sample ratio as planned (p = {p:.4}).")),
        None => (
            "not-enough-traffic",
            "Not enough traffic for the sample-ratio check (8 units per variation).".to_string(),
        ),
    };
    let _ = writeln!(
        page,
        "<p class=\"srm srm-{class}\" id=\"srm-{id}\">{}</p>",
        escape(&text)
    );
    page.push_str(
        "<table class=\"arms\">\n<thead><tr><th>Version</th><th>Units</th><th>Share</th>\
         <th>Planned</th></tr></thead>\n<tbody>\n",
    );
    for arm in &analysis.arms {
        let _ = writeln!(
            page,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(&arm.version),
            arm.units,
            percent(arm.observed_share),
            percent(arm.expected_share)
        );
    }
    page.push_str("</tbody>\n</table>\n");
    let interval = if analysis.sequential {
        "95 % confidence sequence (valid at any look)"
    } else {
        "95 % confidence interval"
    };
    figure(
        page,
        &format!("effects-{}", analysis.test_id),
        &format!("Effects of {}", analysis.test_id),
        &format!(
            "Relative effect of each variation against the control, with its {interval}; \
             green: significantly better, red: significantly worse."
        ),
        effects_chart(&analysis.comparisons),
    );
    comparisons_table(page, analysis);
    page.push_str("</article>\n");
}

fn comparisons_table(page: &mut String, analysis: &Analysis) {
    page.push_str(
        "<table class=\"comparisons\">\n<thead><tr><th>Metric</th><th>Version</th>\
         <th>Control</th><th>Variation</th><th>Relative effect</th><th>95 % interval</th>\
         <th>p</th><th>Adjusted p</th><th>Chance to win</th></tr></thead>\n<tbody>\n",
    );
    for c in &analysis.comparisons {
        let (effect, interval, p) = match (&c.relative, &c.absolute) {
            (Some(r), _) => (
                signed_percent(r.effect),
                format!(
                    "{} to {}",
                    signed_percent(r.ci_lower),
                    signed_percent(r.ci_upper)
                ),
                number(r.p_value, 4),
            ),
            (None, Some(a)) => (
                number(a.effect, 4),
                format!("{} to {}", number(a.ci_lower, 4), number(a.ci_upper, 4)),
                number(a.p_value, 4),
            ),
            (None, None) => (
                "—".to_string(),
                c.problem.clone().unwrap_or_default(),
                "—".to_string(),
            ),
        };
        let _ = writeln!(
            page,
            "<tr class=\"outcome-{}\"><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>\
             <td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            outcome_name(c.outcome),
            escape(&c.metric),
            escape(&c.version),
            number(c.control_mean, 4),
            number(c.mean, 4),
            escape(&effect),
            escape(&interval),
            p,
            c.adjusted_p_value.map_or("—".to_string(), |p| number(p, 4)),
            c.bayesian
                .as_ref()
                .map_or("—".to_string(), |b| chance(b.chance_to_win)),
        );
    }
    page.push_str("</tbody>\n</table>\n");
}

fn outcome_name(outcome: Outcome) -> &'static str {
    match outcome {
        Outcome::Better => "better",
        Outcome::Worse => "worse",
        Outcome::Inconclusive => "inconclusive",
    }
}

/// A probability as a percentage, never rounded to a certainty.
fn chance(p: f64) -> String {
    if p > 0.999 {
        "> 99.9 %".to_string()
    } else if p < 0.001 {
        "< 0.1 %".to_string()
    } else {
        percent(p)
    }
}

fn signed_percent(x: f64) -> String {
    if x.is_finite() {
        format!("{:+.1} %", x * 100.0)
    } else {
        "—".to_string()
    }
}

/// The chart's rows: a label and the relative effect's point and interval, in percent.
fn rows(comparisons: &[Comparison]) -> Vec<(String, f64, f64, f64, Outcome)> {
    comparisons
        .iter()
        .filter_map(|c| {
            let r = c.relative.as_ref()?;
            let finite = [r.effect, r.ci_lower, r.ci_upper]
                .iter()
                .all(|x| x.is_finite());
            finite.then(|| {
                (
                    format!("{} · {}", printable(&c.metric), printable(&c.version)),
                    r.effect * 100.0,
                    r.ci_lower * 100.0,
                    r.ci_upper * 100.0,
                    c.outcome,
                )
            })
        })
        .collect()
}

/// Every relative effect as a point with its interval, 0 marked.
fn effects_chart(comparisons: &[Comparison]) -> ChartResult {
    let rows = rows(comparisons);
    let height = 90 + 44 * rows.len().max(1) as u32;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (640, height)).into_drawing_area();
        root.fill(&WHITE)?;
        let low = rows.iter().map(|row| row.2).fold(0.0_f64, f64::min);
        let high = rows.iter().map(|row| row.3).fold(0.0_f64, f64::max);
        let pad = ((high - low) * 0.08).max(1.0);
        let count = rows.len().max(1) as f64;
        let label = |y: &f64| {
            let index = y.round();
            if (index - y).abs() > 1e-6 || index < 0.0 {
                return String::new();
            }
            rows.get(index as usize)
                .map(|row| row.0.clone())
                .unwrap_or_default()
        };
        let mut chart = ChartBuilder::on(&root)
            .caption("Relative effect (%)", (FONT, 20).into_font().color(&INK))
            .margin(12)
            .x_label_area_size(34)
            .y_label_area_size(210)
            .build_cartesian_2d((low - pad)..(high + pad), -0.5..(count - 0.5))?;
        chart
            .configure_mesh()
            .disable_y_mesh()
            .light_line_style(WHITE)
            .bold_line_style(GRID)
            .axis_style(AXIS)
            .label_style((FONT, 15).into_font().color(&INK))
            .x_label_formatter(&|x| format!("{x:+.0}"))
            .y_label_formatter(&label)
            .y_labels(rows.len().max(1) * 2 + 1)
            .draw()?;
        chart.draw_series(std::iter::once(PathElement::new(
            vec![(0.0, -0.5), (0.0, count - 0.5)],
            AXIS.stroke_width(2),
        )))?;
        for (index, (_, effect, lower, upper, outcome)) in rows.iter().enumerate() {
            let y = index as f64;
            let color = match outcome {
                Outcome::Better => POSITIVE,
                Outcome::Worse => ACCENT,
                Outcome::Inconclusive => INK,
            };
            chart.draw_series(std::iter::once(PathElement::new(
                vec![(*lower, y), (*upper, y)],
                color.stroke_width(3),
            )))?;
            chart.draw_series(std::iter::once(Circle::new(
                (*effect, y),
                6,
                color.filled(),
            )))?;
        }
        if rows.is_empty() {
            let (width, height) = chart.plotting_area().dim_in_pixel();
            let style = TextStyle::from((FONT, 20).into_font())
                .color(&AXIS)
                .pos(Pos::new(HPos::Center, VPos::Center));
            let _ = chart.plotting_area().strip_coord_spec().draw(&Text::new(
                "no effect can be estimated yet".to_string(),
                (width as i32 / 2, height as i32 / 2),
                style,
            ));
        }
        root.present()?;
    }
    Ok(svg)
}
