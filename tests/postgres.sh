#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for the test run, listening only on a Unix socket in a fresh
# temporary directory (no TCP port, no service outside the run).
#
#   source tests/postgres.sh && postgres_start   # exports BACHATA_TEST_POSTGRES
#   postgres_stop                                # stops the cluster, removes its directory
#
# Does nothing (and says so) when PostgreSQL's server binaries are not installed; the suites
# that need it then report the engine as skipped.

postgres_bin() {
  local dir
  for dir in /usr/lib/postgresql/*/bin; do
    [ -x "$dir/initdb" ] && { echo "$dir"; return 0; }
  done
  command -v initdb >/dev/null 2>&1 && { dirname "$(command -v initdb)"; return 0; }
  return 1
}

postgres_start() {
  local bin
  if ! bin=$(postgres_bin); then
    echo "PostgreSQL is not installed: the PostgreSQL runs of the monitor suite are skipped"
    return 0
  fi
  BACHATA_PG_DIR=$(mktemp -d /tmp/bachata-pg.XXXXXX)
  export BACHATA_PG_DIR
  chmod 755 "$BACHATA_PG_DIR"
  # The server refuses to run as root: run it as the postgres user when we are root.
  local as=()
  if [ "$(id -u)" = 0 ]; then
    chown postgres "$BACHATA_PG_DIR"
    as=(runuser -u postgres --)
  fi
  "${as[@]}" "$bin/initdb" -D "$BACHATA_PG_DIR/data" -U postgres -A trust --no-sync >/dev/null
  "${as[@]}" "$bin/pg_ctl" -D "$BACHATA_PG_DIR/data" -l "$BACHATA_PG_DIR/log" -w \
    -o "-c listen_addresses='' -c unix_socket_directories=$BACHATA_PG_DIR -c fsync=off -c max_connections=200" \
    start >/dev/null
  export BACHATA_TEST_POSTGRES="postgresql:///postgres?host=$BACHATA_PG_DIR&user=postgres"
  echo "PostgreSQL $("$bin/postgres" --version | awk '{print $3}') on $BACHATA_PG_DIR"
}

postgres_stop() {
  [ -n "${BACHATA_PG_DIR:-}" ] || return 0
  local bin as=()
  bin=$(postgres_bin) || return 0
  [ "$(id -u)" = 0 ] && as=(runuser -u postgres --)
  "${as[@]}" "$bin/pg_ctl" -D "$BACHATA_PG_DIR/data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$BACHATA_PG_DIR"
  unset BACHATA_PG_DIR BACHATA_TEST_POSTGRES
}
