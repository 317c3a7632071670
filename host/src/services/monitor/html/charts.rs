//! The report's charts, drawn with plotters as SVG for the page to inline.

use std::fmt::Write as _;

use plotters::coord::Shift;
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::Report;
use super::axis::{SlotAxis, day_label, top_of};
use super::format::{escape, finite};
use crate::types::metrics::{DayMetrics, Share};
use crate::types::text::printable;

/// Chart size in SVG units (the page scales it to its column).
const CHART_SIZE: (u32, u32) = (640, 320);
/// Days beyond which line charts mark only lone days.
const MARKED_DAYS: usize = 31;

pub(super) const INK: RGBColor = RGBColor(0x33, 0x33, 0x3d);
pub(super) const GRID: RGBColor = RGBColor(0xe6, 0xe6, 0xeb);
pub(super) const AXIS: RGBColor = RGBColor(0x99, 0x99, 0xa3);
pub(super) const ACCENT: RGBColor = RGBColor(0xc2, 0x18, 0x5b);
const SECOND: RGBColor = RGBColor(0x3f, 0x51, 0xb5);
pub(super) const POSITIVE: RGBColor = RGBColor(0x2e, 0x7d, 0x32);
pub(super) const FONT: &str = "sans-serif";

/// The four charts, each in its figure.
pub(super) fn charts(page: &mut String, report: &Report) {
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

pub(super) type ChartResult = Result<String, Box<dyn std::error::Error>>;

/// A chart's figure: its SVG (given an id and an accessible name) and its caption.
pub(super) fn figure(page: &mut String, id: &str, title: &str, caption: &str, chart: ChartResult) {
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

/// A chart on the page's axes: days (or types) as slots across, 0 to `top` up.
type Chart<'a, 'b> = ChartContext<'a, SVGBackend<'b>, Cartesian2d<SlotAxis, RangedCoordf64>>;

/// How a chart's axes are labelled.
struct Labels<'f> {
    /// The slots' labels.
    x: &'f dyn Fn(&f64) -> String,
    /// The values' labels.
    y: &'f dyn Fn(&f64) -> String,
    /// Room for the values' labels, in SVG units.
    y_area: u32,
}

/// A chart with the page's caption, grid, axes and label styles, drawn on `root`.
fn chart_on<'a, 'b>(
    root: &'a DrawingArea<SVGBackend<'b>, Shift>,
    caption: &str,
    x: SlotAxis,
    top: f64,
    labels: &Labels<'_>,
) -> Result<Chart<'a, 'b>, Box<dyn std::error::Error>> {
    let mut chart = ChartBuilder::on(root)
        .caption(caption, (FONT, 22).into_font().color(&INK))
        .margin(12)
        .x_label_area_size(34)
        .y_label_area_size(labels.y_area)
        .build_cartesian_2d(x, 0.0..top)?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .light_line_style(WHITE)
        .bold_line_style(GRID)
        .axis_style(AXIS)
        .label_style((FONT, 17).into_font().color(&INK))
        .x_label_formatter(labels.x)
        .y_label_formatter(labels.y)
        .y_labels(6)
        .draw()?;
    Ok(chart)
}

/// A whole count as a label; nothing between whole numbers.
fn whole(value: &f64) -> String {
    if (value - value.round()).abs() < 1e-6 {
        format!("{value:.0}")
    } else {
        String::new()
    }
}

fn decisions_chart(days: &[DayMetrics]) -> ChartResult {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, CHART_SIZE).into_drawing_area();
        root.fill(&WHITE)?;
        let max = days.iter().map(|day| day.decisions).max().unwrap_or(0) as f64;
        let top = top_of(max, 4.0).ceil();
        let label = |value: &f64| day_label(days, *value);
        let labels = Labels {
            x: &label,
            y: &whole,
            y_area: 54,
        };
        let mut chart = chart_on(
            &root,
            "Decisions per day",
            SlotAxis::days(days.len()),
            top,
            &labels,
        )?;
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
        let label = |value: &f64| day_label(days, *value);
        let millis = |value: &f64| {
            let text = format!("{value:.1}");
            text.strip_suffix(".0").map(str::to_string).unwrap_or(text)
        };
        let labels = Labels {
            x: &label,
            y: &millis,
            y_area: 60,
        };
        let mut chart = chart_on(
            &root,
            "Processing time per day (ms)",
            SlotAxis::days(days.len()),
            top,
            &labels,
        )?;
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
        let label = |value: &f64| day_label(days, *value);
        let share = |value: &f64| format!("{value:.1}");
        let labels = Labels {
            x: &label,
            y: &share,
            y_area: 54,
        };
        let mut chart = chart_on(
            &root,
            "User satisfaction per day",
            SlotAxis::days(days.len()),
            1.0,
            &labels,
        )?;
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
        let labels = Labels {
            x: &label,
            y: &whole,
            y_area: 54,
        };
        let top = top_of(max, 4.0).ceil();
        let mut chart = chart_on(&root, "Feedback by type", axis, top, &labels)?;
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
