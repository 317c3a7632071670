"""``Experiments.assign_many``: the answers of one-by-one assignment in the units' order, each
unit's exposure logged once in one transaction, a unit at fault refusing the whole batch; and
the native host's batch (``experiments assign --units-from``) serving the same versions from the
same database."""

import json
import os
import subprocess
from datetime import datetime, timezone
from pathlib import Path

import pytest

from bachata_common import ValidationError
from bachata_common.monitor import Monitor
from bachata_common.monitor.experiments import MAX_ASSIGN_BATCH, Experiments

REPOSITORY = Path(__file__).resolve().parents[3]
NATIVE = REPOSITORY / "target" / "debug" / "bachata-common"
NOW = datetime(2026, 6, 1, tzinfo=timezone.utc)


def experiments(tmp_path) -> Experiments:
    result = Experiments(Monitor(str(tmp_path / "monitor.sqlite3")))
    result.create({"test_id": "t", "test_name": "T", "start_date": "2026-01-01", "end_date": "2027-12-31",
                   "algorithm_versions": ["a", "b"], "traffic_split": {"a": 0.5, "b": 0.5},
                   "success_metrics": ["like_rate"]})
    return result


def exposures(store: Experiments) -> list:
    return store.monitor._read(lambda tx: tx.query("SELECT unit, variation FROM exposures ORDER BY unit"))


def test_a_batch_answers_what_one_by_one_answers_and_logs_each_unit_once(tmp_path):
    store = experiments(tmp_path)
    units = [f"user-{index}" for index in range(500)] + ["user-7", "user-7"]
    batch = store.assign_many("t", units, NOW)
    assert len(batch) == len(units)
    single = [store.assign("t", unit, NOW) for unit in units]
    assert batch == single
    rows = exposures(store)
    assert len(rows) == 500
    assert {unit: variation for unit, variation in rows} == {
        unit: answer["variation"] for unit, answer in zip(units, batch)
    }


@pytest.mark.parametrize("units, field", [
    (["ok", "bad\x01"], "units[1]"),
    (["x" * 1001], "units[0]"),
    ([], "units"),
])
def test_a_unit_at_fault_refuses_the_batch_and_logs_nothing(tmp_path, units, field):
    store = experiments(tmp_path)
    with pytest.raises(ValidationError) as refused:
        store.assign_many("t", units, NOW)
    assert refused.value.field == field
    assert exposures(store) == []


def test_the_batch_size_is_bounded(tmp_path):
    store = experiments(tmp_path)
    with pytest.raises(ValidationError, match=f"1 to {MAX_ASSIGN_BATCH} units"):
        store.assign_many("t", ["u"] * (MAX_ASSIGN_BATCH + 1), NOW)


@pytest.mark.skipif(not NATIVE.is_file(), reason="the native binary is not built")
def test_the_native_batch_serves_the_same_versions(tmp_path):
    store = experiments(tmp_path)
    units = [f"unit-{index}" for index in range(300)]
    ours = store.assign_many("t", units)
    (tmp_path / "units.txt").write_text("\n".join(units) + "\n")
    env = dict(os.environ, MONITOR_DATABASE=str(tmp_path / "monitor.sqlite3"))
    run = subprocess.run(
        [str(NATIVE), "experiments", "assign", "t", "--units-from", str(tmp_path / "units.txt"), "--json"],
        capture_output=True, text=True, env=env, check=True,
    )
    theirs = [json.loads(line) for line in run.stdout.splitlines()]
    assert [answer["unit"] for answer in theirs] == units
    assert [answer["version"] for answer in theirs] == [answer["version"] for answer in ours]
    assert len(exposures(store)) == 300
