#!/usr/bin/env bash
# Builds the keep-python cleanup policy from source into a component:
# target/examples/keep-python.wasm, or the path given as the first argument.
# componentize-py (pinned in requirements.txt) is installed into a virtualenv under
# target/examples/keep-python/ on the first build, and again when requirements.txt changes.
# BACHATA_WIT_DIR builds against another copy of the contract (default: the repository's wit/),
# for example a released one under tests/compat/wit/.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
out=$(realpath -m "${1:-$root/target/examples/keep-python.wasm}")
work=$root/target/examples/keep-python
venv=$work/venv

if ! cmp -s "$here/requirements.txt" "$venv/requirements.txt"; then
  rm -rf "$venv"
  "${PYTHON:-python3}" -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$here/requirements.txt"
  cp "$here/requirements.txt" "$venv/requirements.txt"
fi

# componentize-py 0.25.1 copies WIT doc comments into Python docstrings unescaped, and a
# `\xNN` in host-fs's is not valid Python: build from a copy of wit/ without the `///` lines.
rm -rf "$work/wit"
mkdir -p "$work/wit" "$(dirname "$out")"
for file in "${BACHATA_WIT_DIR:-$root/wit}"/*.wit; do
  sed -E '/^[[:space:]]*\/\/\//d' "$file" > "$work/wit/${file##*/}"
done

VIRTUAL_ENV=$venv PYTHONDONTWRITEBYTECODE=1 "$venv/bin/componentize-py" --quiet \
  -d "$work/wit" -w cleanup-policy componentize -p "$here" -o "$out" app
echo "built $out"
