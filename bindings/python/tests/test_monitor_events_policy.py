"""The monitor's event rules as the policy decides them, from the Python host: what a Python
caller passes is decoded into the contract's records (times strictly RFC 3339, text valid
Unicode, batches lists), a long batch is checked in parts each naming its events by their index
in the whole batch, and an answer the store cannot hold is the policy's fault and stores
nothing."""

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from bachata_common import ValidationError, load_policy
from bachata_common._component import PolicyError
from bachata_common.monitor import Monitor, rules

REPOSITORY = Path(__file__).resolve().parents[3]
#: Built by the Rust suite (`cargo test`), which runs first in `tests/run-all.sh`.
LIAR = REPOSITORY / "target" / "test-policies" / "wasm32-wasip2" / "wasm-release" / "examples" / "events_liar.wasm"
BASE = {"input_song": "s", "recommended_moves": ["a"], "recommendation_scores": [0.5], "processing_time_ms": 1.0}
NOW = datetime(2026, 11, 26, 12, tzinfo=timezone.utc)


@pytest.fixture
def monitor(tmp_path):
    monitor = Monitor(str(tmp_path / "m.sqlite3"))
    yield monitor
    monitor.close()


def refused(monitor, event) -> ValidationError:
    with pytest.raises(ValidationError) as caught:
        monitor.log_decision({**BASE, **event})
    return caught.value


@pytest.mark.parametrize(
    "text",
    ["2026-W49-1", "20261205T100000Z", "2026-12-05T10:00:00", "2026-12-05", "2026-13-05T10:00:00Z",
     "2026-12-05T10:00:00+25:00", "yesterday"],
)
def test_a_time_is_rfc_3339_or_refused(monitor, text):
    error = refused(monitor, {"timestamp": text})
    assert (error.field, error.message) == ("timestamp", "timestamp must be an RFC 3339 time")


def test_rfc_3339_forms_and_a_leap_second_are_read_as_the_native_host_reads_them():
    seconds = lambda text: rules._rfc3339("timestamp", text)  # noqa: E731
    assert seconds("2026-12-05t10:00:00z") == seconds("2026-12-05T10:00:00Z")
    assert seconds("2026-12-05 11:00:00+01:00") == seconds("2026-12-05T10:00:00Z")
    assert seconds("2026-12-05T10:00:00.123456789Z")["nanoseconds"] == 123_456_789
    assert seconds("2016-12-31T23:59:60Z") == {"seconds": 1483228799, "nanoseconds": 999_999_999}


@pytest.mark.parametrize(
    "when",
    [datetime(1, 1, 1), datetime(1, 1, 1, 1, tzinfo=timezone(timedelta(hours=5))),
     datetime(9999, 12, 31, 23, tzinfo=timezone(timedelta(hours=-5)))],
)
def test_extreme_datetimes_are_refused_by_the_rules_not_with_a_python_exception(monitor, when):
    assert refused(monitor, {"timestamp": when}).field == "timestamp"


def test_text_that_is_not_unicode_is_refused(monitor):
    error = refused(monitor, {"input_song": "a\ud800b"})
    assert error.field == "input_song" and "Unicode" in error.message


def test_fields_are_named_in_the_contracts_order(monitor):
    everything_missing = {key: None for key in BASE}
    with pytest.raises(ValidationError) as caught:
        monitor.log_decision(everything_missing)
    assert caught.value.field == "input_song"


def test_a_batch_is_a_list(monitor):
    with pytest.raises(ValidationError) as caught:
        monitor.log_decisions({"a": BASE})
    assert "a batch is a list of events" in caught.value.message


def test_a_long_batch_is_checked_in_parts_that_name_events_in_the_whole_batch(monitor, monkeypatch):
    monkeypatch.setattr(rules, "CALL_BYTES", 1_000)  # a few events a call
    calls = []
    real = rules._component.call

    def counting(interface, function, *args):
        calls.append((function, len(args[0]), args[2]))
        return real(interface, function, *args)

    monkeypatch.setattr(rules._component, "call", counting)
    batch = [{**BASE, "decision_id": f"d-{i}"} for i in range(40)] + [{**BASE, "input_song": " "}]
    with pytest.raises(ValidationError) as caught:
        monitor.log_decisions(batch)
    assert caught.value.field == "[40].input_song"
    assert caught.value.message.startswith("event 40: ")
    starts = [start for function, _, start in calls if function == "check-decisions"]
    assert len(starts) > 1 and starts[0] == 0 and starts == sorted(starts)
    assert monitor.metrics()["total_recommendations"] == 0
    assert len(monitor.log_decisions(batch[:40])) == 40


@pytest.mark.skipif(not LIAR.is_file(), reason=f"{LIAR} is built by the Rust suite (cargo test)")
@pytest.mark.parametrize(
    "lie", ["inf-time", "negative-time", "nan-score", "far-future", "bad-nanos", "empty-id", "nul-move", "fewer-scores"]
)
def test_an_answer_the_store_cannot_hold_is_the_policys_fault(monitor, lie):
    load_policy([LIAR])
    try:
        with pytest.raises(PolicyError, match="events.check-decisions"):
            monitor.log_decision({**BASE, "input_song": lie})
    finally:
        load_policy([])
    assert monitor.metrics()["total_recommendations"] == 0
