#!/usr/bin/env bash
# `import bachata_common` and a first policy call in fresh processes, next to `import wasmtime`
# alone, from a wheel installed in a fresh virtualenv under a temporary directory (removed at
# the end), with the compiled-component cache warm.
# Usage: bench/python_start.sh   (RUNS overrides the default of 10;
#        BACHATA_POLICY_WASM: a built component to package instead of building one)
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/python_wheel.sh python-start
cd "$work"  # nothing of the checkout on the path: the installed wheel is what is imported
BACHATA_CACHE_DIR="$work/cache" "$work/venv/bin/python" "$OLDPWD/bench/python_start.py"
