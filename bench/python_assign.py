#!/usr/bin/env python3
"""Assignment from Python (run by ``bench/python_assign.sh`` in a virtualenv holding the binding
and ``growthbook``).

An experiment of two versions split 50/50 (hash version 2, the test id as seed, full coverage)
is stored in a fresh SQLite monitor and every unit assigned once, so each exposure is stored.
Then, in rounds whose order alternates, the same ``UNITS`` units are assigned by:

- ``Experiments.assign_definition(definition, unit)``: the policy component's ``experiments.assign``
  and the exposure write (already stored: nothing written);
- GrowthBook's Python SDK as its documentation shows it: ``GrowthBook(attributes={"id": unit})``
  and ``gb.run(Experiment(key, variations, weights, coverage, hashVersion=2, seed))``, no
  tracking callback, nothing stored;
- the first call again with the compiled conversions off (wasmtime-py's public API converting
  values, the path every call took before), on the first tenth of the units.

Both must serve every unit the same variation. Prints each one's median time per assignment
over the rounds and the ratio to GrowthBook: the median of each round's ratio (the two runs of a
round are back to back, so a load that comes and goes weighs on both alike).
"""

import os
import statistics
import tempfile
import time

from growthbook import Experiment, GrowthBook

from bachata_common import _component
from bachata_common.monitor import Monitor
from bachata_common.monitor.experiments import Experiments

UNITS = int(os.environ.get("UNITS", "1000"))
ROUNDS = int(os.environ.get("ROUNDS", "21"))
TEST = "ranker-v2"
VERSIONS = ["1.0", "2.0"]


def main() -> None:
    work = tempfile.mkdtemp(prefix="bachata-assign.")
    experiments = Experiments(Monitor(os.path.join(work, "monitor.sqlite3")))
    experiments.create({
        "test_id": TEST, "test_name": "Ranker v2", "start_date": "2020-01-01", "end_date": "2099-12-31",
        "algorithm_versions": VERSIONS, "traffic_split": {"1.0": 0.5, "2.0": 0.5}, "coverage": 1.0,
        "hash_version": 2, "success_metrics": ["like_rate"],
    })
    definition = experiments.get(TEST)["definition"]
    units = [f"user-{index}" for index in range(UNITS)]

    def ours(chosen=units):
        return [experiments.assign_definition(definition, unit)["variation"] for unit in chosen]

    def growthbook(chosen=units):
        served = []
        for unit in chosen:
            gb = GrowthBook(attributes={"id": unit})
            result = gb.run(Experiment(key=TEST, variations=VERSIONS, weights=[0.5, 0.5], coverage=1.0,
                                       hashVersion=2, seed=TEST))
            served.append(result.variationId)
        return served

    def public(chosen=units[: max(1, UNITS // 10)]):
        _component.FAST_CALLS = False
        try:
            return ours(chosen)
        finally:
            _component.FAST_CALLS = True

    first = ours()  # every exposure stored from here on
    assert first == growthbook(), "the policy and GrowthBook served some unit different variations"
    exposures = experiments.monitor._read(lambda tx: tx.query("SELECT COUNT(*) FROM exposures"))[0][0]
    assert exposures == UNITS, exposures

    runs = {"ours": (ours, UNITS, []), "growthbook": (growthbook, UNITS, []), "public": (public, max(1, UNITS // 10), [])}
    for round_index in range(ROUNDS):
        order = list(runs) if round_index % 2 == 0 else list(reversed(runs))
        for name in order:
            run, count, times = runs[name]
            if name == "public" and round_index % 3:
                continue  # slow: every third round
            started = time.perf_counter()
            run()
            times.append((time.perf_counter() - started) / count * 1e6)
    ours_us = statistics.median(runs["ours"][2])
    peer_us = statistics.median(runs["growthbook"][2])
    public_us = statistics.median(runs["public"][2])
    ratio = statistics.median(a / b for a, b in zip(runs["ours"][2], runs["growthbook"][2]))
    public_ratio = statistics.median(
        a / runs["growthbook"][2][index] for a, index in zip(runs["public"][2], range(0, ROUNDS, 3))
    )
    print(f"{UNITS} units, {ROUNDS} rounds; µs per assignment (median of rounds), ratio to GrowthBook "
          "(median of the rounds' ratios)")
    print(f"| Experiments.assign_definition (exposure already stored) | {ours_us:.1f} µs | {ratio:.2f}× |")
    print(f"| GrowthBook's Python SDK (GrowthBook + run) | {peer_us:.1f} µs | 1.00× |")
    print(f"| the same call, values converted by wasmtime-py's public API | {public_us:.1f} µs | {public_ratio:.1f}× |")


if __name__ == "__main__":
    main()
