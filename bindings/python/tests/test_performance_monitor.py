"""The original app's ``PerformanceMonitor`` API through the Python host: decisions, feedback,
metrics, reports and A/B tests (assignment and analysis by the policy), on a database the native
host reads the same way."""

import collections
import json
import math
import os
import random
import subprocess
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest

from bachata_common import (
    ABTestConfig,
    PerformanceMetrics,
    PerformanceMonitor,
    RecommendationDecision,
    UserFeedback,
    ValidationError,
)

REPOSITORY = Path(__file__).resolve().parents[3]
NATIVE = REPOSITORY / "target" / "debug" / "bachata-common"


def log(monitor: PerformanceMonitor, index: int, user=None) -> str:
    return monitor.log_recommendation_decision(
        input_song=f"song {index}",
        recommended_moves=["basic", "cross_body_lead", "dip"],
        recommendation_scores=[0.9, 0.8, 0.6],
        weights_used={"tempo": 0.5, "energy": 0.5},
        processing_time_ms=20.0 + index,
        song_features={"bpm": 128, "key": "A minor"},
        user_id=user,
    )


def test_the_original_api_and_a_second_instance_on_the_same_directory(tmp_path):
    monitor = PerformanceMonitor(monitor_dir=tmp_path)
    assert monitor.data_dir == tmp_path and monitor.current_algorithm_version == "1.0"
    first = log(monitor, 1, user="u1")
    second = log(monitor, 2)
    monitor.log_user_feedback(first, "like", move_id="basic")
    monitor.log_user_feedback(second, "rating", feedback_value=2, user_id="u2", move_id="dip", comments="meh")
    assert [decision.decision_id for decision in monitor.recent_decisions] == [first, second]
    assert isinstance(monitor.recent_decisions[0], RecommendationDecision)
    assert isinstance(monitor.recent_feedback[1], UserFeedback) and monitor.recent_feedback[1].comments == "meh"
    metrics = monitor.calculate_performance_metrics()
    assert isinstance(metrics, PerformanceMetrics)
    assert metrics.total_recommendations == 2
    assert metrics.avg_processing_time_ms == pytest.approx(21.5)
    assert metrics.avg_recommendation_score == pytest.approx((0.9 + 0.8 + 0.6) / 3)
    # satisfaction = (likes + uses + Σ(rating − 1)/4) / judged = (1 + 0.25) / 2
    assert metrics.user_satisfaction_score == pytest.approx(0.625)
    assert metrics.recommendation_distribution == {"basic": 2, "cross_body_lead": 2, "dip": 2}
    assert metrics["precision"] == metrics.precision and 0 <= metrics.f1_score <= 1
    assert set(metrics.ranking) >= {"k", "precision", "recall", "ndcg", "mrr", "hit_rate"}
    monitor.close()
    again = PerformanceMonitor(monitor_dir=tmp_path)
    assert again.calculate_performance_metrics().total_recommendations == 2
    report = again.generate_performance_report(days=7)
    assert set(report) >= {"report_period", "overall_metrics", "daily_metrics", "top_recommended_moves", "feedback_trends"}
    assert report["report_period"]["days"] == 7 and len(report["daily_metrics"]) == 7
    assert report["top_recommended_moves"][0]["name"] == "basic"


def test_bad_events_are_validation_errors(tmp_path):
    monitor = PerformanceMonitor(monitor_dir=tmp_path)
    with pytest.raises(ValidationError) as caught:
        monitor.log_recommendation_decision("s", ["a", "b"], [0.5], {}, 1.0, {})
    assert caught.value.field == "recommendation_scores"
    with pytest.raises(ValidationError) as caught:
        monitor.log_user_feedback("nope", "like")
    assert caught.value.field == "decision_id"
    assert isinstance(caught.value, ValueError)


def config(**overrides) -> ABTestConfig:
    today = datetime.now(timezone.utc).date()
    values = dict(
        test_id="ranker-v2",
        test_name="New ranker",
        start_date=today - timedelta(days=2),
        end_date=today + timedelta(days=10),
        algorithm_versions=["1.0", "2.0"],
        traffic_split={"1.0": 0.5, "2.0": 0.5},
        success_metrics=["like_rate", "user_satisfaction", "processing_time_ms"],
        minimum_sample_size=20,
    )
    values.update(overrides)
    return ABTestConfig(**values)


def test_ab_tests_assign_stably_and_analyze(tmp_path):
    monitor = PerformanceMonitor(monitor_dir=tmp_path)
    assert monitor.setup_ab_test(config()) == "ranker-v2"
    assert monitor.setup_ab_test(config()) == "ranker-v2"
    with pytest.raises(ValidationError, match="another definition"):
        monitor.setup_ab_test(config(test_name="Something else"))
    with pytest.raises(ValidationError):
        monitor.setup_ab_test(config(test_id="bad-split", traffic_split={"1.0": 0.5, "2.0": 0.2}))
    assert list(monitor.active_ab_tests) == ["ranker-v2"]
    assert isinstance(monitor.active_ab_tests["ranker-v2"], ABTestConfig)
    served = {f"user-{u}": monitor.get_algorithm_version_for_user(f"user-{u}") for u in range(300)}
    assert set(served.values()) == {"1.0", "2.0"}
    assert all(monitor.get_algorithm_version_for_user(user) == version for user, version in list(served.items())[:20])
    rng = random.Random(7)
    for user, version in served.items():
        for _ in range(2):
            decision = log(monitor, rng.randrange(5), user=user)
            assert monitor.recent_decisions[-1].algorithm_version == version
            liked = rng.random() < (0.65 if version == "2.0" else 0.35)
            monitor.log_user_feedback(decision, "like" if liked else "skip", user_id=user)
    results = monitor.analyze_ab_test_results("ranker-v2")
    assert results["test_id"] == "ranker-v2"
    assert set(results["versions"]) == {"1.0", "2.0"}
    # sample_size: the decisions of each version (two per user); units: the exposed users.
    assert sum(version["sample_size"] for version in results["versions"].values()) == 600
    assert sum(version["units"] for version in results["versions"].values()) == 300
    assert all(version["sample_size"] == 2 * version["units"] for version in results["versions"].values())
    assert results["versions"]["2.0"]["like_rate"] > results["versions"]["1.0"]["like_rate"]
    assert results["versions"]["1.0"]["feedback_count"] == results["versions"]["1.0"]["sample_size"]
    assert results["arms"] == monitor.analyze_experiment("ranker-v2")["arms"]
    assert results["verdict"]["kind"] == "wins" and "2.0 wins on like_rate" in results["verdict"]["headline"]
    assert results["sample_ratio"]["mismatch"] is False
    report = monitor.generate_performance_report()
    assert [analysis["test_id"] for analysis in report["experiments"]] == ["ranker-v2"]
    if NATIVE.is_file():
        env = dict(os.environ, MONITOR_DATABASE=str(tmp_path / "monitor.sqlite3"))
        theirs = json.loads(subprocess.run(
            [str(NATIVE), "experiments", "analyze", "ranker-v2", "--json"], capture_output=True, text=True, env=env,
            check=True,
        ).stdout)
        ours = monitor.experiments.analyze("ranker-v2")
        assert close(ours, theirs), "the native host analyzes the same database the same way"
        assigned = json.loads(subprocess.run(
            [str(NATIVE), "experiments", "assign", "ranker-v2", "user-5", "--json"], capture_output=True, text=True,
            env=env, check=True,
        ).stdout)
        assert assigned["version"] == served["user-5"]


def close(a, b) -> bool:
    """Equal, floats to 1e-9 relative (SQLite's SUM differs in its last bits between versions)."""
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(close(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return isinstance(b, list) and len(a) == len(b) and all(close(x, y) for x, y in zip(a, b))
    if isinstance(a, float) and isinstance(b, (int, float)):
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-300)
    return a == b


def test_an_experiment_defined_by_the_native_host_is_served_by_python(tmp_path):
    if not NATIVE.is_file():
        pytest.skip(f"{NATIVE} is built by the Rust suite (cargo test)")
    database = tmp_path / "monitor.sqlite3"
    env = dict(os.environ, MONITOR_DATABASE=str(database))
    today = date.today()
    definition = {
        "test_id": "native-defined", "test_name": "From the CLI",
        "start_date": str(today - timedelta(days=1)), "end_date": str(today + timedelta(days=5)),
        "algorithm_versions": ["a", "b", "c"], "traffic_split": {"a": 0.2, "b": 0.3, "c": 0.5},
        "success_metrics": ["use_rate"],
    }
    subprocess.run([str(NATIVE), "experiments", "create", "--from", "-"], input=json.dumps(definition),
                   capture_output=True, text=True, env=env, check=True)
    monitor = PerformanceMonitor(monitor_dir=tmp_path)
    assert list(monitor.active_ab_tests) == ["native-defined"]
    for user in ("u1", "u2", "u3"):
        theirs = json.loads(subprocess.run([str(NATIVE), "experiments", "assign", "native-defined", user, "--json"],
                                           capture_output=True, text=True, env=env, check=True).stdout)
        assert monitor.get_algorithm_version_for_user(user) == theirs["version"]
    # The definition Python reads back is the one the native host stored.
    stored = monitor.experiments.get("native-defined")["definition"]
    assert stored["traffic_split"] == {"a": 0.2, "b": 0.3, "c": 0.5} and stored["seed"] == "native-defined"


def test_the_data_classes_have_the_original_fields_and_keyword_constructors():
    from dataclasses import fields

    assert [f.name for f in fields(RecommendationDecision)] == [
        "decision_id", "timestamp", "input_song", "recommended_moves", "recommendation_scores",
        "algorithm_version", "weights_used", "processing_time_ms", "song_features", "user_id",
        "user_preferences", "session_id",
    ]
    assert [f.name for f in fields(UserFeedback)] == [
        "feedback_id", "decision_id", "timestamp", "feedback_type", "feedback_value", "user_id", "move_id", "comments",
    ]
    assert {"total_recommendations", "avg_processing_time_ms", "avg_recommendation_score", "user_satisfaction_score",
            "recommendation_distribution", "accuracy", "precision", "recall", "f1_score"} <= {
        f.name for f in fields(PerformanceMetrics)}
    config = ABTestConfig(test_id="t", test_name="T", start_date="2026-01-01", end_date="2026-01-31",
                          algorithm_versions=["1.0", "2.0"], traffic_split={"1.0": 0.5, "2.0": 0.5},
                          success_metrics=["like_rate"], minimum_sample_size=100)
    assert config.minimum_sample_size == 100 and config.definition()["traffic_split"] == {"1.0": 0.5, "2.0": 0.5}
    feedback = UserFeedback(feedback_id="f", decision_id="d", timestamp=datetime.now(timezone.utc), feedback_type="like")
    assert feedback.feedback_value is None and feedback.move_id is None


# The original app's behaviours: the config kept by setup_ab_test, the analysis by decision
# version, feedback trends by type, the in-memory buffers.


@pytest.fixture
def local_time_zone(monkeypatch):
    """Local time five hours behind UTC for the test (naive datetimes mean local time)."""
    monkeypatch.setenv("TZ", "Etc/GMT+5")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def test_setup_ab_test_keeps_the_config_it_was_given(tmp_path, local_time_zone):
    monitor = PerformanceMonitor(tmp_path)
    start = (datetime.now() - timedelta(hours=1)).replace(microsecond=0)  # naive: local time
    end = start + timedelta(days=7)
    given = config(test_id="naive", start_date=start, end_date=end, algorithm_versions=["A", "B"],
                   traffic_split={"A": 0.5, "B": 0.5})
    assert monitor.setup_ab_test(given) == "naive"
    assert monitor.active_ab_tests["naive"] is given and monitor.active_ab_tests["naive"] == given
    assert given.start_date is start and given.start_date.tzinfo is None and given.end_date.tzinfo is None
    # Stored in UTC from local time: running now (read as UTC it would start in four hours).
    stored = monitor.experiments.get("naive")["definition"]
    assert stored["start_date"] == start.astimezone(timezone.utc) and stored["start_date"].utcoffset() == timedelta(0)
    assert monitor.get_algorithm_version_for_user("someone") in ("A", "B")
    # Set up again with the same config: the same test, this object still.
    assert monitor.setup_ab_test(given) == "naive" and monitor.active_ab_tests["naive"] is given
    # Another instance on the same storage lists it, read back (UTC).
    again = PerformanceMonitor(tmp_path)
    read = again.active_ab_tests["naive"]
    assert list(again.active_ab_tests) == ["naive"] and isinstance(read, ABTestConfig)
    assert read.start_date == start.astimezone(timezone.utc) and read.end_date == end.astimezone(timezone.utc)
    assert (read.test_name, read.algorithm_versions, read.traffic_split) == (given.test_name, ["A", "B"], given.traffic_split)
    # A test without an end runs until replaced; its config keeps end_date None.
    open_ended = config(test_id="open", start_date=start, end_date=None)
    monitor.setup_ab_test(open_ended)
    assert monitor.active_ab_tests["open"] is open_ended and open_ended.end_date is None
    assert PerformanceMonitor(tmp_path).active_ab_tests["open"].end_date is None
    # An ended test: listed by the instance that set it up (as the original), not by another.
    today = datetime.now(timezone.utc).date()
    over = config(test_id="over", start_date=today - timedelta(days=9), end_date=today - timedelta(days=5))
    monitor.setup_ab_test(over)
    assert monitor.active_ab_tests["over"] is over
    assert "over" not in PerformanceMonitor(tmp_path).active_ab_tests


def test_analyze_ab_test_results_counts_each_version_s_decisions_in_the_test_period(tmp_path):
    monitor = PerformanceMonitor(tmp_path)
    now = datetime.now(timezone.utc)
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    # From 06:00 three days ago: its first day in part (read decision by decision), whole days
    # (read from the per-day totals), today up to now.
    start = midnight - timedelta(days=3) + timedelta(hours=6)
    monitor.setup_ab_test(config(test_id="by-version", start_date=start, end_date=now + timedelta(hours=1),
                                 algorithm_versions=["1.0", "2.0"], traffic_split={"1.0": 0.5, "2.0": 0.5}))

    def decision(version: str, at: datetime, ms: float, scores=(0.8, 0.6)) -> str:
        decision_id, _ = monitor.monitor.log_decision({
            "input_song": "s", "recommended_moves": ["basic", "dip"], "recommendation_scores": list(scores),
            "processing_time_ms": ms, "algorithm_version": version, "timestamp": at,
        })
        return decision_id

    before = decision("1.0", start - timedelta(minutes=1), 500.0)             # before the start: not counted
    decision("2.0", start - timedelta(days=1), 500.0)                          # a whole day before: not counted
    first = decision("1.0", start + timedelta(minutes=1), 10.0, (1.0, 0.0))    # the first, part day
    whole = decision("1.0", midnight - timedelta(days=2) + timedelta(hours=12), 20.0)
    decision("1.0", now - timedelta(minutes=1), 30.0)
    decision("2.0", midnight - timedelta(days=1) + timedelta(hours=12), 40.0)
    decision("3.0", midnight - timedelta(days=1) + timedelta(hours=12), 500.0)  # not a version of the test
    # Logged through the monitor, with no unit assigned by the test: the current version, or one named.
    monitor.current_algorithm_version = "2.0"
    log(monitor, 30)                                                           # 2.0, 50 ms
    monitor.log_recommendation_decision("s", ["basic"], [0.7], {}, 60.0, {}, algorithm_version="1.0")
    monitor.log_user_feedback(first, "rating", feedback_value=3)
    monitor.log_user_feedback(whole, "like")
    monitor.log_user_feedback(before, "dislike")                               # on an uncounted decision

    results = monitor.analyze_ab_test_results("by-version")
    assert results["test_id"] == "by-version" and results["test_name"] == "New ranker"
    assert results["test_period"]["start"] == start.isoformat()
    assert list(results["versions"]) == ["1.0", "2.0"]
    one, two = results["versions"]["1.0"], results["versions"]["2.0"]
    assert one["sample_size"] == 4 and two["sample_size"] == 2
    assert one["avg_processing_time_ms"] == pytest.approx((10 + 20 + 30 + 60) / 4)
    assert two["avg_processing_time_ms"] == pytest.approx((40 + 50) / 2)
    assert one["avg_recommendation_score"] == pytest.approx((0.5 + 0.7 + 0.7 + 0.7) / 4)
    assert one["feedback_count"] == 2 and one["feedback"]["like"] == 1 and one["feedback"]["dislike"] == 0
    assert one["avg_rating"] == 3.0 and two["avg_rating"] is None and two["feedback_count"] == 0
    assert one["user_satisfaction_score"] == pytest.approx((1 + (3 - 1) / 4) / 2)
    # The exposure-based analysis beside it: no unit was assigned through the test.
    assert one["units"] == 0 and results["verdict"]["kind"] == "not_enough_data"
    assert results["arms"] == monitor.analyze_experiment("by-version")["arms"]
    with pytest.raises(ValueError, match="no experiment"):
        monitor.analyze_ab_test_results("nope")
    with pytest.raises(ValidationError):
        monitor.analyze_experiment("nope")


def test_an_open_ended_test_counts_decisions_up_to_now(tmp_path):
    monitor = PerformanceMonitor(tmp_path)
    start = datetime.now(timezone.utc) - timedelta(hours=2)
    monitor.setup_ab_test(config(test_id="open", start_date=start, end_date=None))
    monitor.log_recommendation_decision("s", ["basic"], [0.7], {}, 12.0, {}, algorithm_version="2.0")
    results = monitor.analyze_ab_test_results("open")
    assert results["test_period"]["end"] is None
    assert list(results["versions"]) == ["2.0"] and results["versions"]["2.0"]["sample_size"] == 1


def test_feedback_trends_are_keyed_by_feedback_type(tmp_path):
    monitor = PerformanceMonitor(tmp_path)
    first, second = log(monitor, 1), log(monitor, 2)
    monitor.log_user_feedback(first, "like")
    monitor.log_user_feedback(second, "like")
    monitor.log_user_feedback(second, "rating", feedback_value=4)
    report = monitor.generate_performance_report(days=3)
    trends = report["feedback_trends"]
    assert "like" in trends and trends["like"] == 2 and trends["rating"] == 1 and trends["skip"] == 0
    assert set(trends) == {"rating", "like", "dislike", "skip", "use"}
    series = report["feedback_series"]
    assert {share["name"]: share["count"] for share in series["totals"]} == trends
    assert len(series["daily"]) == 3 and series["daily"][-1]["counts"]["like"] == 2
    assert report["active_ab_tests"] == [] and report["algorithm_version"] == "1.0"


def test_a_new_instance_holds_the_latest_thousand_events_oldest_first(tmp_path):
    monitor = PerformanceMonitor(tmp_path)
    first = log(monitor, 1, user="u1")
    monitor.log_user_feedback(first, "rating", feedback_value=5, user_id="u1", move_id="dip", comments="great")
    again = PerformanceMonitor(tmp_path)
    for buffer in (again.recent_decisions, again.recent_feedback):
        assert isinstance(buffer, collections.deque) and buffer.maxlen == 1000
    assert list(again.recent_decisions) == list(monitor.recent_decisions)
    assert list(again.recent_feedback) == list(monitor.recent_feedback)
    assert isinstance(again.recent_decisions[0], RecommendationDecision) and again.recent_feedback[0].comments == "great"

    # 1,205 more over three days, stored in batches (by id, not by time).
    base = datetime.now(timezone.utc) - timedelta(days=3)
    events = [
        {"decision_id": f"d{index:05d}", "input_song": "s", "recommended_moves": ["basic"], "recommendation_scores": [0.5],
         "processing_time_ms": 1.0, "timestamp": base + timedelta(seconds=200 * index)}
        for index in range(1, 1206)
    ]
    random.Random(3).shuffle(events)
    for at in range(0, len(events), 1000):
        monitor.monitor.log_decisions(events[at:at + 1000])
        monitor.monitor.log_feedbacks([
            {"feedback_id": f"f{event['decision_id']}", "decision_id": event["decision_id"], "feedback_type": "use",
             "timestamp": event["timestamp"]}
            for event in events[at:at + 1000]
        ])
    later = PerformanceMonitor(tmp_path)
    ids = [decision.decision_id for decision in later.recent_decisions]
    assert len(ids) == 1000 and ids[-1] == first and ids[:-1] == [f"d{index:05d}" for index in range(207, 1206)]
    times = [decision.timestamp for decision in later.recent_decisions]
    assert times == sorted(times)
    assert [feedback.feedback_id for feedback in later.recent_feedback][-2:] == ["fd01205", monitor.recent_feedback[0].feedback_id]
    assert len(later.recent_feedback) == 1000
    # Logging appends; the buffers keep the latest 1,000.
    newest = log(later, 9)
    assert later.recent_decisions[-1].decision_id == newest and len(later.recent_decisions) == 1000
    assert later.recent_decisions[0].decision_id == "d00208"
    # Storage is immediate: the original's periodic writers do nothing.
    assert later._persist_decisions() is None and later._persist_feedback() is None


def test_the_original_parameters_in_the_original_order(tmp_path):
    monitor = PerformanceMonitor(monitor_dir=tmp_path)
    decision = monitor.log_recommendation_decision(
        "song", ["basic"], [0.9], {"tempo": 0.5}, 12.0, {"bpm": 128}, "u1", {"level": "beginner"}, "session-1"
    )
    logged = monitor.recent_decisions[-1]
    assert (logged.decision_id, logged.user_id) == (decision, "u1")
    assert (logged.user_preferences, logged.session_id) == ({"level": "beginner"}, "session-1")
    assert logged.algorithm_version == monitor.current_algorithm_version
    monitor.log_user_feedback(decision, "rating", 4.0, "basic", "nice", "u1")
    feedback = monitor.recent_feedback[-1]
    assert (feedback.feedback_value, feedback.move_id, feedback.comments, feedback.user_id) == (4.0, "basic", "nice", "u1")
    again = PerformanceMonitor(monitor_dir=tmp_path).recent_feedback[-1]
    assert (again.move_id, again.comments, again.user_id) == ("basic", "nice", "u1")
    monitor.close()
