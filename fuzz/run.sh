#!/usr/bin/env bash
# Fuzzes the parsers with cargo fuzz (libFuzzer): builds the targets, then runs each for
# SECONDS (default 60). Every run starts from the committed seeds (fuzz/corpus/<target>) and
# the inputs earlier runs found (fuzz/target/corpus/<target>, where new ones go). A crash, a
# hang (10 s for one input) or memory past 1 GiB (2 GiB with a sanitizer) is written to
# fuzz/artifacts/<target>/ and makes the script exit non-zero once every target ran; each
# target's libFuzzer output is in fuzz/target/logs/<target>.log.
#
#   fuzz/run.sh [--guest-only] [SECONDS] [TARGET...]
#
# The policy crate's targets: dotenv, packed, conninfo (about a minute to build from nothing
# on 2 cores). The host crate's: annotations, monitor_import, monitor_events,
# experiment_definition; they build the host crate (wasmtime among its dependencies) with
# coverage instrumentation, about 15 minutes of 2 cores from nothing, so CI runs
# `--guest-only`. The host crate embeds the policy component: the workspace's
# (target/guest-build), when there is one, saves building another.
#
# cargo-fuzz is installed into target/tools from crates.io when it is not there. Targets are
# built without a sanitizer (the parsers are safe Rust): the stable toolchain takes every flag
# cargo fuzz passes then. FUZZ_SANITIZER=address builds with AddressSanitizer instead (in
# fuzz/target/address), which needs a nightly flag: RUSTC_BOOTSTRAP=1 lets the stable
# toolchain take it.
set -euo pipefail
cd "$(dirname "$0")/.."

CARGO_FUZZ_VERSION=0.13.2
guest_targets=(dotenv packed conninfo)
host_targets=(annotations monitor_import monitor_events experiment_definition)
declare -A max_len=(
  [dotenv]=4096 [packed]=4096 [conninfo]=1024 [annotations]=8192
  [monitor_import]=16384 [monitor_events]=16384 [experiment_definition]=4096
)

guest_only=false
if [ "${1:-}" = "--guest-only" ]; then
  guest_only=true
  shift
fi
seconds=${1:-60}
if [ $# -gt 0 ]; then shift; fi
if ! [[ "$seconds" =~ ^[0-9]+$ ]]; then
  echo "usage: fuzz/run.sh [--guest-only] [SECONDS] [TARGET...]" >&2
  exit 2
fi
if [ $# -gt 0 ]; then
  targets=("$@")
elif $guest_only; then
  targets=("${guest_targets[@]}")
else
  targets=("${guest_targets[@]}" "${host_targets[@]}")
fi

features=()
for target in "${targets[@]}"; do
  if [ -z "${max_len[$target]:-}" ]; then
    echo "no fuzz target $target (targets: ${guest_targets[*]} ${host_targets[*]})" >&2
    exit 2
  fi
  for host in "${host_targets[@]}"; do
    if [ "$target" = "$host" ]; then features=(--features host); fi
  done
done

tools="$PWD/target/tools"
if ! "$tools/bin/cargo-fuzz" --version 2>/dev/null | grep -qF "$CARGO_FUZZ_VERSION"; then
  echo "--- installing cargo-fuzz $CARGO_FUZZ_VERSION into $tools"
  cargo install --locked --quiet --root "$tools" --version "$CARGO_FUZZ_VERSION" cargo-fuzz
fi
export PATH="$tools/bin:$PATH"

sanitizer=${FUZZ_SANITIZER:-none}
build=(--sanitizer "$sanitizer" --debug-assertions "${features[@]}")
target_dir=${CARGO_TARGET_DIR:-fuzz/target}
rss_limit_mb=1024
if [ "$sanitizer" != none ]; then
  export RUSTC_BOOTSTRAP=1
  rss_limit_mb=2048 # AddressSanitizer's shadow memory and quarantine take ~500 MB
  target_dir=$target_dir/$sanitizer
  build+=(--target-dir "$target_dir")
fi
# No fuzz target runs the embedded policy component: the workspace's saves a build.
component=target/guest-build/wasm32-wasip2/wasm-release/bachata_common_policy.wasm
if [ ${#features[@]} -gt 0 ] && [ -z "${BACHATA_GUEST_WASM:-}" ] && [ -f "$component" ]; then
  export BACHATA_GUEST_WASM="$PWD/$component"
fi

echo "--- building ${targets[*]} (cargo fuzz build ${build[*]})"
start=$SECONDS
for target in "${targets[@]}"; do
  cargo fuzz build "${build[@]}" "$target"
done
echo "built in $((SECONDS - start)) s"

failed=()
for target in "${targets[@]}"; do
  echo "--- fuzzing $target for ${seconds} s (-max_len=${max_len[$target]})"
  mkdir -p "fuzz/target/corpus/$target" "fuzz/artifacts/$target" fuzz/target/logs
  log=fuzz/target/logs/$target.log
  if "$target_dir/x86_64-unknown-linux-gnu/release/$target" \
    -max_total_time="$seconds" -max_len="${max_len[$target]}" -rss_limit_mb="$rss_limit_mb" \
    -timeout=10 -print_final_stats=1 -artifact_prefix="fuzz/artifacts/$target/" \
    "fuzz/target/corpus/$target" "fuzz/corpus/$target" >"$log" 2>&1; then
    grep -E '^#[0-9]+[[:space:]]+DONE|^stat::(number_of_executed_units|average_exec_per_sec|peak_rss_mb)' "$log" || true
  else
    tail -n 60 "$log"
    echo "FAILED: $target (log: $log; input: fuzz/artifacts/$target/)"
    failed+=("$target")
  fi
done

if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz targets that failed: ${failed[*]}; reproduce with" \
    "$target_dir/x86_64-unknown-linux-gnu/release/<target> fuzz/artifacts/<target>/<file>"
  exit 1
fi
echo "every fuzz target ran ${seconds} s without a failure"
