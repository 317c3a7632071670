#!/usr/bin/env python3
"""Python host cleanup benchmark (run by ``bench/python_cleanup.sh`` in a virtualenv holding the
binding).

1. Age cleanup: for each round, two identical trees (directories of 1,000 files, every other file
   48 h old, the rest new) are built and flushed to disk; one is cleaned by
   ``ResourceManager.cleanup_temporary_files_sync()`` (the component's policy, this host lending
   ``host-fs``: descriptors, no link followed, mount ids, ``flock`` held while unlinking), the
   other by the original app's loop (``rglob('*')``, ``is_file()``, age from ``stat()``,
   ``unlink()``), each in a fresh process, in an order that alternates per round. Afterwards each
   tree must hold exactly the new half. Reports the wall time of the cleanup itself, the peak RSS
   of each process, and the ratio.
2. ``import bachata_common`` plus the first call, in fresh processes, with the compile cache warm
   (after one run that fills it) and cold (``BACHATA_CACHE_DIR=off``).
"""

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

FILES = int(os.environ.get("FILES", "100000"))
ROUNDS = int(os.environ.get("ROUNDS", "3"))
PER_DIR = 1000
OLD = time.time() - 48 * 3600
PAYLOAD = b"x" * 64

OURS = r"""
import resource, sys, time
from bachata_common import ResourceManager
manager = ResourceManager(data_dir=sys.argv[1], areas=["temp"])
manager.max_temp_age_hours = 24
manager.cleanup_settings()
started = time.perf_counter()
result = manager.cleanup_temporary_files_sync()
elapsed = time.perf_counter() - started
print(elapsed, result["files_removed"], resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""

PEER = r"""
import resource, sys, time
from datetime import datetime, timedelta
from pathlib import Path
temp_dir = Path(sys.argv[1]) / "temp"
max_age = timedelta(hours=24)
started = time.perf_counter()
files_removed = 0
bytes_freed = 0
current_time = datetime.now()
for file_path in temp_dir.rglob("*"):
    if file_path.is_file():
        file_age = current_time - datetime.fromtimestamp(file_path.stat().st_mtime)
        if file_age > max_age:
            file_size = file_path.stat().st_size
            file_path.unlink()
            files_removed += 1
            bytes_freed += file_size
elapsed = time.perf_counter() - started
print(elapsed, files_removed, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def build(root: str) -> None:
    temp = os.path.join(root, "temp")
    for index in range(FILES):
        if index % PER_DIR == 0:
            directory = os.path.join(temp, f"job{index // PER_DIR:04d}")
            os.makedirs(directory)
        path = os.path.join(directory, f"frame{index:07d}.png")
        with open(path, "wb") as file:
            file.write(PAYLOAD)
        if index % 2 == 0:
            os.utime(path, (OLD, OLD))


def remaining(root: str) -> list:
    found = []
    for directory, _dirs, files in os.walk(os.path.join(root, "temp")):
        found.extend(os.path.relpath(os.path.join(directory, name), root) for name in files)
    return sorted(found)


def run(script: str, root: str, env=None) -> tuple[float, int, int]:
    output = subprocess.run([sys.executable, "-c", script, root], check=True, capture_output=True, text=True, env=env)
    elapsed, removed, rss_kib = output.stdout.split()
    return float(elapsed), int(removed), int(rss_kib)


def startup(env: dict) -> float:
    script = (
        "import time; t = time.perf_counter(); import bachata_common; "
        "bachata_common.get_user_friendly_message('VALIDATION_ERROR'); print(time.perf_counter() - t)"
    )
    output = subprocess.run([sys.executable, "-c", script], check=True, capture_output=True, text=True, env=env)
    return float(output.stdout)


def main() -> None:
    work = tempfile.mkdtemp(prefix="python-cleanup-bench.", dir=os.path.abspath("target"))
    times = {"bachata_common": [], "rglob + unlink": []}
    rss = {"bachata_common": [], "rglob + unlink": []}
    try:
        for round_index in range(ROUNDS):
            roots = {}
            for name in times:
                roots[name] = os.path.join(work, f"{round_index}-{name.split()[0]}")
                build(roots[name])
            os.sync()
            expected = sorted(
                os.path.join("temp", f"job{i // PER_DIR:04d}", f"frame{i:07d}.png") for i in range(1, FILES, 2)
            )
            order = list(times) if round_index % 2 == 0 else list(reversed(times))
            for name in order:
                script = OURS if name == "bachata_common" else PEER
                elapsed, removed, peak = run(script, roots[name])
                assert removed == FILES // 2, (name, removed)
                assert remaining(roots[name]) == expected, f"{name} left the wrong files"
                times[name].append(elapsed)
                rss[name].append(peak)
                print(f"round {round_index + 1}: {name:15} {elapsed:7.2f} s  peak RSS {peak / 1024:6.1f} MiB", flush=True)
            for root in roots.values():
                shutil.rmtree(root)
        ours = statistics.median(times["bachata_common"])
        peer = statistics.median(times["rglob + unlink"])
        print(f"\n{FILES:,} files, half of them old; median of {ROUNDS} rounds (cleanup only, process start excluded)")
        print(f"| tool | median s | peak RSS MiB |\n|---|---|---|")
        for name in times:
            print(f"| {name} | {statistics.median(times[name]):.2f} | {max(rss[name]) / 1024:.1f} |")
        print(f"ratio bachata_common / peer: {ours / peer:.2f}")

        warm_env = dict(os.environ)
        startup(warm_env)
        warm = statistics.median(startup(warm_env) for _ in range(5))
        cold_env = dict(os.environ, BACHATA_CACHE_DIR="off")
        cold = statistics.median(startup(cold_env) for _ in range(3))
        print(f"\nimport bachata_common + first call: {warm * 1000:.0f} ms with the compile cache, "
              f"{cold * 1000:.0f} ms without (median of 5 and 3 fresh processes)")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
