#!/usr/bin/env bash
# Fuzzes the daemon's HTTP API with Schemathesis against its own OpenAPI document: a debug
# daemon (`target/debug/bachata-common run`) on a free loopback port, with a token and a
# throwaway data directory, is sent generated requests for every operation of
# `GET /openapi.json` (examples, boundaries, random and invalid data, sequences following the
# document's links). Every answer must be documented (status, media type, headers), fit its
# schema, and none may be a 5xx; requests the schema refuses must be refused. Settings are in
# tests/schemathesis.toml; known server bugs still open are accepted by
# tests/schemathesis-baseline.json, each with its reproduction.
#
# Installs Schemathesis in target/schemathesis-venv (pip cache in target/pip-cache); builds the
# binary when it is missing. Takes about a minute. Arguments go to `st run` (for example
# `--max-examples 500`, or `--baseline-update` to accept the failures found).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
export PIP_CACHE_DIR="$root/target/pip-cache"

version=4.32.5
venv=target/schemathesis-venv
if ! "$venv/bin/st" --version 2>/dev/null | grep -qF "$version"; then
  echo "--- Schemathesis $version, in $venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$version"
fi

binary=target/debug/bachata-common
if [ ! -x "$binary" ]; then
  cargo build -p bachata-common
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/bachata-schemathesis.XXXXXX")
token=$(od -An -N24 -tx1 /dev/urandom | tr -d ' \n')
# Only what the daemon needs: a developer's own variables and .env stay out of it.
(cd "$work" && exec env -i PATH="$PATH" HOME="$work" BACHATA_LISTEN=127.0.0.1:0 \
  BACHATA_API_TOKEN="$token" BACHATA_DATA_DIR="$work/data" "$root/$binary" run \
  >"$work/stdout" 2>"$work/daemon.log") &
daemon=$!
stop() {
  if kill -0 "$daemon" 2>/dev/null; then
    kill -TERM "$daemon"
    wait "$daemon" || true
  fi
  rm -rf "$work"
}
trap stop EXIT

base=""
for _ in $(seq 300); do
  base=$(sed -n 's|^listening on \(http://127\.0\.0\.1:[0-9]*\)$|\1|p' "$work/stdout")
  [ -n "$base" ] && break
  if ! kill -0 "$daemon" 2>/dev/null; then
    cat "$work/daemon.log" >&2
    echo "the daemon did not start" >&2
    exit 1
  fi
  sleep 0.1
done
[ -n "$base" ] || { echo "the daemon did not say where it listens" >&2; exit 1; }
echo "--- Schemathesis against $base/openapi.json"

status=0
SCHEMATHESIS_TOKEN="$token" "$venv/bin/st" --config-file tests/schemathesis.toml run \
  "$base/openapi.json" --baseline tests/schemathesis-baseline.json \
  ${SCHEMATHESIS_SEED:+--seed "$SCHEMATHESIS_SEED"} --no-color "$@" || status=$?

# The daemon must still be serving, and say nothing went wrong inside it.
if ! kill -0 "$daemon" 2>/dev/null; then
  echo "the daemon died during the run:" >&2
  cat "$work/daemon.log" >&2
  status=1
fi
if grep -E '"level":"(ERROR)"|\bERROR\b|panicked' "$work/daemon.log" >&2; then
  echo "the daemon logged errors during the run (above)" >&2
  status=1
fi
exit "$status"
