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
. bench/python_wheel.sh python-assign "growthbook==${GROWTHBOOK:-4.0.0}"
BACHATA_CACHE_DIR="$work/cache" "$work/venv/bin/python" bench/python_assign.py
