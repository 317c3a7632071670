#!/usr/bin/env bash
# Assignment from Python: `Experiments.assign_definition` (the policy component deciding, the
# exposure already stored, so its INSERT … ON CONFLICT DO NOTHING writes nothing) next to
# GrowthBook's own Python SDK on the same units, in the same process, rounds alternating; and the
# same call through wasmtime-py's public conversion for reference. The binding is built into a
# fresh virtualenv under a temporary directory, removed at the end.
# Usage: bench/python_assign.sh   (UNITS, ROUNDS override the defaults: 1000 and 21;
#        BACHATA_POLICY_WASM: a built component to package instead of building one;
#        GROWTHBOOK: the peer's version, default 4.0.0)
set -euo pipefail
cd "$(dirname "$0")/.."
work="$(mktemp -d "${TMPDIR:-/tmp}/bachata-python-assign.XXXXXX")"
trap 'rm -rf "$work"' EXIT
if [ -z "${BACHATA_POLICY_WASM:-}" ]; then
    rustup target add wasm32-wasip2 >/dev/null
    cargo build --release --quiet
    target/release/bachata-common policy save "$work/policy.wasm"
    export BACHATA_POLICY_WASM="$work/policy.wasm"
fi
python3 -m venv "$work/venv"
pip=("$work/venv/bin/python" -m pip --quiet --disable-pip-version-check)
"${pip[@]}" install ./bindings/python "growthbook==${GROWTHBOOK:-4.0.0}"
BACHATA_CACHE_DIR="$work/cache" "$work/venv/bin/python" bench/python_assign.py
