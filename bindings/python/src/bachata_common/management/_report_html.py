"""The performance report as a self-contained HTML page (the native host's ``monitor report
--html`` page): key figures, ranking quality, charts drawn here as inline SVG, each running A/B
test, and tables per version, top move and feedback type. The page has no script and loads
nothing from elsewhere; every name from the data is escaped."""

from __future__ import annotations

import math
from html import escape

__all__ = ["to_html"]

_STYLE = """
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
table { border-collapse: collapse; background: #fff; border: 1px solid #e3e2ea; min-width: 50%; }
th, td { padding: 6px 12px; border-bottom: 1px solid #ececf1; text-align: left; }
th { background: #faf9fc; font-size: 13px; color: #55556a; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
td.name { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace; font-size: 14px; overflow-wrap: anywhere; }
.bar { display: inline-block; height: 10px; background: #c2185b; border-radius: 2px; vertical-align: middle; }
.empty { color: #77778a; font-style: italic; }
.experiment { background: #fff; border: 1px solid #e3e2ea; border-radius: 8px; padding: 4px 16px 14px; margin-bottom: 14px; }
.verdict { font-size: 18px; font-weight: 600; border-left: 5px solid #99a; padding: 4px 10px; }
.verdict-wins { border-color: #2e7d32; } .verdict-loses, .verdict-mismatch { border-color: #c2185b; }
.verdict-mixed { border-color: #f0a020; }
.srm-mismatch { color: #b00020; font-weight: 600; }
tr.outcome-better td { background: #eef7ee; } tr.outcome-worse td { background: #fbeef3; }
footer { margin-top: 32px; font-size: 12px; color: #88889a; }
"""


def _finite(value) -> float:
    try:
        value = float(value)
    except (TypeError, ValueError):
        return 0.0
    return value if math.isfinite(value) else 0.0


def _number(value, digits: int) -> str:
    return f"{_finite(value):.{digits}f}"


def _percent(value) -> str:
    return f"{_finite(value) * 100:.1f} %"


def _text(value) -> str:
    return escape(str(value), quote=True)


def _kpi(ident: str, label: str, value: str, note: str = "") -> str:
    note = f" <small>{note}</small>" if note else ""
    return f'<div class="kpi" id="kpi-{ident}"><dt>{label}</dt><dd>{value}{note}</dd></div>\n'


def _key_figures(metrics: dict) -> str:
    latency = metrics.get("processing_time_ms") or {}
    feedback = metrics.get("feedback_count", 0) > 0
    rating = metrics.get("mean_rating")
    out = ['<section id="key-figures">\n<h2>Key figures</h2>\n<dl class="kpis">\n']
    out.append(_kpi("decisions", "Decisions", str(metrics.get("total_recommendations", 0))))
    out.append(_kpi("latency-mean", "Mean latency", _number(metrics.get("avg_processing_time_ms"), 1), "ms"))
    for name in ("p50", "p95", "p99"):
        out.append(_kpi(f"latency-{name}", f"Latency {name}", _number(latency.get(name), 1), "ms"))
    out.append(_kpi("score", "Mean score", _number(metrics.get("avg_recommendation_score"), 3)))
    out.append(_kpi("satisfaction", "Satisfaction", _number(metrics.get("user_satisfaction_score"), 3) if feedback else "—", "of 1"))
    out.append(_kpi("rating", "Mean rating", "—" if rating is None else _number(rating, 2), "of 5"))
    out.append(_kpi("feedback", "Feedback", str(metrics.get("feedback_count", 0)), "events"))
    out.append("</dl>\n")
    ranking = metrics.get("ranking") or {}
    k = ranking.get("k", 5)
    judged = ranking.get("judged_decisions", 0)
    out.append(
        f'<h2 id="ranking-title">Ranking quality at k = {k} <small>({judged} judged '
        f'{"decision" if judged == 1 else "decisions"})</small></h2>\n<dl class="kpis" id="ranking">\n'
    )
    for ident, label, key in (
        ("precision", f"Precision@{k}", "precision"),
        ("recall", f"Recall@{k}", "recall"),
        ("f1", f"F1@{k}", "f1"),
        ("ndcg", f"NDCG@{k}", "ndcg"),
        ("mrr", "MRR", "mrr"),
        ("hit-rate", f"Hit rate@{k}", "hit_rate"),
        ("accuracy", "Accuracy (1st move)", "accuracy"),
    ):
        out.append(_kpi(ident, label, _number(ranking.get(key), 3) if judged else "—"))
    out.append("</dl>\n</section>\n")
    return "".join(out)


def _bar_chart(ident: str, caption: str, labels: list, values: list, digits: int) -> str:
    """A bar chart as inline SVG: one bar per label, the largest value on top of the axis."""
    width, height, left, bottom, top = 640, 240, 48, 40, 16
    plot_w, plot_h = width - left - 12, height - top - bottom
    values = [_finite(value) for value in values]
    highest = max(values, default=0.0)
    scale = highest if highest > 0 else 1.0
    count = max(len(values), 1)
    step = plot_w / count
    bar = max(step * 0.7, 1.0)
    parts = [
        f'<figure id="chart-{ident}"><svg viewBox="0 0 {width} {height}" role="img" aria-labelledby="caption-{ident}" '
        'xmlns="http://www.w3.org/2000/svg">',
        f'<line x1="{left}" y1="{top + plot_h}" x2="{left + plot_w}" y2="{top + plot_h}" stroke="#99a"/>',
        f'<text x="{left - 6}" y="{top + 4}" text-anchor="end" font-size="11" fill="#55556a">{_number(highest, digits)}</text>',
        f'<text x="{left - 6}" y="{top + plot_h}" text-anchor="end" font-size="11" fill="#55556a">0</text>',
    ]
    every = max(1, math.ceil(count / 12))
    for index, (label, value) in enumerate(zip(labels, values)):
        x = left + index * step + (step - bar) / 2
        h = plot_h * value / scale
        parts.append(
            f'<rect x="{x:.1f}" y="{top + plot_h - h:.1f}" width="{bar:.1f}" height="{h:.1f}" fill="#c2185b">'
            f"<title>{_text(label)}: {_number(value, digits)}</title></rect>"
        )
        if index % every == 0:
            parts.append(
                f'<text x="{x + bar / 2:.1f}" y="{top + plot_h + 16}" text-anchor="middle" font-size="11" '
                f'fill="#55556a">{_text(label)}</text>'
            )
    parts.append(f'</svg><figcaption id="caption-{ident}">{_text(caption)}</figcaption></figure>\n')
    return "".join(parts)


def _charts(report: dict) -> str:
    days = report.get("daily_metrics") or []
    labels = [str(day.get("day", ""))[5:] for day in days]
    feedback = (report.get("overall_metrics") or {}).get("feedback") or []
    return "".join([
        '<section id="charts">\n<h2>Per day</h2>\n<div class="charts">\n',
        _bar_chart("decisions", "Decisions per day", labels, [day.get("decisions", 0) for day in days], 0),
        _bar_chart("latency", "Mean processing time per day (ms)", labels, [day.get("processing_ms_mean", 0) for day in days], 1),
        _bar_chart("satisfaction", "Satisfaction per day (0 to 1)", labels, [day.get("satisfaction", 0) for day in days], 3),
        _bar_chart("feedback", "Feedback by type", [share["name"] for share in feedback], [share["count"] for share in feedback], 0),
        "</div>\n</section>\n",
    ])


def _experiments(experiments: list, omitted: int) -> str:
    if not experiments and not omitted:
        return ""
    out = ['<section id="experiments">\n<h2>A/B tests running in the period</h2>\n']
    for analysis in experiments:
        test_id = _text(analysis.get("test_id", ""))
        out.append(f'<div class="experiment"><h3 class="name">{test_id}</h3>\n')
        if "error" in analysis:
            out.append(f'<p class="verdict verdict-mismatch">{_text(analysis["error"])}</p>\n</div>\n')
            continue
        verdict = analysis.get("verdict") or {}
        kind = _text(str(verdict.get("kind", "")).replace("_", "-"))
        out.append(f'<p class="verdict verdict-{kind}">{_text(verdict.get("headline", ""))}</p>\n')
        reasons = verdict.get("reasons") or []
        if reasons:
            out.append("<ul>" + "".join(f"<li>{_text(reason)}</li>" for reason in reasons) + "</ul>\n")
        ratio = analysis.get("sample_ratio") or {}
        if ratio:
            mismatch = ratio.get("mismatch")
            p_value = ratio.get("p_value")
            out.append(
                f'<p class="{"srm-mismatch" if mismatch else "srm"}">Sample ratio: '
                f'{"mismatch" if mismatch else "ok"}{"" if p_value is None else f" (p = {_number(p_value, 4)})"}</p>\n'
            )
        arms = analysis.get("arms") or []
        if arms:
            out.append(
                '<table><thead><tr><th>Version</th><th class="num">Units</th><th class="num">Share</th>'
                '<th class="num">Expected</th></tr></thead><tbody>\n'
            )
            for arm in arms:
                out.append(
                    f'<tr><td class="name">{_text(arm.get("version", ""))}</td><td class="num">{arm.get("units", 0)}</td>'
                    f'<td class="num">{_percent(arm.get("observed_share"))}</td>'
                    f'<td class="num">{_percent(arm.get("expected_share"))}</td></tr>\n'
                )
            out.append("</tbody></table>\n")
        comparisons = analysis.get("comparisons") or []
        if comparisons:
            out.append(
                '<table><thead><tr><th>Metric</th><th>Version</th><th class="num">Control</th><th class="num">Variation</th>'
                '<th class="num">Relative effect</th><th class="num">95 % interval</th><th class="num">p</th>'
                "<th>Outcome</th></tr></thead><tbody>\n"
            )
            for comparison in comparisons:
                relative = comparison.get("relative") or {}
                outcome = str(comparison.get("outcome", ""))
                out.append(
                    f'<tr class="outcome-{_text(outcome)}"><td class="name">{_text(comparison.get("metric", ""))}</td>'
                    f'<td class="name">{_text(comparison.get("version", ""))}</td>'
                    f'<td class="num">{_number(comparison.get("control_mean"), 3)}</td>'
                    f'<td class="num">{_number(comparison.get("mean"), 3)}</td>'
                    f'<td class="num">{_percent(relative.get("effect"))}</td>'
                    f'<td class="num">{_percent(relative.get("ci_lower"))} to {_percent(relative.get("ci_upper"))}</td>'
                    f'<td class="num">{_number(comparison.get("adjusted_p_value", relative.get("p_value")), 4)}</td>'
                    f"<td>{_text(outcome)}</td></tr>\n"
                )
            out.append("</tbody></table>\n")
        out.append("</div>\n")
    if omitted:
        out.append(f'<p class="empty">{omitted} more running A/B tests are not shown.</p>\n')
    out.append("</section>\n")
    return "".join(out)


def _versions(metrics: dict) -> str:
    versions = metrics.get("by_version") or {}
    if len(versions) < 2:
        return ""
    k = (metrics.get("ranking") or {}).get("k", 5)
    out = [
        '<section id="versions">\n<h2>Per algorithm version</h2>\n<table id="versions-table">\n'
        '<thead><tr><th>Version</th><th class="num">Decisions</th><th class="num">Mean ms</th>'
        '<th class="num">p95 ms</th><th class="num">Mean score</th><th class="num">Satisfaction</th>'
        f'<th class="num">Feedback</th><th class="num">Precision@{k}</th><th class="num">NDCG@{k}</th>'
        f'<th class="num">Hit rate@{k}</th></tr></thead>\n<tbody>\n'
    ]
    for name, version in versions.items():
        ranking = version.get("ranking") or {}
        judged = ranking.get("judged_decisions", 0) > 0

        def ranked(key: str) -> str:
            return _number(ranking.get(key), 3) if judged else "—"

        out.append(
            f'<tr><td class="name">{_text(name)}</td><td class="num">{version.get("total_recommendations", 0)}</td>'
            f'<td class="num">{_number(version.get("avg_processing_time_ms"), 1)}</td>'
            f'<td class="num">{_number((version.get("processing_time_ms") or {}).get("p95"), 1)}</td>'
            f'<td class="num">{_number(version.get("avg_recommendation_score"), 3)}</td>'
            f'<td class="num">{_number(version.get("user_satisfaction_score"), 3) if version.get("feedback_count") else "—"}</td>'
            f'<td class="num">{version.get("feedback_count", 0)}</td><td class="num">{ranked("precision")}</td>'
            f'<td class="num">{ranked("ndcg")}</td><td class="num">{ranked("hit_rate")}</td></tr>\n'
        )
    out.append("</tbody>\n</table>\n</section>\n")
    return "".join(out)


def _top_moves(moves: list) -> str:
    out = ['<section id="top-moves">\n<h2>Top recommended moves</h2>\n']
    if not moves:
        out.append('<p class="empty">No move was recommended in this period.</p>\n</section>\n')
        return "".join(out)
    out.append(
        '<table id="top-moves-table">\n<thead><tr><th class="num">#</th><th>Move</th><th class="num">Decisions</th>'
        '<th class="num">Share of recommendations</th><th></th></tr></thead>\n<tbody>\n'
    )
    widest = max((_finite(share.get("rate")) for share in moves), default=0.0)
    for rank, share in enumerate(moves, start=1):
        width = min(max(_finite(share.get("rate")) / widest * 160.0, 0.0), 160.0) if widest > 0 else 0.0
        out.append(
            f'<tr><td class="num">{rank}</td><td class="name">{_text(share.get("name", ""))}</td>'
            f'<td class="num">{share.get("count", 0)}</td><td class="num">{_percent(share.get("rate"))}</td>'
            f'<td><span class="bar" style="width:{width:.0f}px"></span></td></tr>\n'
        )
    out.append("</tbody>\n</table>\n</section>\n")
    return "".join(out)


def _feedback(feedback: list) -> str:
    out = ['<section id="feedback">\n<h2>Feedback by type</h2>\n']
    if all(share.get("count", 0) == 0 for share in feedback):
        out.append('<p class="empty">No feedback in this period.</p>\n</section>\n')
        return "".join(out)
    out.append(
        '<table id="feedback-table">\n<thead><tr><th>Type</th><th class="num">Events</th>'
        '<th class="num">Per decision</th></tr></thead>\n<tbody>\n'
    )
    for share in feedback:
        out.append(
            f'<tr><td class="name">{_text(share.get("name", ""))}</td><td class="num">{share.get("count", 0)}</td>'
            f'<td class="num">{_number(share.get("rate"), 3)}</td></tr>\n'
        )
    out.append("</tbody>\n</table>\n</section>\n")
    return "".join(out)


def to_html(report: dict) -> str:
    """The report of ``PerformanceMonitor.generate_performance_report`` as an HTML5 page."""
    metrics = report.get("overall_metrics") or {}
    period = report.get("report_period") or {}
    start, end, days = _text(period.get("start", "")), _text(period.get("end", "")), period.get("days", 0)
    out = [
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        '<meta name="referrer" content="no-referrer">\n'
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\n",
        f"<title>Bachata Buddy — recommender performance, {start} to {end}</title>\n",
        f"<style>{_STYLE}</style>\n</head>\n<body>\n<main>\n",
        '<header>\n<h1 id="title">Bachata Buddy — recommender performance</h1>\n'
        f'<p class="period" id="period">{start} to {end} ({days} {"day" if days == 1 else "days"}, UTC) · '
        f'generated {_text(report.get("generated_at", ""))}</p>\n</header>\n',
    ]
    if not metrics.get("total_recommendations") and not metrics.get("feedback_count"):
        out.append(
            '<p class="no-data" id="no-data">No data: no decision and no feedback were recorded in this period.</p>\n'
        )
    out.append(_key_figures(metrics))
    out.append(_charts(report))
    out.append(_experiments(report.get("experiments") or [], report.get("experiments_omitted", 0)))
    out.append(_versions(metrics))
    out.append(_top_moves(report.get("top_recommended_moves") or []))
    out.append(_feedback(metrics.get("feedback") or []))
    k = (metrics.get("ranking") or {}).get("k", 5)
    out.append(
        f"<footer>Bachata Buddy shared services · performance monitor · ranking at k = {k} · satisfaction in [0, 1] "
        "from likes, uses, dislikes, skips and ratings</footer>\n</main>\n</body>\n</html>\n"
    )
    return "".join(out)
