#!/usr/bin/env bash
# Runs every test suite: the Rust workspace (unit, end-to-end, doc tests), then the Python and
# Node bindings against the very component the native host embeds, and Schemathesis against
# the daemon's OpenAPI document. Installs what they need (the wasm32-wasip2 target; ONNX
# Runtime, pytest, Schemathesis and the binding in virtualenvs inside the clone; the pinned jco
# with npm), caching nothing outside the clone. When PostgreSQL is
# installed, a throwaway cluster serves the monitor's tests for the run (tests/postgres.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
export PIP_CACHE_DIR="$PWD/target/pip-cache" npm_config_cache="$PWD/target/npm-cache"

echo "--- toolchain"
rustup target add wasm32-wasip2

echo "--- ONNX Runtime (for the pose tests), in .venv"
python3 -m venv .venv
.venv/bin/pip install --quiet --disable-pip-version-check onnxruntime==1.31.1

echo "--- PostgreSQL for the monitor's suite (a throwaway cluster on a Unix socket)"
source tests/postgres.sh
if [ -z "${BACHATA_TEST_POSTGRES:-}" ]; then
  postgres_start
  trap postgres_stop EXIT
fi

echo "--- Rust"
cargo test --workspace

echo "--- the daemon's HTTP API fuzzed against its OpenAPI document (Schemathesis)"
bash tests/schemathesis.sh

echo "--- the component every host loads: the one the native host embeds"
# The binary `cargo test` built for the end-to-end tests: `cargo run -p` would build the host
# again with another feature set.
target/debug/bachata-common policy save target/policy.wasm
export BACHATA_POLICY_WASM="$PWD/target/policy.wasm"

echo "--- Python binding"
bash bindings/python/run-tests.sh -q
bash tests/python-django.sh

echo "--- Node binding"
bash bindings/node/run-tests.sh

echo "--- policies in Python and JavaScript (examples/), built from source and swapped in"
bash tests/examples.sh
