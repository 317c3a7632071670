#!/usr/bin/env bash
# The performance monitor on SQLite: ingest through the library and through HTTP (batches of
# 100) next to a bare batched INSERT of the same rows, then `report --days 30` over a store of
# DECISIONS decisions and FEEDBACK feedback events (defaults 1,000,000 and 300,000).
# Usage: bench/monitor.sh   (INGEST, DECISIONS, FEEDBACK, CLIENTS override the defaults)
set -euo pipefail
cd "$(dirname "$0")/.."
rustup target add wasm32-wasip2 >/dev/null
cargo build --release --quiet
cargo bench --quiet -p bachata-common --bench monitor
