#!/usr/bin/env bash
# Age cleanup of 100,000 and 1,000,000 files: bachata-common vs `find -delete` vs
# `systemd-tmpfiles --clean` on identical trees; the cache cap over 1,000,000 files (exactly the
# oldest go, in bounded memory); the daemon's idle cost. Trees live under target/ and are
# removed at the end. About 15 minutes on 2 cores with the defaults.
# Usage: bench/cleanup.sh   (FILES, ROUNDS, CACHE_FILES, IDLE_SECS override the defaults:
#        FILES=100000,1000000 ROUNDS=3,1 CACHE_FILES=1000000 IDLE_SECS=30)
set -euo pipefail
cd "$(dirname "$0")/.."
rustup target add wasm32-wasip2 >/dev/null
cargo build --release --quiet
python3 bench/cleanup.py
# The scale test too large for every CI run: 300,000 files cleaned under a 16 MiB policy cap.
cargo test --quiet -p bachata-common-tests --test e2e -- --ignored scale::three_hundred_thousand
