#!/usr/bin/env bash
# Experiments on SQLite: assignments per second (GrowthBook's algorithm natively, through the
# policy component, and through the service, which logs exposures), then the analysis of
# UNITS exposed units (default 100,000) next to fetching every unit's row to the client.
# Usage: bench/experiments.sh   (UNITS, ASSIGN override the defaults)
set -euo pipefail
cd "$(dirname "$0")/.."
rustup target add wasm32-wasip2 >/dev/null
cargo build --release --quiet
cargo bench --quiet -p bachata-common --bench experiments

# The CLI: `experiments assign ID u1 … uN` (N = CLI_UNITS, default 100,000) in a fresh store,
# exposures included: the whole process, median of 5 (each in a fresh store).
bin="$PWD/target/release/bachata-common"
n="${CLI_UNITS:-100000}"
work="$(mktemp -d "${TMPDIR:-/tmp}/bachata-assign-bench.XXXXXX")"
trap 'rm -rf "$work"' EXIT
export BACHATA_DATA_DIR="$work/data"
seq -f 'user-%.0f' 1 "$n" >"$work/units.txt"
mapfile -t units <"$work/units.txt"
times=()
for round in 1 2 3 4 5; do
  export MONITOR_DATABASE="$work/round-$round.sqlite3"
  "$bin" experiments create --id cli --start 2020-01-01 --end 2099-12-31 --versions a,b \
    --metrics like_rate >/dev/null
  start=$(date +%s.%N)
  "$bin" experiments assign cli "${units[@]}" >/dev/null
  end=$(date +%s.%N)
  times+=("$(echo "$end - $start" | bc)")
done
median=$(printf '%s\n' "${times[@]}" | sort -n | sed -n 3p)
echo
echo "| CLI, $n units as arguments, exposures logged (whole process, median of 5) | ${median} s |"
