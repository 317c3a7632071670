"""``manage.py monitor_report [--days 7] [--html OUT] [--json]``: the performance monitor's
report (``bachata-common monitor report``): metrics of the period, each day, the top moves and
every A/B test running in it."""

from django.core.management.base import BaseCommand, CommandError

from ...monitor import MAX_DAYS
from .. import _common
from .._report_html import to_html


class Command(BaseCommand):
    help = (
        "The recommender's performance report for the last DAYS days: decisions, latency, scores, "
        "satisfaction, feedback, ranking quality, each day, the top moves and the A/B tests running. "
        "--html OUT writes it as a self-contained page (charts as inline SVG, no script)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--days", type=int, default=7, help=f"the period, in days up to today (1 to {MAX_DAYS}; default 7)")
        parser.add_argument("--html", metavar="OUT", help="write the report as an HTML page to OUT (a regular file, replaced atomically)")
        parser.add_argument("--json", action="store_true", help="machine-readable output")

    def handle(self, *args, days=7, html=None, json=False, **options):
        if not 1 <= days <= MAX_DAYS:
            raise CommandError(f"--days must be from 1 to {MAX_DAYS}, not {days}", returncode=_common.INVALID)
        if html is not None:
            _common.check_target(html, "html")
        services = _common.services()
        try:
            monitor = services.performance_monitor()
            try:
                report = monitor.generate_performance_report(days=days)
            finally:
                monitor.close()
        except Exception as error:
            raise _common.failure(error) from None
        if html is not None:
            path = _common.write_file(html, to_html(report).encode("utf-8"), "html")
            if json:
                self.stdout.write(_common.to_json({"path": str(path)}))
            else:
                self.stdout.write(_common.printable(str(path)))
            return
        if json:
            self.stdout.write(_common.to_json(report, indent=2))
            return
        self._metrics(report["overall_metrics"])
        self.stdout.write("")
        self.stdout.write("day         decisions  mean ms    p95 ms  satisfaction  feedback")
        for day in report["daily_metrics"]:
            self.stdout.write(
                f"{day['day']}  {day['decisions']:>9}  {day['processing_ms_mean']:>7.1f}  "
                f"{day['processing_ms']['p95']:>8.1f}  {day['satisfaction']:>12.3f}  {day['feedback_count']:>8}"
            )
        if report.get("experiments_omitted"):
            self.stdout.write("")
            self.stdout.write(f"{report['experiments_omitted']} more running experiment(s) not shown")
        for section in report["experiments"]:
            summary = section["error"] if "error" in section else section["verdict"]["headline"]
            self.stdout.write("")
            self.stdout.write(f"experiment {_common.printable(section['test_id'])}: {_common.printable(summary)}")

    def _metrics(self, metrics: dict) -> None:
        period = metrics["period"]
        version = metrics.get("algorithm_version") or "all versions"
        latency = metrics["processing_time_ms"]
        write = self.stdout.write
        write(f"{period['start']} to {period['end']} ({period['days']} days, {_common.printable(version)})")
        write(f"decisions        {metrics['total_recommendations']}")
        write(
            f"processing ms    mean {metrics['avg_processing_time_ms']:.1f} · p50 {latency['p50']:.1f} · "
            f"p95 {latency['p95']:.1f} · p99 {latency['p99']:.1f}"
        )
        write(f"mean score       {metrics['avg_recommendation_score']:.3f}")
        write(f"satisfaction     {metrics['user_satisfaction_score']:.3f}")
        if metrics.get("mean_rating") is not None:
            write(f"mean rating      {metrics['mean_rating']:.2f}")
        feedback = ", ".join(f"{_common.printable(share['name'])} {share['count']}" for share in metrics["feedback"])
        write(f"feedback         {metrics['feedback_count']} ({feedback})")
        r = metrics["ranking"]
        write(
            f"ranking @{r['k']}       precision {r['precision']:.3f} · recall {r['recall']:.3f} · F1 {r['f1']:.3f} · "
            f"hit rate {r['hit_rate']:.3f} · MRR {r['mrr']:.3f} · NDCG {r['ndcg']:.3f} · accuracy {r['accuracy']:.3f} "
            f"({r['judged_decisions']} judged decisions)"
        )
        top = ", ".join(
            f"{_common.printable(share['name'])} {share['count']}" for share in metrics["recommendation_distribution"][:10]
        )
        if top:
            write(f"top moves        {top}")
        for name, version in (metrics.get("by_version") or {}).items():
            write(
                f"  version {_common.printable(name)}: {version['total_recommendations']} decisions, "
                f"mean {version['avg_processing_time_ms']:.1f} ms, satisfaction {version['user_satisfaction_score']:.3f}, "
                f"precision@{version['ranking']['k']} {version['ranking']['precision']:.3f}"
            )
