#!/usr/bin/env bash
# The Python host's cleanup (`bachata_common.ResourceManager`: the policy component deciding,
# Python lending host-fs with every safety rule) next to the original app's algorithm (a plain
# `Path.rglob()` + age check + `unlink()` loop) on identical synced trees of FILES files
# (default 100,000), in rounds whose order rotates; and the import + first call of the package.
# Trees live under target/ and are removed at the end.
# Usage: bench/python_cleanup.sh   (FILES and ROUNDS override the defaults: 100000 and 3)
set -euo pipefail
cd "$(dirname "$0")/.."
rustup target add wasm32-wasip2 >/dev/null
cargo build --release --quiet
target/release/bachata-common policy save target/bench-policy.wasm
venv="$PWD/target/bench-python"
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
BACHATA_POLICY_WASM="$PWD/target/bench-policy.wasm" \
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check ./bindings/python
exec "$venv/bin/python" bench/python_cleanup.py
