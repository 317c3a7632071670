"""The performance monitor's event store for the Python host: SQLite (the standard library's
``sqlite3``) by default, PostgreSQL (``psycopg``, the ``[postgres]`` extra) when the database is a
``postgres://`` URL. The schema is the native host's own files (``host/migrations/``, packaged),
applied in order, each once, under SQLite's write lock or PostgreSQL's advisory lock, in the
same ``schema_migrations`` table: a database written by one host is read by the other
(``host/src/capabilities/store/``).

Statements are written once for both engines with ``$1``, ``$2``, … parameters.
"""

from __future__ import annotations

import contextlib
import logging
import re
import threading
import time
from importlib import resources
from pathlib import Path
from typing import Any, Iterator, Optional, Sequence

__all__ = ["StoreError", "Store", "migrations"]

_log = logging.getLogger("bachata_common")

#: PostgreSQL's advisory lock key held while migrating (the native host's).
LOCK_KEY = 0x0062_6163_6861_7461
#: How many times a PostgreSQL transaction that lost a deadlock is tried again.
RETRIES = 3
_PARAMETER = re.compile(r"\$(\d+)")


class StoreError(RuntimeError):
    """The database failed (unreachable, refused, a schema newer than this host knows).
    ``transient`` is set when trying the transaction again may succeed (a PostgreSQL deadlock or
    serialization failure)."""

    def __init__(self, message: str, transient: bool = False) -> None:
        super().__init__(message)
        self.transient = transient


#: SQLSTATEs of PostgreSQL failures a retry may get past: deadlock, serialization failure.
_TRANSIENT = {"40P01", "40001"}


def migrations() -> list[tuple[int, str, str]]:
    """The schema files, oldest first: ``(version, name, sql)`` from ``NNNN_name.sql``."""
    folder = resources.files(__package__.rpartition(".")[0]).joinpath("migrations")
    found = []
    try:
        entries = list(folder.iterdir())
    except FileNotFoundError:
        entries = []
    for entry in entries:
        match = re.fullmatch(r"(\d{4})_(\w+)\.sql", entry.name)
        if match:
            found.append((int(match.group(1)), match.group(2), entry.read_text(encoding="utf-8")))
    if not found:
        raise StoreError("the monitor's schema files are not in the installed package; reinstall it")
    return sorted(found)


def is_postgres(database: str) -> bool:
    """Whether ``database`` is a PostgreSQL URL rather than a SQLite file."""
    return database.startswith(("postgres://", "postgresql://"))


class Store:
    """One connection to the event store (share it behind a lock)."""

    def __init__(self, database: str) -> None:
        self.postgres = is_postgres(database)
        self._lock = threading.Lock()
        if self.postgres:
            try:
                import psycopg
            except ImportError:
                raise StoreError(
                    "MONITOR_DATABASE is a PostgreSQL URL but psycopg is not installed: "
                    "pip install 'bachata_common[postgres]'"
                ) from None
            try:
                self._connection = psycopg.connect(database, autocommit=False)
            except psycopg.Error as error:
                raise StoreError(f"cannot connect to the monitor database: {error}") from None
            self._errors: tuple = (psycopg.Error,)
        else:
            import sqlite3

            path = Path(database)
            try:
                if str(path.parent):
                    path.parent.mkdir(parents=True, exist_ok=True)
                connection = sqlite3.connect(path, timeout=10.0, isolation_level=None, check_same_thread=False)
                # WAL: readers never block the writer; FULL: a commit is on the disk before it
                # returns (the native host's settings).
                connection.execute("PRAGMA journal_mode=WAL")
                connection.execute("PRAGMA synchronous=FULL")
                connection.execute("PRAGMA foreign_keys=ON")
                connection.execute("PRAGMA temp_store=MEMORY")
            except (sqlite3.Error, OSError) as error:
                raise StoreError(f"cannot open the monitor database {path}: {error}") from None
            self._connection = connection
            self._errors = (sqlite3.Error,)
        with self.write() as tx:
            self._migrate(tx)

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self._connection.close()

    def _sql(self, sql: str) -> str:
        if self.postgres:
            return _PARAMETER.sub(lambda match: f"%(p{match.group(1)})s", sql.replace("%", "%%"))
        return sql

    def _params(self, params: Sequence[Any]) -> dict:
        prefix = "p" if self.postgres else ""
        return {f"{prefix}{index}": value for index, value in enumerate(params, start=1)}

    @contextlib.contextmanager
    def _transaction(self, begin: str) -> Iterator["Store"]:
        """A transaction (``begin`` opens it on SQLite; PostgreSQL opens one by itself):
        committed when the block ends, rolled back when it raises."""
        with self._lock:
            try:
                if not self.postgres:
                    self._connection.execute(begin)
                yield self
                self._connection.commit() if self.postgres else self._connection.execute("COMMIT")
            except BaseException as error:
                with contextlib.suppress(Exception):
                    self._connection.rollback() if self.postgres else self._connection.execute("ROLLBACK")
                if isinstance(error, self._errors):
                    transient = getattr(error, "sqlstate", None) in _TRANSIENT
                    raise StoreError(f"the monitor database failed: {error}", transient) from None
                raise

    def write(self):
        """A write transaction; on SQLite it takes the write lock at once (no upgrade deadlock
        between processes)."""
        return self._transaction("BEGIN IMMEDIATE")

    def run_write(self, body):
        """``body(tx)`` in a write transaction, tried again (up to :data:`RETRIES` times) when
        PostgreSQL lost it to a deadlock, as the native host does."""
        for attempt in range(RETRIES + 1):
            try:
                with self.write() as tx:
                    return body(tx)
            except StoreError as error:
                if not error.transient or attempt == RETRIES:
                    raise
                _log.debug("monitor transaction retried", extra={"attempt": attempt + 1})
        raise AssertionError("unreachable")

    def read(self):
        """A read transaction: one consistent snapshot."""
        return self._transaction("BEGIN")

    def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Runs a statement inside the current transaction; the rows it changed."""
        cursor = self._connection.execute(self._sql(sql), self._params(params))
        return cursor.rowcount

    def query(self, sql: str, params: Sequence[Any] = ()) -> list:
        """Runs a query inside the current transaction; its rows."""
        cursor = self._connection.execute(self._sql(sql), self._params(params))
        return cursor.fetchall()

    def iterate(self, sql: str, params: Sequence[Any] = ()):
        """Runs a query inside the current transaction, streaming its rows."""
        cursor = self._connection.execute(self._sql(sql), self._params(params))
        while True:
            rows = cursor.fetchmany(1024)
            if not rows:
                return
            yield from rows

    def batch(self, sql: str) -> None:
        """Runs statements separated by ``;`` (a schema file), without parameters."""
        if self.postgres:
            self._connection.execute(sql)
        else:
            for statement in _statements(sql):
                self._connection.execute(statement)

    def _migrate(self, tx: "Store") -> None:
        if self.postgres:
            tx.query("SELECT pg_advisory_xact_lock($1)", [LOCK_KEY])
        tx.batch(
            "CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, name TEXT NOT NULL, "
            "applied_at_ms BIGINT NOT NULL)"
        )
        current = tx.query("SELECT COALESCE(MAX(version), 0) FROM schema_migrations")[0][0]
        known = migrations()
        newest = known[-1][0]
        if current > newest:
            raise StoreError(
                f"the database's schema is at version {current}, newer than this host knows ({newest}): "
                "upgrade bachata-common"
            )
        for version, name, sql in known:
            if version <= current:
                continue
            tx.batch(sql if self.postgres else sql.replace("/*WITHOUT_ROWID*/", "WITHOUT ROWID"))
            tx.execute(
                "INSERT INTO schema_migrations (version, name, applied_at_ms) VALUES ($1, $2, $3)",
                [version, name, int(time.time() * 1000)],
            )
            _log.info("monitor schema migrated", extra={"version": version, "schema": name})


def _statements(sql: str) -> list[str]:
    """The statements of a schema file (``;``-separated; comments and blank ones dropped)."""
    import sqlite3

    out, current = [], ""
    for line in sql.splitlines(keepends=True):
        current += line
        if sqlite3.complete_statement(current):
            if current.strip():
                out.append(current)
            current = ""
    if current.strip() and not all(part.strip().startswith("--") for part in current.strip().splitlines()):
        out.append(current)
    return out
