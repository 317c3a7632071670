#!/usr/bin/env bash
# Age cleanup of 100,000 files: bachata-common vs `find -delete`, plus the daemon's idle cost.
# Usage: bench/cleanup.sh   (FILES, ROUNDS, IDLE_SECS override the defaults)
set -euo pipefail
cd "$(dirname "$0")/.."
rustup target add wasm32-wasip2 >/dev/null
cargo build --release --quiet
python3 bench/cleanup.py
