#!/usr/bin/env bash
# Builds the largest-first-js cleanup policy from source into a component:
# target/examples/largest-first-js.wasm, or the path given as the first argument.
# componentize-js (pinned, with everything it needs, in package-lock.json) is installed into
# node_modules/ here on the first build, and again when the lockfile changes. package.json also
# pins @bytecodealliance/preview2-shim: componentize-js 0.23.0 imports it without declaring it,
# and 0.26.1 cannot read the WIT directory here.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
out=$(realpath -m "${1:-$root/target/examples/largest-first-js.wasm}")
cd "$here"

if [ ! -x node_modules/.bin/componentize-js ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi

mkdir -p "$(dirname "$out")"
# The host lends no wasi:http: leave out the features that import it.
node_modules/.bin/componentize-js largest-first.js --wit "$root/wit" --world-name cleanup-policy \
  --disable http fetch-event --out "$out"
echo "built $out"
