"""The original app's ``PerformanceMonitor`` API through the Python host: decisions, feedback,
metrics, reports and A/B tests (assignment and analysis by the policy), on a database the native
host reads the same way."""

import json
import math
import os
import random
import subprocess
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
    assert sum(version["sample_size"] for version in results["versions"].values()) == 300
    assert results["versions"]["2.0"]["like_rate"] > results["versions"]["1.0"]["like_rate"]
    assert results["versions"]["1.0"]["total_recommendations"] > 0
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
