#!/usr/bin/env python3
"""Age-cleanup benchmark: `bachata-common cleanup` against `find -delete` on identical trees.

Builds two identical trees of FILES files (half older than the cutoff, interleaved, in nested
directories), removes the old half of one with bachata-common and of the other with
`find DIR -type f -mmin +N -delete`, for several rounds, and reports wall time, the ratio and
the peak RSS of each. Then measures the daemon's idle CPU and RSS at a 1 s monitoring interval.
"""
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

FILES = int(os.environ.get("FILES", "100000"))
ROUNDS = int(os.environ.get("ROUNDS", "5"))
IDLE_SECS = int(os.environ.get("IDLE_SECS", "30"))
BINARY = os.environ.get("BINARY", "target/release/bachata-common")
AGE_HOURS = 24
OLD = time.time() - 48 * 3600


def build_tree(root):
    """FILES files in 10 x 10 directories; every other file is 48 h old."""
    per_dir = max(1, FILES // 100)
    made = 0
    for top in range(10):
        for sub in range(10):
            directory = os.path.join(root, f"d{top}", f"s{sub}")
            os.makedirs(directory, exist_ok=True)
            for index in range(per_dir):
                path = os.path.join(directory, f"f{index}.tmp")
                with open(path, "wb") as handle:
                    handle.write(b"x" * 64)
                if made % 2 == 0:
                    os.utime(path, (OLD, OLD))
                made += 1
    # Directories must not look old, or bachata-common would also try to remove them.
    return made


def run_measured(command, env=None):
    """Wall seconds and peak RSS (KiB) of one command."""
    start = time.perf_counter()
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - start
    if status != 0:
        sys.exit(f"{command[0]} failed: {process.stderr.read().decode()}")
    return elapsed, usage.ru_maxrss


def count_files(root):
    return sum(len(files) for _, _, files in os.walk(root))


def cleanup_rounds(work):
    ours, theirs, our_rss, their_rss = [], [], [], []
    for round_index in range(ROUNDS):
        data = os.path.join(work, "data")
        peer = os.path.join(work, "peer")
        for path in (data, peer):
            shutil.rmtree(path, ignore_errors=True)
        made = build_tree(os.path.join(data, "temp"))
        build_tree(peer)
        # Old files of a real temp area are long on disk: flush both trees before timing.
        os.sync()
        time.sleep(1)
        env = dict(os.environ, BACHATA_DATA_DIR=data, BACHATA_AREAS="temp",
                   MAX_TEMP_AGE_HOURS=str(AGE_HOURS), RUST_LOG="error")
        # Alternate the order so neither side always runs on a warmer cache.
        jobs = [("ours", [BINARY, "cleanup", "--json"], env),
                ("find", ["find", peer, "-type", "f", "-mmin", f"+{AGE_HOURS * 60}", "-delete"], None)]
        if round_index % 2:
            jobs.reverse()
        for name, command, job_env in jobs:
            seconds, rss = run_measured(command, job_env)
            if name == "ours":
                ours.append(seconds)
                our_rss.append(rss)
            else:
                theirs.append(seconds)
                their_rss.append(rss)
        left_ours = count_files(os.path.join(data, "temp"))
        left_theirs = count_files(peer)
        if left_ours != left_theirs or left_ours != made - (made + 1) // 2:
            sys.exit(f"trees differ after cleanup: ours {left_ours}, find {left_theirs}")
    return ours, theirs, our_rss, their_rss


def idle_daemon(work):
    env = dict(os.environ, BACHATA_DATA_DIR=os.path.join(work, "idle"), MONITOR_INTERVAL_SECS="1",
               BACHATA_LISTEN="127.0.0.1:0", RUST_LOG="error")
    process = subprocess.Popen([BINARY, "run"], env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    process.stdout.readline()
    time.sleep(3)
    ticks = os.sysconf("SC_CLK_TCK")

    def cpu_seconds():
        with open(f"/proc/{process.pid}/stat") as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / ticks

    start_cpu, start = cpu_seconds(), time.perf_counter()
    time.sleep(IDLE_SECS)
    used = cpu_seconds() - start_cpu
    elapsed = time.perf_counter() - start
    with open(f"/proc/{process.pid}/status") as handle:
        rss_kib = next(int(line.split()[1]) for line in handle if line.startswith("VmRSS:"))
    process.terminate()
    process.wait(timeout=30)
    return used / elapsed * 100.0, rss_kib


def main():
    work = tempfile.mkdtemp(prefix="bachata-bench-")
    try:
        ours, theirs, our_rss, their_rss = cleanup_rounds(work)
        idle_cpu, idle_rss = idle_daemon(work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    median_ours, median_theirs = statistics.median(ours), statistics.median(theirs)
    result = {
        "files": FILES,
        "rounds": ROUNDS,
        "bachata_common_seconds": [round(s, 3) for s in ours],
        "find_seconds": [round(s, 3) for s in theirs],
        "median_bachata_common_seconds": round(median_ours, 3),
        "median_find_seconds": round(median_theirs, 3),
        "ratio": round(median_ours / median_theirs, 2),
        "peak_rss_bachata_common_mib": round(max(our_rss) / 1024, 1),
        "peak_rss_find_mib": round(max(their_rss) / 1024, 1),
        "daemon_idle_cpu_percent_of_a_core": round(idle_cpu, 3),
        "daemon_idle_rss_mib": round(idle_rss / 1024, 1),
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
