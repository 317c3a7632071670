#!/usr/bin/env bash
# Policy component costs: cold start to the first call (with and without the compile cache),
# instantiation, a trivial call, and the cleanup policy over ENTRIES (default 1,000,000)
# scanned files in wasm vs the same code compiled natively.
# Usage: bench/policy.sh   (ENTRIES, ROUNDS override the defaults)
set -euo pipefail
cd "$(dirname "$0")/.."
rustup target add wasm32-wasip2 >/dev/null
cargo build --release --quiet
python3 - <<'PY'
import os, statistics, subprocess, tempfile, time
binary = "target/release/bachata-common"
args = [binary, "errors", "message", "VALIDATION_ERROR"]
def median_ms(env, runs=15):
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(args, env=env, check=True, stdout=subprocess.DEVNULL)
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples)
base = {"PATH": os.environ["PATH"]}
with tempfile.TemporaryDirectory() as cache:
    warm = dict(base, BACHATA_CACHE_DIR=cache)
    subprocess.run(args, env=warm, check=True, stdout=subprocess.DEVNULL)
    print("| cold start to the first policy call (whole process) | median of 15 |")
    print("|---|---|")
    print(f"| no compile cache | {median_ms(dict(base, BACHATA_CACHE_DIR='off')):.1f} ms |")
    print(f"| compile cache | {median_ms(warm):.1f} ms |")
    print()
PY
# The scan streams in pages: the default memory cap is enough for any number of entries.
cargo bench --quiet -p bachata-common --bench policy
