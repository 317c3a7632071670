"""The monitor's rules shared with the native host (``host/src/types/monitor/mod.rs``,
``host/src/capabilities/store/events.rs``, ``host/src/types/config.rs``): numbers bounded so
sums stay finite, control characters refused in free text, a repeated id with other content a
conflict that writes nothing, prune recounting kept days and removing old exposures, and
PostgreSQL connection strings in every libpq form recognized and never shown with their
password. Where the native binary is built, the same inputs go through both hosts."""

import json
import logging
import os
import sqlite3
import subprocess
from datetime import datetime, timedelta, timezone

import pytest

from bachata_common import PerformanceMonitor, ServiceUnavailableError, ValidationError
from bachata_common.exceptions import ConflictError
from bachata_common.monitor import Monitor
from bachata_common.monitor.events import _json
from bachata_common.monitor.experiments import Experiments
from bachata_common.monitor.store import is_postgres, masked
from test_monitor import NATIVE, POSTGRES, database, decision  # noqa: F401  (the fixture)

needs_native = pytest.mark.skipif(not NATIVE.is_file(), reason=f"{NATIVE} is built by the Rust suite (cargo test)")


def run_native(database: str, *args: str, env: dict = None) -> subprocess.CompletedProcess:
    environ = dict(os.environ, MONITOR_DATABASE=database, BACHATA_DATA_DIR="/tmp", **(env or {}))
    return subprocess.run([str(NATIVE), "monitor", *args], capture_output=True, text=True, env=environ)


def native_lines(database: str, command: str, events: list, tmp_path) -> dict:
    """``command --from`` a JSON Lines file of ``events`` on the native host: its JSON answer."""
    path = tmp_path / f"{command}.jsonl"
    path.write_text("".join(json.dumps(event, allow_nan=False) + "\n" for event in events))
    return json.loads(run_native(database, command, "--from", str(path), "--json").stdout)


def native_refused(answer: dict, message: str) -> None:
    """The native import refused with ``message`` (within its framing: ``line N: …``, ``…;
    nothing was stored``)."""
    text = answer.get("message", "")
    assert message in text and text.split(message, 1)[1][:1] in ("", ";"), (answer, message)


# -- bounds and control characters ------------------------------------------------------------

BASE = {"input_song": "s", "recommended_moves": ["a"], "recommendation_scores": [0.5], "processing_time_ms": 1.0}
ONE_DAY = "processing_time_ms must be from 0 to 86400000 (one day), not {}"
SCORE = "recommendation_scores[0] must be a number from -1e9 to 1e9"
FREE_TEXT = "{} must not contain control characters other than line ends and tabs"

REFUSED_DECISIONS = [
    ({"processing_time_ms": -1}, "processing_time_ms", "-1", ONE_DAY.format("-1")),
    ({"processing_time_ms": -0.5}, "processing_time_ms", "-0.5", ONE_DAY.format("-0.5")),
    ({"processing_time_ms": 86_400_000.5}, "processing_time_ms", "86400000.5", ONE_DAY.format("86400000.5")),
    ({"processing_time_ms": 1e300}, "processing_time_ms", "1" + "0" * 119 + "…", ONE_DAY.format("1" + "0" * 300)),
    ({"recommendation_scores": [1_000_000_001]}, "recommendation_scores[0]", "1000000001", SCORE),
    ({"recommendation_scores": [-1.5e9]}, "recommendation_scores[0]", "-1500000000", SCORE),
    ({"weights_used": {"tempo": 2e9}}, "weights_used.tempo", "2000000000",
     "weights_used.tempo must be a number from -1e9 to 1e9"),
    ({"song_features": {"bpm": 1.5e15}}, "song_features.bpm", "1500000000000000",
     "song_features.bpm must be a number from -1e15 to 1e15"),
    ({"song_features": {"key": "A\x00minor"}}, "song_features.key", None, FREE_TEXT.format("song_features.key")),
    ({"song_features": {"key": "\x1b[31mred"}}, "song_features.key", None, FREE_TEXT.format("song_features.key")),
    ({"song_features": {"key": "a\x7f"}}, "song_features.key", None, FREE_TEXT.format("song_features.key")),
    ({"song_features": {"key": "a\x85b"}}, "song_features.key", None, FREE_TEXT.format("song_features.key")),
]

REFUSED_FEEDBACK = [
    ({"feedback_type": "like", "feedback_value": 1e10}, "feedback_value", "10000000000",
     "feedback_value must be a number from -1e9 to 1e9"),
    ({"feedback_type": "skip", "feedback_value": -1_000_000_000.5}, "feedback_value", "-1000000000.5",
     "feedback_value must be a number from -1e9 to 1e9"),
    ({"feedback_type": "rating", "feedback_value": 7}, "feedback_value", "7", "a rating must be from 1 to 5, not 7"),
    ({"feedback_type": "rating", "feedback_value": 0.5}, "feedback_value", "0.5", "a rating must be from 1 to 5, not 0.5"),
    ({"feedback_type": "like", "comments": "fine\x00"}, "comments", None, FREE_TEXT.format("comments")),
    ({"feedback_type": "like", "comments": "\x9b2J"}, "comments", None, FREE_TEXT.format("comments")),
    ({"feedback_type": "like", "comments": "\x07" + "x" * 2001}, "comments", None, FREE_TEXT.format("comments")),
]


@pytest.mark.parametrize("change, field, value, message", REFUSED_DECISIONS)
def test_decision_bounds_and_free_text_as_the_native_host(change, field, value, message, tmp_path):
    database = str(tmp_path / "m.sqlite3")
    monitor = Monitor(database)
    event = {**BASE, **change}
    with pytest.raises(ValidationError) as caught:
        monitor.log_decision(event)
    assert (caught.value.message, caught.value.field, caught.value.value) == (message, field, value)
    assert monitor.metrics()["total_recommendations"] == 0
    if NATIVE.is_file():
        answer = native_lines(database, "log-decision", [event], tmp_path)
        native_refused(answer, f"line 1: {message}")
        assert answer["details"].get("field") == field and answer["details"].get("value") == value


@pytest.mark.parametrize("change, field, value, message", REFUSED_FEEDBACK)
def test_feedback_bounds_and_free_text_as_the_native_host(change, field, value, message, tmp_path):
    database = str(tmp_path / "m.sqlite3")
    monitor = Monitor(database)
    monitor.log_decision({**BASE, "decision_id": "d-1"})
    event = {"decision_id": "d-1", **change}
    with pytest.raises(ValidationError) as caught:
        monitor.log_feedback(event)
    assert (caught.value.message, caught.value.field, caught.value.value) == (message, field, value)
    assert monitor.metrics()["feedback_count"] == 0
    if NATIVE.is_file():
        answer = native_lines(database, "log-feedback", [event], tmp_path)
        native_refused(answer, f"line 1: {message}")
        assert answer["details"].get("field") == field and answer["details"].get("value") == value


@pytest.mark.parametrize(
    "change, field, message",
    [
        ({"processing_time_ms": float("nan")}, "processing_time_ms", ONE_DAY.format("NaN")),
        ({"processing_time_ms": float("inf")}, "processing_time_ms", ONE_DAY.format("inf")),
        ({"processing_time_ms": "12"}, "processing_time_ms", "processing_time_ms must be a number"),
        ({"recommendation_scores": [float("nan")]}, "recommendation_scores[0]", SCORE),
        ({"recommendation_scores": [10**400]}, "recommendation_scores[0]", SCORE),
        ({"song_features": {"bpm": float("-inf")}}, "song_features.bpm", "song_features.bpm must be a number from -1e15 to 1e15"),
    ],
)
def test_numbers_json_cannot_carry_are_refused_alike(change, field, message, tmp_path):
    with pytest.raises(ValidationError) as caught:
        Monitor(str(tmp_path / "m.sqlite3")).log_decision({**BASE, **change})
    assert (caught.value.message, caught.value.field) == (message, field)


def test_the_bounds_themselves_and_line_ends_are_accepted(database):
    monitor = Monitor(database)
    edge = {
        **BASE,
        "decision_id": "edge",
        "recommended_moves": ["a", "b"],
        "recommendation_scores": [1e9, -1e9],
        "weights_used": {"tempo": -1e9, "energy": 1e9},
        "processing_time_ms": 86_400_000,
        "song_features": {"bpm": 1e15, "low": -1e15, "notes": "verse\r\nchorus\tbridge"},
    }
    assert monitor.log_decision(edge) == ("edge", True)
    assert monitor.log_decision({**BASE, "decision_id": "zero", "processing_time_ms": 0}) == ("zero", True)
    assert monitor.log_feedback({"decision_id": "edge", "feedback_type": "like", "feedback_value": -1e9,
                                 "comments": "line one\r\nline two\ttab"})[1]
    assert monitor.log_feedback({"decision_id": "edge", "feedback_type": "rating", "feedback_value": 5})[1]
    metrics = monitor.metrics()
    assert metrics["total_recommendations"] == 2 and metrics["feedback_count"] == 2
    monitor.close()


def test_numbers_are_written_as_the_native_host_does():
    # serde_json's (ryu's) forms: decimal from 1e-5 to below 1e16, else an exponent without '+'.
    assert _json([0.00001, 1.5e-05, 1e-7, 1.25e-9, 128.0, 1e15, 1e16, 1.5e17, -0.0, 0.1]) == (
        "[0.00001,0.000015,1e-7,1.25e-9,128.0,1000000000000000.0,1e16,1.5e17,-0.0,0.1]")
    assert _json({"key": 'A "minor"\n\x01é', "bpm": 128.0}) == '{"key":"A \\"minor\\"\\n\\u0001é","bpm":128.0}'


# -- a repeated id with other content ---------------------------------------------------------

CHANGES = [
    {"user_id": "someone-else"},
    {"user_id": None},
    {"input_song": "another song"},
    {"recommended_moves": ["basic", "spin"], "recommendation_scores": [0.9, 0.8]},
    {"recommendation_scores": [0.9, 0.8, 0.7000001]},
    {"algorithm_version": "2.0"},
    {"weights_used": {"tempo": 0.6}},
    {"weights_used": {}},
    {"processing_time_ms": 11.5},
    {"song_features": {"bpm": 128.0, "key": "A major"}},
    {"experiment_id": "exp-1", "variation": "1.0"},
]


@pytest.mark.parametrize("change", CHANGES, ids=lambda change: ",".join(change))
def test_a_decision_id_repeated_with_other_content_is_a_conflict(database, change):
    monitor = Monitor(database)
    first = decision(1)
    assert monitor.log_decision(first) == ("d-1", True)
    # The time is not content: a retry may leave it to the server.
    later = (datetime.now(timezone.utc) - timedelta(minutes=5)).isoformat()
    assert monitor.log_decision({**first, "timestamp": later}) == ("d-1", False)
    with pytest.raises(ConflictError) as caught:
        monitor.log_decision({**first, **change})
    error = caught.value
    assert isinstance(error, ValidationError) and isinstance(error, ValueError)
    assert error.message == 'decision_id "d-1" is already stored with other content'
    assert (error.field, error.value, error.error_code, error.http_status) == ("decision_id", "d-1", "VALIDATION_ERROR", 409)
    assert error.to_problem()["status"] == 409
    # Nothing of the batch is written, the new decision beside it included.
    with pytest.raises(ConflictError):
        monitor.log_decisions([decision(2), {**first, **change}])
    assert monitor.metrics()["total_recommendations"] == 1
    monitor.close()


def test_an_id_given_twice_in_one_batch_must_repeat_its_content(database):
    monitor = Monitor(database)
    with pytest.raises(ConflictError) as caught:
        monitor.log_decisions([decision(3), decision(4), {**decision(3), "input_song": "other"}])
    assert caught.value.message == 'decision_id "d-3" is already stored with other content'
    assert monitor.metrics()["total_recommendations"] == 0
    assert monitor.log_decisions([decision(3), decision(3)]) == [("d-3", True), ("d-3", False)]
    with pytest.raises(ConflictError) as caught:
        monitor.log_feedbacks([
            {"feedback_id": "f-1", "decision_id": "d-3", "feedback_type": "like"},
            {"feedback_id": "f-1", "decision_id": "d-3", "feedback_type": "dislike"},
        ])
    assert caught.value.field == "feedback_id" and caught.value.value == "f-1"
    assert monitor.metrics()["feedback_count"] == 0
    monitor.close()


@pytest.mark.parametrize(
    "change",
    [
        {"decision_id": "d-2"},
        {"user_id": "u9"},
        {"feedback_type": "rating", "feedback_value": 4},
        {"feedback_value": 3},
        {"feedback_value": None},
        {"move_id": None},
        {"move_id": "dip"},
        {"comments": "changed my mind"},
        {"comments": None},
    ],
    ids=lambda change: ",".join(change),
)
def test_a_feedback_id_repeated_with_other_content_is_a_conflict(database, change):
    monitor = Monitor(database)
    monitor.log_decisions([decision(1), decision(2)])
    first = {"feedback_id": "f-1", "decision_id": "d-1", "feedback_type": "like", "feedback_value": 5.5,
             "user_id": "u1", "move_id": "basic", "comments": "nice"}
    assert monitor.log_feedback(first) == ("f-1", True)
    assert monitor.log_feedback({**first, "timestamp": datetime.now(timezone.utc).isoformat()}) == ("f-1", False)
    with pytest.raises(ConflictError) as caught:
        monitor.log_feedbacks([{"feedback_id": "f-2", "decision_id": "d-2", "feedback_type": "use"}, {**first, **change}])
    assert caught.value.message == 'feedback_id "f-1" is already stored with other content'
    assert monitor.metrics()["feedback_count"] == 1
    monitor.close()


@needs_native
def test_a_repeat_is_recognized_whichever_host_stored_the_first(database, tmp_path):
    # Numbers JSON writes in more than one way: each host's text must be the other's.
    tiny = {**decision(1), "decision_id": "py-1", "recommendation_scores": [1.5e-05, 2e-7, 0.1],
            "recommended_moves": ["a", "b", "c"], "weights_used": {"tempo": 1e-05},
            "song_features": {"bpm": 1e15, "tiny": 3e-9, "key": "A\tminor"}}
    monitor = Monitor(database)
    assert monitor.log_decision(tiny) == ("py-1", True)
    assert native_lines(database, "log-decision", [tiny], tmp_path) == {"duplicates": 1, "events": 1, "stored": 0}
    theirs = {**tiny, "decision_id": "rs-1"}
    assert native_lines(database, "log-decision", [theirs], tmp_path)["stored"] == 1
    assert monitor.log_decision(theirs) == ("rs-1", False)
    with pytest.raises(ConflictError):
        monitor.log_decision({**theirs, "recommendation_scores": [1.5e-05, 2e-7, 0.2]})
    answer = native_lines(database, "log-decision", [{**tiny, "input_song": "else"}], tmp_path)
    native_refused(answer, 'decision_id "py-1" is already stored with other content')
    if not is_postgres(database):
        rows = sqlite3.connect(database).execute(
            "SELECT recommendation_scores, weights_used, song_features FROM decisions ORDER BY decision_id").fetchall()
        assert rows[0] == rows[1]
    feedback = {"feedback_id": "f-1", "decision_id": "py-1", "feedback_type": "like", "feedback_value": 1e-05,
                "comments": "a\r\nb"}
    assert monitor.log_feedback(feedback) == ("f-1", True)
    assert native_lines(database, "log-feedback", [feedback], tmp_path)["duplicates"] == 1
    answer = native_lines(database, "log-feedback", [{**feedback, "feedback_value": 2e-05}], tmp_path)
    native_refused(answer, 'feedback_id "f-1" is already stored with other content')
    monitor.close()


def test_an_experiment_defined_again_otherwise_is_a_conflict(tmp_path):
    experiments = Experiments(Monitor(str(tmp_path / "m.sqlite3")))
    definition = {"test_id": "t1", "test_name": "T", "start_date": "2026-01-01", "end_date": "2026-02-01",
                  "algorithm_versions": ["1.0", "2.0"], "traffic_split": {"1.0": 0.5, "2.0": 0.5}, "success_metrics": ["user_satisfaction"]}
    experiments.create(definition)
    experiments.create(definition)
    with pytest.raises(ConflictError) as caught:
        experiments.create({**definition, "test_name": "other"})
    assert caught.value.field == "test_id" and caught.value.http_status == 409


# -- prune ------------------------------------------------------------------------------------


def _snapshot(database: str) -> dict:
    connection = sqlite3.connect(database)
    tables = {
        "decisions": "SELECT decision_id FROM decisions ORDER BY 1",
        "feedback": "SELECT feedback_id FROM feedback ORDER BY 1",
        "exposures": "SELECT unit FROM exposures ORDER BY 1",
        "feedback_rollup": "SELECT day, algorithm_version, feedback_type, events, valued, value_sum FROM feedback_rollup ORDER BY 1, 2, 3",
        "decision_rollup": "SELECT day, algorithm_version, decisions FROM decision_rollup ORDER BY 1, 2",
    }
    snapshot = {name: connection.execute(sql).fetchall() for name, sql in tables.items()}
    connection.close()
    return snapshot


def _old_and_new(monitor: Monitor, now: datetime) -> None:
    """Decisions 30 days old and of today; feedback on both given yesterday and today; exposures
    30 days old and of yesterday."""
    old, yesterday = now - timedelta(days=30), now - timedelta(days=1)
    monitor.log_decisions([decision(1, timestamp=old.isoformat()), decision(2, timestamp=yesterday.isoformat())])
    monitor.log_feedbacks([
        {"feedback_id": "f-old-1", "decision_id": "d-1", "feedback_type": "rating", "feedback_value": 1,
         "timestamp": yesterday.isoformat()},
        {"feedback_id": "f-old-2", "decision_id": "d-1", "feedback_type": "like", "timestamp": yesterday.isoformat()},
        {"feedback_id": "f-new-1", "decision_id": "d-2", "feedback_type": "rating", "feedback_value": 5,
         "timestamp": yesterday.isoformat()},
        {"feedback_id": "f-new-2", "decision_id": "d-2", "feedback_type": "skip", "timestamp": now.isoformat()},
    ])
    experiments = Experiments(monitor)
    experiments.create({"test_id": "t1", "test_name": "T", "start_date": "2020-01-01", "end_date": "2099-01-01",
                        "algorithm_versions": ["1.0", "2.0"], "traffic_split": {"1.0": 0.5, "2.0": 0.5}, "success_metrics": ["user_satisfaction"]})
    experiments.assign("t1", "unit-old", now=old)
    experiments.assign("t1", "unit-new", now=yesterday)


def test_prune_takes_feedback_with_its_decision_and_recounts_kept_days(database):
    now = datetime.now(timezone.utc)
    monitor = Monitor(database, retention_days=7)
    _old_and_new(monitor, now)
    before = monitor.metrics(days=7, now=now)
    assert before["feedback_count"] == 4 and before["mean_rating"] == 3.0
    assert monitor.prune(now) == {"decisions": 1, "feedback": 2, "exposures": 1}
    after = monitor.metrics(days=7, now=now)
    # Yesterday's totals no longer count the feedback on the removed decision.
    assert after["total_recommendations"] == 1 and after["feedback_count"] == 2
    assert after["mean_rating"] == 5.0
    assert {share["name"]: share["count"] for share in after["feedback"] if share["count"]} == {"rating": 1, "skip": 1}
    assert monitor.prune(now) == {"decisions": 0, "feedback": 0, "exposures": 0}
    monitor.close()


@needs_native
def test_prune_leaves_what_the_native_prune_leaves(tmp_path):
    ours, theirs = str(tmp_path / "ours.sqlite3"), str(tmp_path / "theirs.sqlite3")
    monitor = Monitor(ours, retention_days=7)
    _old_and_new(monitor, datetime.now(timezone.utc))
    monitor.close()
    source, copy = sqlite3.connect(ours), sqlite3.connect(theirs)
    source.backup(copy)
    source.close(), copy.close()
    assert _snapshot(ours) == _snapshot(theirs)
    answer = run_native(theirs, "prune", "--json", env={"MONITOR_RETENTION_DAYS": "7"})
    assert answer.returncode == 0, answer.stderr
    pruned = Monitor(ours, retention_days=7).prune()
    assert json.loads(answer.stdout)["pruned"] == pruned == {"decisions": 1, "feedback": 2, "exposures": 1}
    assert _snapshot(ours) == _snapshot(theirs)


# -- PostgreSQL connection strings ------------------------------------------------------------

PASSWORD_FORMS = [
    "postgres://app@h/db?password=Leak1x",
    "postgres://app:Leak/Pw?x9@h/db",
    "postgresql:///db?host=/run/pg&user=app&password=Leak1x",
    "host=/run/pg user=app password=Leak1x",
    "host=h password='Leak 1x' dbname=db",
    "host=h password='Leak1x",
    "postgres://app:Leak1x@h/db?options=-c%20x",
    "postgres://app:Le@k1x@h/db",
    "postgres://app:Le%41k1x@h/db",
    "host=h password=Leak 1x",
    "POSTGRESQL://app:Leak1x@h/db",
]


def test_postgres_connection_strings_are_recognized_as_the_native_host_does():
    for value in ["postgres://u@h/db", "PostgreSQL://h/db", "host=db dbname=monitor", " host = /run/pg user=app",
                  "dbname=m", "sslmode =require host=h", "Host=db"]:
        assert is_postgres(value), value
    for value in ["data/monitor.sqlite3", "./host=db", "/var/lib/a=b.sqlite3", "host-db=1", "=x", "",
                  "monitor.sqlite3?x=y", "host"]:
        assert not is_postgres(value), value


def test_a_connection_string_is_shown_without_its_password():
    assert masked("postgres://app:s3cret@db:5432/monitor?sslmode=disable") == "postgres://app@db:5432/monitor"
    assert masked("host=/run/pg user=app password=x dbname=m") == "postgres://app@/run/pg/m"
    assert masked("postgres://app@h/db?password=Leak1x") == "postgres://app@h:5432/db"
    assert masked("host=a,b port=1,2 dbname=x user=u") == "postgres://u@a:1,b:2/x"
    assert masked("host=h password='Leak1x") == "postgres://***"
    assert masked("data/monitor.sqlite3") == "data/monitor.sqlite3"
    for value in PASSWORD_FORMS:
        assert is_postgres(value), value
        assert "Leak" not in masked(value) and "k1x" not in masked(value), value


@pytest.mark.parametrize("value", [
    # The client cannot read these (it quotes pieces of them).
    "host=h password='Leak1x",
    "host=h password=Leak 1x",
    "postgres://app:Le%ZZk1x@h/db",
    "postgres://app:Leak/Pw?x9@h/db",
    "postgres://app@h/db?password=Leak1x&bogus=1",
    # Read, but no server there (a socket directory that does not exist: no name lookup).
    "host=/nonexistent-bachata user=app password=Leak1x dbname=m connect_timeout=1",
    "postgresql:///m?host=/nonexistent-bachata&user=app&password=Leak1x&connect_timeout=1",
    "postgres://app:Leak1x@/m?host=/nonexistent-bachata&connect_timeout=1",
    "postgres://app:Le%41k1x@/m?host=/nonexistent-bachata&connect_timeout=1",
    "host=/nonexistent-bachata user=app password='Leak\\' 1x' dbname=m connect_timeout=1",
])
def test_no_error_repr_or_log_shows_the_password(value, caplog):
    pytest.importorskip("psycopg")
    caplog.set_level(logging.DEBUG)
    with pytest.raises(ServiceUnavailableError) as caught:
        Monitor(value)
    text = str(caught.value) + repr(caught.value) + json.dumps(caught.value.to_problem()) + caplog.text
    for piece in ("Leak", "k1x", "' 1x", "Le%ZZ", "Le%41k", "LeAk"):
        assert piece not in text, text
    assert caught.value.message.startswith("cannot connect to the monitor database postgres://")


@pytest.mark.skipif(not POSTGRES, reason="BACHATA_TEST_POSTGRES is not set")
def test_a_keyword_value_connection_string_reaches_postgres_and_stays_hidden(database, caplog):
    if not is_postgres(database):
        pytest.skip("PostgreSQL only")
    # postgresql:///NAME?host=DIR&user=postgres as keyword=value, with a password (trust ignores it).
    dbname, _, query = database.removeprefix("postgresql:///").partition("?")
    params = dict(pair.split("=", 1) for pair in query.split("&"))
    keyword = f"host={params['host']} user={params['user']} password='Leak 1x' dbname={dbname}"
    caplog.set_level(logging.DEBUG)
    monitor = PerformanceMonitor(database=keyword)
    assert monitor.monitor.engine == "postgres"
    monitor.log_recommendation_decision("song", ["basic"], [0.9], {"tempo": 0.5}, 12.0, {"bpm": 128})
    assert monitor.calculate_performance_metrics().total_recommendations == 1
    assert monitor.database == f"postgres://postgres@{params['host']}/{dbname}"
    text = repr(monitor) + repr(monitor.monitor) + repr(monitor.monitor._writer) + str(vars(monitor)) + caplog.text
    assert "Leak" not in text
    monitor.close()


def test_the_configuration_never_shows_a_monitor_password():
    from bachata_common import EnvironmentConfig

    for value in PASSWORD_FORMS:
        try:
            config = EnvironmentConfig(env_file=None, environ={"MONITOR_DATABASE": value})
        except ValidationError as error:
            text = str(error) + repr(error.problems) + json.dumps(error.to_problem())
        else:
            assert config.monitor.database == value
            text = repr(config) + repr(config.settings) + repr(config.monitor)
        assert "Leak" not in text and "k1x" not in text, (value, text)


def test_the_database_and_its_new_folders_are_private(tmp_path):
    import os
    import stat

    from bachata_common.monitor import Monitor

    database = tmp_path / "a" / "b" / "monitor.sqlite3"
    Monitor(str(database))
    assert stat.S_IMODE(os.stat(database).st_mode) == 0o600
    for folder in (tmp_path / "a", tmp_path / "a" / "b"):
        assert stat.S_IMODE(os.stat(folder).st_mode) == 0o700
