#!/usr/bin/env python3
"""Cleanup benchmark: `bachata-common cleanup` against `find -delete` and `systemd-tmpfiles`.

1. Age cleanup, for each size in FILES: three identical frames-like trees (directories of
   1,000 files; every other file 48 h old, atime and mtime; the rest new) are built and
   flushed to disk, then one is cleaned by each of `bachata-common cleanup` (age 24 h, the
   real policy component, compile cache warm), `find DIR -type f -mmin +1440 -delete` and
   `systemd-tmpfiles --clean CONFIG` (one line `d DIR - - - mM:24h`), in an order that
   rotates per round. After each tool the tree must hold exactly the new half, listed and
   compared file by file. Reports wall time (per round and median), CPU time, the peak RSS of
   each tool (GNU time's %M), the ratios and the policy component's peak linear memory (debug log).
2. Cache cap over CACHE_FILES small cache files with distinct mtimes in random order:
   the cleanup must succeed in bounded memory and remove exactly the oldest files, as many
   as a sort by mtime says must go to get the area to the low-water mark.
3. The daemon's idle CPU and RSS at a 1 s monitoring interval.
"""
import array
import json
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

FILES = [int(n) for n in os.environ.get("FILES", "100000,1000000").split(",") if n]
ROUNDS = [int(n) for n in os.environ.get("ROUNDS", "3,1").split(",") if n]
CACHE_FILES = int(os.environ.get("CACHE_FILES", "1000000"))
IDLE_SECS = int(os.environ.get("IDLE_SECS", "30"))
BINARY = os.path.abspath(os.environ.get("BINARY", "target/release/bachata-common"))
AGE_HOURS = 24
PER_DIR = 1000
OLD_NS = time.time_ns() - 48 * 3600 * 10**9
GIB = 1024.0 ** 3
MIB = 1024 * 1024
PAYLOAD = b"x" * 64
TOOLS = ("bachata-common", "find", "systemd-tmpfiles")
# Targets: bachata-common no slower than either peer, host peak RSS at most 64 MiB at 1M files.
TARGET_RATIO = 1.0
TARGET_RSS_MIB = 64
CHATTR = shutil.which("chattr")
TIME = "/usr/bin/time" if os.access("/usr/bin/time", os.X_OK) else None
PEAK_MEMORY = re.compile(r'function="cleanup\.run" peak_memory_bytes=(\d+)')


def log(message):
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def rounds_for(size_index):
    return ROUNDS[size_index] if size_index < len(ROUNDS) else ROUNDS[-1]


def check_room(work, files):
    """Fails early when the filesystem lacks the inodes or blocks for `files` small files."""
    stat = os.statvfs(work)
    blocks_needed = files * 4096 * 1.1
    if stat.f_favail < files * 1.05 or stat.f_bavail * stat.f_frsize < blocks_needed:
        sys.exit(f"not enough room in {work} for {files} files "
                 f"({stat.f_favail} inodes, {stat.f_bavail * stat.f_frsize // MIB} MiB free)")


def spread(directory):
    """Creates `directory` with ext4's top-directory attribute (`chattr +T`), so that the
    directories made in it spread over the block groups. On ext4 without a journal (this
    machine's), creating an inode in a group that holds inodes deleted in the last 12 hours
    (vm.dirtytime_expire_seconds) costs a check of each of them (ext4's recently_deleted), and
    the benchmark deletes millions: without the spread, building the later trees slows to
    0.3-1 ms a file. Only the untimed build is affected; every tree of a round is built alike."""
    os.makedirs(directory)
    if CHATTR:
        subprocess.run([CHATTR, "+T", directory], check=False, stderr=subprocess.DEVNULL)


def frame_path(index):
    return f"job_{index // PER_DIR:04d}/frame_{index % PER_DIR:06d}.jpg"


def build_tree(root, files):
    """`files` frames of 64 bytes in directories of PER_DIR; even-numbered ones 48 h old
    (atime and mtime; ctime cannot be set and stays new). Returns the relative paths that an
    age cleanup must leave, sorted."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL
    spread(root)
    kept = []
    for index in range(files):
        if index % PER_DIR == 0:
            os.makedirs(os.path.join(root, f"job_{index // PER_DIR:04d}"))
        relative = frame_path(index)
        fd = os.open(os.path.join(root, relative), flags, 0o644)
        try:
            os.write(fd, PAYLOAD)
            if index % 2 == 0:
                os.utime(fd, ns=(OLD_NS, OLD_NS))
            else:
                kept.append(relative)
        finally:
            os.close(fd)
    # Directories must not look old, or the cleaners would also consider them.
    kept.sort()
    return kept


def listing(root):
    """Relative paths of every non-directory entry and of every directory below `root`, sorted."""
    files, directories = [], []
    for path, subdirs, names in os.walk(root):
        relative = os.path.relpath(path, root)
        prefix = "" if relative == "." else relative + "/"
        files.extend(prefix + name for name in names)
        directories.extend(prefix + name for name in subdirs)
    files.sort()
    directories.sort()
    return files, directories


def check_left(tool, root, kept, directories):
    """Fails loudly unless `root` holds exactly the files `kept` and the directories."""
    files_left, directories_left = listing(root)
    for what, left, expected in (("files", files_left, kept), ("directories", directories_left, directories)):
        if left != expected:
            missing = sorted(set(expected) - set(left))
            extra = sorted(set(left) - set(expected))
            sys.exit(f"{tool} left the wrong {what} in {root}: {len(left)} instead of {len(expected)}; "
                     f"missing {len(missing)} (e.g. {missing[:3]}), extra {len(extra)} (e.g. {extra[:3]})")


def run_measured(command, env, stdout_path, stderr_path):
    """Wall seconds, CPU seconds (user + system, from wait4) and peak RSS (KiB) of one command.
    The peak comes from GNU time (`%M`), not from wait4: a child forked from Python counts
    Python's pages as its own until it execs, and would report them as its peak. Without
    /usr/bin/time, VmHWM is polled."""
    rss_path, name = stderr_path + ".rss", command[0]
    if TIME:
        command = [TIME, "-f", "%M", "-o", rss_path, *command]
    peak = 0
    with open(stdout_path, "wb") as out, open(stderr_path, "wb") as err:
        start = time.perf_counter()
        process = subprocess.Popen(command, env=env, stdout=out, stderr=err)
        while True:
            pid, status, usage = os.wait4(process.pid, 0 if TIME else os.WNOHANG)
            if pid:
                break
            try:
                with open(f"/proc/{process.pid}/status") as proc_status:
                    for line in proc_status:
                        if line.startswith("VmHWM:"):
                            peak = max(peak, int(line.split()[1]))
            except OSError:
                pass
            time.sleep(0.01)
        elapsed = time.perf_counter() - start
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        with open(stderr_path, errors="replace") as err:
            sys.exit(f"{name} failed (status {process.returncode}): {err.read()[-2000:]}")
    if TIME:
        with open(rss_path) as rss:
            peak = int(rss.read().split()[-1])
    return elapsed, usage.ru_utime + usage.ru_stime, peak


def peak_policy_memory(stderr_path):
    with open(stderr_path, errors="replace") as err:
        found = PEAK_MEMORY.findall(err.read())
    if not found:
        sys.exit(f"no `policy call finished function=\"cleanup.run\"` line in {stderr_path}")
    return int(found[-1])


def bachata_env(data, **extra):
    return dict(os.environ, BACHATA_DATA_DIR=data, RUST_LOG="bachata_common=debug", **extra)


def age_round(work, files, order):
    """One round at `files`: builds the three trees, runs each tool in `order`, checks each."""
    base = os.path.join(work, "age")
    shutil.rmtree(base, ignore_errors=True)
    trees = {tool: os.path.join(base, tool.replace("-", "_"), "temp") for tool in TOOLS}
    log(f"building 3 trees of {files:,} files")
    kept = None
    for tool in TOOLS:
        kept = build_tree(trees[tool], files)
    directories = sorted(f"job_{d:04d}" for d in range((files + PER_DIR - 1) // PER_DIR))
    config = os.path.join(base, "tmpfiles.conf")
    with open(config, "w") as handle:
        handle.write(f"d {trees['systemd-tmpfiles']} - - - mM:{AGE_HOURS}h\n")
    commands = {
        "bachata-common": ([BINARY, "cleanup", "--json"],
                           bachata_env(os.path.dirname(trees["bachata-common"]), BACHATA_AREAS="temp",
                                       MAX_TEMP_AGE_HOURS=str(AGE_HOURS))),
        "find": (["find", trees["find"], "-type", "f", "-mmin", f"+{AGE_HOURS * 60}", "-delete"], None),
        "systemd-tmpfiles": (["systemd-tmpfiles", "--clean", config], None),
    }
    # Old files of a real temp area are long on disk: flush the trees before timing.
    os.sync()
    time.sleep(1)
    result = {}
    for tool in order:
        command, env = commands[tool]
        stdout_path = os.path.join(base, f"{tool}.out")
        stderr_path = os.path.join(base, f"{tool}.err")
        seconds, cpu, rss = run_measured(command, env, stdout_path, stderr_path)
        entry = {"seconds": seconds, "cpu_seconds": cpu, "rss_kib": rss}
        if tool == "bachata-common":
            with open(stdout_path) as out:
                report = json.load(out)
            removed = files - len(kept)
            if (report["total_files_removed"] != removed or report["error_count"]
                    or report["skipped_in_use"]):
                sys.exit(f"bachata-common report: removed {report['total_files_removed']} of "
                         f"{removed}, {report['error_count']} errors, {report['skipped_in_use']} in use")
            entry["policy_peak_bytes"] = peak_policy_memory(stderr_path)
        # What the tool left dirty is flushed before the next one starts (untimed).
        os.sync()
        check_left(tool, trees[tool], kept, directories)
        log(f"  {tool}: {seconds:.2f} s ({cpu:.2f} s CPU), peak RSS {rss / 1024:.1f} MiB, left {len(kept):,} files as expected")
        result[tool] = entry
    shutil.rmtree(base, ignore_errors=True)
    return result


def age_cleanup(work):
    results = []
    rotation = 0
    for size_index, files in enumerate(FILES):
        check_room(work, 3 * files)
        rounds = []
        for _ in range(rounds_for(size_index)):
            order = TOOLS[rotation % 3:] + TOOLS[:rotation % 3]
            rotation += 1
            log(f"age cleanup, {files:,} files, order {', '.join(order)}")
            rounds.append(age_round(work, files, order))
        summary = {"files": files, "rounds": len(rounds)}
        for tool in TOOLS:
            seconds = [r[tool]["seconds"] for r in rounds]
            summary[tool] = {
                "seconds": [round(s, 3) for s in seconds],
                "median_seconds": round(statistics.median(seconds), 3),
                "median_cpu_seconds": round(statistics.median(r[tool]["cpu_seconds"] for r in rounds), 3),
                "peak_rss_mib": round(max(r[tool]["rss_kib"] for r in rounds) / 1024, 1),
            }
        ours = statistics.median(r["bachata-common"]["seconds"] for r in rounds)
        summary["ratio_vs_find"] = round(ours / statistics.median(r["find"]["seconds"] for r in rounds), 2)
        summary["ratio_vs_tmpfiles"] = round(
            ours / statistics.median(r["systemd-tmpfiles"]["seconds"] for r in rounds), 2)
        summary["policy_peak_memory_bytes"] = max(r["bachata-common"]["policy_peak_bytes"] for r in rounds)
        results.append(summary)
    return results


def cache_cap(work):
    """CACHE_FILES files of 1-64 bytes, mtimes distinct (ns) over the last 12 h in random order
    (nothing old enough for the age rule); the cap is half the total bytes."""
    files = CACHE_FILES
    check_room(work, files)
    data = os.path.join(work, "cache-data")
    root = os.path.join(data, "cache")
    rng = random.Random(20261126)
    rank = list(range(files))
    rng.shuffle(rank)  # rank[i]: the age order of file i, 0 the oldest
    span = 12 * 3600 * 10**9
    step = span // files
    base = time.time_ns() - span - 60 * 10**9
    mtimes = array.array("q", (base + rank[i] * step + rng.randrange(step) for i in range(files)))
    sizes = array.array("H", (rng.randint(1, 64) for _ in range(files)))
    log(f"cache cap, building {files:,} cache files")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL
    os.makedirs(data)
    spread(root)
    for index in range(files):
        if index % PER_DIR == 0:
            os.makedirs(os.path.join(root, f"v{index // PER_DIR:04d}"))
        fd = os.open(os.path.join(root, f"v{index // PER_DIR:04d}/c_{index:07d}.bin"), flags, 0o644)
        try:
            os.write(fd, PAYLOAD[:sizes[index]])
            os.utime(fd, ns=(mtimes[index], mtimes[index]))
            if os.fstat(fd).st_mtime_ns != mtimes[index]:
                sys.exit("the filesystem does not keep nanosecond mtimes")
        finally:
            os.close(fd)
    del rank
    total = sum(sizes)
    cap_gb = total / 2 / GIB
    # The low-water mark as the policy computes it (f64, as Python's float), then the sort:
    # the oldest files go until what is left is at or below it.
    low_water = float(repr(cap_gb)) * GIB * 0.8
    by_age = sorted(range(files), key=mtimes.__getitem__)
    left_bytes, must_go = total, 0
    while left_bytes > low_water:
        left_bytes -= sizes[by_age[must_go]]
        must_go += 1
    os.sync()
    time.sleep(1)
    out_path, err_path = os.path.join(work, "cache.out"), os.path.join(work, "cache.err")
    seconds, cpu, rss = run_measured([BINARY, "cleanup", "--json"],
                                bachata_env(data, MAX_CACHE_SIZE_GB=repr(cap_gb)), out_path, err_path)
    with open(out_path) as out:
        report = json.load(out)
    left, _ = listing(root)
    kept = array.array("b", bytes(files))
    for relative in left:
        kept[int(relative.rsplit("_", 1)[1].split(".")[0])] = 1
    removed = [i for i in range(files) if not kept[i]]
    expected = set(by_age[:must_go])
    newest_removed = max((mtimes[i] for i in removed), default=0)
    oldest_kept = min((mtimes[i] for i in range(files) if kept[i]), default=0)
    problems = []
    if len(removed) != must_go:
        problems.append(f"removed {len(removed)} files, the sort says {must_go}")
    if set(removed) != expected:
        problems.append(f"{len(set(removed) - expected)} removed files are not among the {must_go} oldest")
    if removed and newest_removed > oldest_kept:
        problems.append("a removed file is newer than a kept one")
    if report["cache_cleanup"]["files_removed"] != must_go or report["error_count"]:
        problems.append(f"report: {report['cache_cleanup']['files_removed']} removed, "
                        f"{report['error_count']} errors")
    bytes_left = total - sum(sizes[i] for i in removed)
    if bytes_left > low_water:
        problems.append(f"{bytes_left} bytes left, above the low-water mark")
    if problems:
        sys.exit("cache cap: " + "; ".join(problems))
    log(f"  cache cap: {seconds:.2f} s ({cpu:.2f} s CPU), peak RSS {rss / 1024:.1f} MiB, removed the {must_go:,} oldest")
    result = {
        "files": files,
        "bytes": total,
        "max_cache_size_gb": repr(cap_gb),
        "low_water_bytes": round(low_water, 1),
        "files_removed": must_go,
        "bytes_left": bytes_left,
        "removed_exactly_the_oldest": True,
        "seconds": round(seconds, 3),
        "cpu_seconds": round(cpu, 3),
        "peak_rss_mib": round(rss / 1024, 1),
        "policy_peak_memory_bytes": peak_policy_memory(err_path),
    }
    shutil.rmtree(data, ignore_errors=True)
    return result


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
    for tool in ("find", "systemd-tmpfiles"):
        if shutil.which(tool) is None:
            sys.exit(f"{tool} is needed")
    # Trees live under target/ (git-ignored), on the filesystem the project builds on.
    os.makedirs("target", exist_ok=True)
    work = os.path.abspath(tempfile.mkdtemp(prefix="bench-cleanup-", dir="target"))
    started = time.perf_counter()
    try:
        # Warm the compile cache: every timed run loads the component from it.
        subprocess.run([BINARY, "policy", "check"], check=True, stdout=subprocess.DEVNULL)
        age = age_cleanup(work)
        cache = cache_cap(work) if CACHE_FILES else None
        log(f"daemon at rest, {IDLE_SECS} s")
        idle_cpu, idle_rss = idle_daemon(work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    largest = max(age, key=lambda size: size["files"]) if age else None
    targets = {}
    if largest:
        targets = {
            f"bachata_le_{TARGET_RATIO}x_find": largest["ratio_vs_find"] <= TARGET_RATIO,
            f"bachata_le_{TARGET_RATIO}x_tmpfiles": largest["ratio_vs_tmpfiles"] <= TARGET_RATIO,
            f"peak_rss_le_{TARGET_RSS_MIB}_mib_at_{largest['files']}":
                largest["bachata-common"]["peak_rss_mib"] <= TARGET_RSS_MIB,
        }
        for size in age:
            targets[f"ratios_le_{TARGET_RATIO}x_at_{size['files']}"] = (
                size["ratio_vs_find"] <= TARGET_RATIO and size["ratio_vs_tmpfiles"] <= TARGET_RATIO)
    if cache:
        targets[f"cache_cap_peak_rss_le_{TARGET_RSS_MIB}_mib"] = cache["peak_rss_mib"] <= TARGET_RSS_MIB
    result = {
        "age_cleanup": age,
        "cache_cap": cache,
        "daemon_idle_cpu_percent_of_a_core": round(idle_cpu, 3),
        "daemon_idle_rss_mib": round(idle_rss / 1024, 1),
        "targets_met": targets,
        "total_seconds": round(time.perf_counter() - started, 1),
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
