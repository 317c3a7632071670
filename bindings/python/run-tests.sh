#!/usr/bin/env bash
# Installs the Python binding into a virtualenv and runs its tests (including every shared vector
# of tests/vectors/).
#
#   bindings/python/run-tests.sh [pytest arguments]
#
# PYTHON_VENV        virtualenv to use (default: bindings/python/.venv-python, created if needed)
# BACHATA_POLICY_WASM  a built bachata_common_policy.wasm to package; without it the install
#                    builds the component with cargo
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repository="$(cd "$here/../.." && pwd)"
venv="${PYTHON_VENV:-$here/.venv-python}"

if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
fi
pip=("$venv/bin/python" -m pip --quiet --disable-pip-version-check)
"${pip[@]}" install -r "$here/requirements-test.txt"
(cd "$repository" && "${pip[@]}" install ./bindings/python)

cd "$here"
exec "$venv/bin/python" -m pytest "$@"
