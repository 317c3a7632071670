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
