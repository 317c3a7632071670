"""The performance monitor through the Python host: events stored once, batches all or none,
the rules with the field at fault, metrics computed by the policy — and one database shared with
the native host (each reads what the other wrote, with the same figures), on SQLite and, when
``BACHATA_TEST_POSTGRES`` is set, PostgreSQL."""

import json
import os
import subprocess
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from bachata_common import ServiceUnavailableError, ValidationError
from bachata_common.monitor import Monitor

REPOSITORY = Path(__file__).resolve().parents[3]
NATIVE = REPOSITORY / "target" / "debug" / "bachata-common"
POSTGRES = os.environ.get("BACHATA_TEST_POSTGRES")

DATABASES = ["sqlite"] + (["postgres"] if POSTGRES else [])


@pytest.fixture(params=DATABASES)
def database(request, tmp_path):
    if request.param == "sqlite":
        yield str(tmp_path / "monitor.sqlite3")
        return
    pytest.importorskip("psycopg")
    import psycopg

    name = f"monitor_{os.getpid()}_{abs(hash(request.node.name)) % 10**8}"
    with psycopg.connect(POSTGRES, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
        admin.execute(f'CREATE DATABASE "{name}"')
    url = POSTGRES.replace("postgresql:///postgres", f"postgresql:///{name}")
    yield url
    with psycopg.connect(POSTGRES, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def decision(i: int, version: str = "1.0", **extra) -> dict:
    moves = ["basic", "cross_body_lead", "dip", "spin"][: 2 + i % 3]
    return {
        "decision_id": f"d-{i}",
        "input_song": f"song {i}",
        "recommended_moves": moves,
        "recommendation_scores": [0.9 - 0.1 * r for r in range(len(moves))],
        "processing_time_ms": 10.0 + i,
        "algorithm_version": version,
        "user_id": f"u{i % 7}",
        "weights_used": {"tempo": 0.5},
        "song_features": {"bpm": 128.0, "key": "A minor"},
        **extra,
    }


def test_events_are_stored_once_and_batches_are_all_or_none(database):
    monitor = Monitor(database)
    assert monitor.log_decision(decision(1)) == ("d-1", True)
    assert monitor.log_decision(decision(1)) == ("d-1", False)
    feedback = {"feedback_id": "f-1", "decision_id": "d-1", "feedback_type": "rating", "feedback_value": 4, "move_id": "dip"}
    assert monitor.log_feedback(feedback) == ("f-1", True)
    assert monitor.log_feedback(feedback) == ("f-1", False)
    with pytest.raises(ValidationError) as caught:
        monitor.log_decisions([decision(2), decision(3, recommendation_scores=[1.0])])
    assert caught.value.field == "[1].recommendation_scores"
    with pytest.raises(ValidationError) as caught:
        monitor.log_feedbacks([
            {"decision_id": "d-1", "feedback_type": "like"},
            {"decision_id": "d-404", "feedback_type": "like"},
        ])
    assert caught.value.field == "[1].decision_id"
    metrics = monitor.metrics()
    assert metrics["total_recommendations"] == 1 and metrics["feedback_count"] == 1
    monitor.close()


@pytest.mark.parametrize(
    "event, field",
    [
        ({"input_song": "", "recommended_moves": [], "recommendation_scores": [], "processing_time_ms": 1}, "input_song"),
        ({"input_song": "s", "recommended_moves": ["a"], "recommendation_scores": [float("nan")], "processing_time_ms": 1},
         "recommendation_scores[0]"),
        ({"input_song": "s", "recommended_moves": [], "recommendation_scores": [], "processing_time_ms": -1},
         "processing_time_ms"),
        ({"decision_id": "../x", "input_song": "s", "recommended_moves": [], "recommendation_scores": [],
          "processing_time_ms": 1}, "decision_id"),
        ({"input_song": "s", "recommended_moves": [], "recommendation_scores": [], "processing_time_ms": 1,
          "timestamp": (datetime.now(timezone.utc) + timedelta(days=3)).isoformat()}, "timestamp"),
    ],
)
def test_decisions_breaking_a_rule_name_the_field_and_store_nothing(event, field, tmp_path):
    monitor = Monitor(str(tmp_path / "m.sqlite3"))
    with pytest.raises(ValidationError) as caught:
        monitor.log_decision(event)
    assert caught.value.field == field
    assert monitor.metrics()["total_recommendations"] == 0


def test_feedback_rules(tmp_path):
    monitor = Monitor(str(tmp_path / "m.sqlite3"))
    monitor.log_decision(decision(1))
    for event, field in [
        ({"decision_id": "d-1", "feedback_type": "love"}, "feedback_type"),
        ({"decision_id": "d-1", "feedback_type": "rating"}, "feedback_value"),
        ({"decision_id": "d-1", "feedback_type": "rating", "feedback_value": 6}, "feedback_value"),
        ({"decision_id": "d-1", "feedback_type": "like", "move_id": "tango"}, "move_id"),
        ({"decision_id": "d-9", "feedback_type": "like"}, "decision_id"),
        ({"decision_id": "d-1", "feedback_type": "like", "comments": "x" * 2001}, "comments"),
    ]:
        with pytest.raises(ValidationError) as caught:
            monitor.log_feedback(event)
        assert caught.value.field == field, event


def test_an_unreachable_database_is_service_unavailable(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(ServiceUnavailableError):
        Monitor(str(tmp_path / "file" / "monitor.sqlite3"))


def native(database: str, *args: str, stdin: str = None) -> subprocess.CompletedProcess:
    env = dict(os.environ, MONITOR_DATABASE=database, BACHATA_DATA_DIR=str(Path(database).parent) if "://" not in database else "/tmp")
    return subprocess.run([str(NATIVE), "monitor", *args], input=stdin, capture_output=True, text=True, env=env, check=True)


def comparable(metrics: dict) -> dict:
    keep = ("total_recommendations", "avg_processing_time_ms", "processing_time_ms", "avg_recommendation_score",
            "user_satisfaction_score", "mean_rating", "recommendation_distribution", "feedback_count", "feedback",
            "ranking", "accuracy", "precision", "recall", "f1_score")
    return {key: metrics[key] for key in keep}


def test_one_database_shared_with_the_native_host(database, tmp_path):
    if not NATIVE.is_file():
        pytest.skip(f"{NATIVE} is built by the Rust suite (cargo test)")
    # Python writes half, the native host the other half; each then reads the whole.
    monitor = Monitor(database)
    monitor.log_decisions([decision(i, version="1.0" if i % 2 else "2.0") for i in range(20)])
    native_decisions = "\n".join(json.dumps(decision(i, version="2.0")) for i in range(20, 30))
    (tmp_path / "decisions.jsonl").write_text(native_decisions + "\n")
    native(database, "log-decision", "--from", str(tmp_path / "decisions.jsonl"))
    feedback = [
        {"feedback_id": f"f-{i}", "decision_id": f"d-{i}", "feedback_type": kind, "move_id": "basic",
         **({"feedback_value": 1 + i % 5} if kind == "rating" else {})}
        for i, kind in zip(range(0, 30, 2), ["like", "rating", "skip", "use", "dislike"] * 3)
    ]
    monitor.log_feedbacks(feedback[:8])
    (tmp_path / "feedback.jsonl").write_text("\n".join(json.dumps(event) for event in feedback[8:]) + "\n")
    native(database, "log-feedback", "--from", str(tmp_path / "feedback.jsonl"))
    ours = monitor.metrics()
    theirs = json.loads(native(database, "metrics", "--json").stdout)
    assert ours["total_recommendations"] == 30 and ours["feedback_count"] == 15
    assert comparable(ours) == comparable(theirs)
    for version in ("1.0", "2.0"):
        assert comparable(ours["by_version"][version]) == comparable(theirs["by_version"][version])
    report = monitor.report(days=3)
    native_report = json.loads(native(database, "report", "--json", "--days", "3").stdout)
    assert report["daily_metrics"] == native_report["daily_metrics"]
    assert report["top_recommended_moves"] == native_report["top_recommended_moves"]
    assert report["feedback_trends"] == native_report["feedback_trends"]
    monitor.close()


def test_a_period_s_figures_by_version_and_the_latest_events(database):
    """``period_by_version`` (the original A/B analysis: whole days from the per-day totals, edge
    days decision by decision) gives what counting every decision gives, for periods cut anywhere;
    ``latest`` gives the newest events, oldest first."""
    import random

    rng = random.Random(11)
    monitor = Monitor(database)
    now = datetime.now(timezone.utc).replace(microsecond=0)
    events = []
    for i in range(300):
        at = now - timedelta(seconds=rng.randrange(5 * 86_400))
        scores = [round(rng.random(), 3) for _ in range(rng.randrange(0, 3))]
        events.append({**decision(i, version=rng.choice(["a", "b", "c"])), "timestamp": at,
                       "recommended_moves": ["basic", "dip"][: len(scores)], "recommendation_scores": scores})
    monitor.log_decisions(events)
    feedback = [
        {"feedback_id": f"f-{i}", "decision_id": f"d-{i}", "feedback_type": kind,
         **({"feedback_value": float(1 + i % 5)} if kind == "rating" else {})}
        for i, kind in ((i, rng.choice(["like", "rating", "skip", "use", "dislike"])) for i in range(0, 300, 2))
    ]
    monitor.log_feedbacks(feedback)
    kinds = {event["decision_id"]: [] for event in events}
    for event in feedback:
        kinds[event["decision_id"]].append(event)
    cuts = [now - timedelta(days=6), now - timedelta(days=2, hours=7, minutes=13), now.replace(hour=0, minute=0, second=0)
            - timedelta(days=1), now - timedelta(hours=3), now, None]
    for start, end in [(cuts[0], None), (cuts[1], cuts[3]), (cuts[2], cuts[4]), (cuts[1], cuts[1] + timedelta(hours=2)),
                       (cuts[2], cuts[2] + timedelta(days=1)), (cuts[3], cuts[3])]:
        got = monitor.period_by_version(start, end, ["a", "b"])
        for version in ("a", "b"):
            chosen = [e for e in events if e["algorithm_version"] == version and e["timestamp"] >= start
                      and (end is None or e["timestamp"] < end)]
            if not chosen:
                assert version not in got
                continue
            figures = got[version]
            judged = [f for e in chosen for f in kinds[e["decision_id"]]]
            scored = [sum(e["recommendation_scores"]) / len(e["recommendation_scores"]) for e in chosen if e["recommendation_scores"]]
            assert figures["decisions"] == len(chosen)
            assert figures["avg_processing_time_ms"] == pytest.approx(sum(e["processing_time_ms"] for e in chosen) / len(chosen))
            assert figures["avg_recommendation_score"] == pytest.approx(sum(scored) / len(scored) if scored else 0.0)
            assert figures["feedback_count"] == len(judged)
            assert figures["feedback"]["like"] == sum(1 for f in judged if f["feedback_type"] == "like")
            ratings = [f["feedback_value"] for f in judged if f["feedback_type"] == "rating"]
            assert figures["mean_rating"] == (pytest.approx(sum(ratings) / len(ratings)) if ratings else None)
        assert "c" not in got
    decisions, stored_feedback = monitor.latest(50)
    newest = sorted(events, key=lambda e: (e["timestamp"], e["decision_id"]))[-50:]
    assert [row[0] for row in decisions] == [e["decision_id"] for e in newest]
    assert len(stored_feedback) == 50 and [row[2] for row in stored_feedback] == sorted(row[2] for row in stored_feedback)
    monitor.close()


def test_prune_keeps_the_retention(tmp_path):
    monitor = Monitor(str(tmp_path / "m.sqlite3"), retention_days=7)
    old = (datetime.now(timezone.utc) - timedelta(days=30)).isoformat()
    monitor.log_decision(decision(1, timestamp=old))
    monitor.log_decision(decision(2))
    assert monitor.prune() == {"decisions": 1, "feedback": 0, "exposures": 0}
    assert monitor.metrics(days=60)["total_recommendations"] == 1


def test_a_transaction_lost_to_a_deadlock_is_tried_again_and_others_are_not(tmp_path):
    from bachata_common.monitor.store import RETRIES, Store, StoreError

    store = Store(str(tmp_path / "m.sqlite3"))
    attempts = []

    def flaky(tx):
        attempts.append(1)
        if len(attempts) < 3:
            raise StoreError("deadlock detected", transient=True)
        return tx.query("SELECT COUNT(*) FROM decisions")[0][0]

    assert store.run_write(flaky) == 0 and len(attempts) == 3
    attempts.clear()

    def always(tx):
        attempts.append(1)
        raise StoreError("deadlock detected", transient=True)

    with pytest.raises(StoreError):
        store.run_write(always)
    assert len(attempts) == RETRIES + 1
    attempts.clear()

    def broken(tx):
        attempts.append(1)
        raise StoreError("disk I/O error")

    with pytest.raises(StoreError):
        store.run_write(broken)
    assert len(attempts) == 1
    store.close()
