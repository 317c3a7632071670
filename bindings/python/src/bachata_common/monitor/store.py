"""The performance monitor's event store for the Python host: SQLite (the standard library's
``sqlite3``) by default, PostgreSQL (``psycopg``, the ``[postgres]`` extra) when the database is a
PostgreSQL connection string (:func:`is_postgres`: a ``postgres://``/``postgresql://`` URI or
libpq's ``keyword=value`` form). A connection string is never shown with its password
(:func:`masked`, ``host/src/types/config.rs``), neither in a ``repr`` nor in an error. The
schema is the native host's own files (``host/migrations/``, packaged), applied in order, each
once, under SQLite's write lock or PostgreSQL's advisory lock, in the same ``schema_migrations``
table: a database written by one host is read by the other (``host/src/capabilities/store/``).

Statements are written once for both engines with ``$1``, ``$2``, … parameters.
"""

from __future__ import annotations

import contextlib
import ipaddress
import logging
import os
import re
import threading
import time
from importlib import resources
from pathlib import Path
from typing import Any, Iterator, Optional, Sequence

__all__ = ["StoreError", "Store", "is_postgres", "masked", "migrations"]

_log = logging.getLogger("bachata_common")

#: PostgreSQL's advisory lock key held while migrating (the native host's).
LOCK_KEY = 0x0062_6163_6861_7461
#: How many times a PostgreSQL transaction that lost a deadlock is tried again.
RETRIES = 3
_PARAMETER = re.compile(r"\$(\d+)")
#: Statements of :meth:`Store.exists` with SQLite's numbered parameters (``?1``).
_NUMBERED: dict[str, str] = {}


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


# -- connection strings (``host/src/types/config.rs``, ``guest/src/config/conninfo.rs``) ---------


def _is_space(c: str) -> bool:
    """Rust's ``char::is_whitespace`` (Unicode White_Space; ``str.isspace`` adds U+001C–U+001F)."""
    return c.isspace() and c not in "\x1c\x1d\x1e\x1f"


def _trim_start(text: str) -> str:
    index = 0
    while index < len(text) and _is_space(text[index]):
        index += 1
    return text[index:]


def _ascii_lower(text: str) -> str:
    return "".join(chr(ord(c) + 32) if "A" <= c <= "Z" else c for c in text)


def _is_uri(database: str) -> bool:
    return _ascii_lower(_trim_start(database)[:13]).startswith(("postgres://", "postgresql://"))


def _is_keyword_value(database: str) -> bool:
    trimmed = _trim_start(database)
    end = 0
    while end < len(trimmed) and ("a" <= trimmed[end] <= "z" or "A" <= trimmed[end] <= "Z" or trimmed[end] == "_"):
        end += 1
    return end > 0 and _trim_start(trimmed[end:]).startswith("=")


def _create_private(path: Path) -> None:
    """The folders the host creates 0700 and a new database file 0600 (its ``-wal`` and
    ``-shm`` take the file's mode), as the native host; what exists keeps its mode."""
    missing = []
    folder = path.parent
    while str(folder) and not folder.exists() and folder != folder.parent:
        missing.append(folder)
        folder = folder.parent
    for folder in reversed(missing):
        try:
            folder.mkdir(mode=0o700)
        except FileExistsError:
            pass
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600))
    except FileExistsError:
        pass


def is_postgres(database: str) -> bool:
    """Whether ``database`` is a PostgreSQL connection string rather than a SQLite file: it
    starts with ``postgres://`` or ``postgresql://`` (any case), or with a word of ASCII
    letters and ``_`` and ``=`` (libpq's ``keyword=value`` form: ``host=/run/pg dbname=m``;
    ``Host=`` is a connection string with a wrong keyword, never a file name). A SQLite file
    whose name looks so is written ``./name``."""
    return _is_uri(database) or _is_keyword_value(database)


class _Unparsable(ValueError):
    """The connection string is not one the client library reads."""


#: The keywords the native host's client reads, and the values some of them allow.
_CHOICES = {
    "sslmode": {"disable", "prefer", "require"},
    "sslnegotiation": {"postgres", "direct"},
    "target_session_attrs": {"any", "read-write", "read-only"},
    "channel_binding": {"disable", "prefer", "require"},
    "load_balance_hosts": {"disable", "random"},
}
_INTEGERS = {
    "connect_timeout": (-(2**63), 2**63 - 1),
    "tcp_user_timeout": (-(2**63), 2**63 - 1),
    "keepalives": (0, 2**64 - 1),
    "keepalives_idle": (-(2**63), 2**63 - 1),
    "keepalives_interval": (-(2**63), 2**63 - 1),
    "keepalives_retries": (0, 2**32 - 1),
}
_TEXTS = {"user", "password", "dbname", "options", "application_name", "host", "hostaddr", "port"}


def _integer(text: str, low: int, high: int) -> int:
    if not re.fullmatch(r"[+-]?[0-9]+" if low < 0 else r"\+?[0-9]+", text, re.ASCII) or not low <= int(text) <= high:
        raise _Unparsable(text)
    return int(text)


class _Parsed:
    """What the client library reads of a connection string, as far as it may be shown."""

    def __init__(self) -> None:
        self.user: Optional[str] = None
        self.dbname: Optional[str] = None
        self.hosts: list[str] = []
        self.ports: list[int] = []

    def param(self, key: str, value: str) -> None:
        if key in _CHOICES:
            if value not in _CHOICES[key]:
                raise _Unparsable(key)
        elif key in _INTEGERS:
            _integer(value, *_INTEGERS[key])
        elif key not in _TEXTS:
            raise _Unparsable(key)
        elif key == "user":
            self.user = value
        elif key == "dbname":
            self.dbname = value
        elif key == "host":
            self.hosts.extend(value.split(","))
        elif key == "hostaddr":
            for address in value.split(","):
                try:
                    ipaddress.ip_address(address)
                except ValueError:
                    raise _Unparsable(key) from None
        elif key == "port":
            self.ports.extend(5432 if port == "" else _integer(port, 0, 65535) for port in value.split(","))


def _percent_decode(text: str) -> bytes:
    """``%XX`` escapes decoded (anything else, a stray ``%`` too, kept as it is)."""
    raw = text.encode("utf-8", "surrogatepass")
    out = bytearray()
    index = 0
    while index < len(raw):
        hexa = raw[index + 1 : index + 3]
        if raw[index] == 0x25 and len(hexa) == 2 and all(c in b"0123456789abcdefABCDEF" for c in hexa):
            out.append(int(hexa, 16))
            index += 3
        else:
            out.append(raw[index])
            index += 1
    return bytes(out)


def _decode(text: str) -> str:
    try:
        return _percent_decode(text).decode("utf-8")
    except UnicodeDecodeError:
        raise _Unparsable("percent-encoding") from None


def _host_param(parsed: _Parsed, text: str) -> None:
    decoded = _percent_decode(text)
    if decoded.startswith(b"/"):
        parsed.hosts.append(decoded.decode("utf-8", "replace"))
    else:
        parsed.hosts.extend(_decode(text).split(","))


def _parse_uri(rest: str) -> _Parsed:
    """tokio-postgres' URI reading: ``[user[:password]@][host[:port],…][/dbname][?k=v&…]``."""
    parsed = _Parsed()
    if rest.count("@") > 1:
        # Which '@' ends the user information is ambiguous: a host or name shown could be part
        # of the password.
        raise _Unparsable("@")
    credentials, at, after = rest.partition("@")
    if at:
        parsed.user = _decode(credentials.partition(":")[0])
        rest = after
    cut = min((index for index in (rest.find("/"), rest.find("?")) if index >= 0), default=len(rest))
    host, rest = rest[:cut], rest[cut:]
    for chunk in host.split(",") if host else []:
        if chunk.startswith("["):
            end = chunk.find("]")
            if end < 0:
                raise _Unparsable("host")
            name, remaining = chunk[1:end], chunk[end + 1 :]
            if remaining.startswith(":"):
                port: Optional[str] = remaining[1:]
            elif not remaining:
                port = None
            else:
                raise _Unparsable("host")
        else:
            name, colon, port = chunk.partition(":")
            port = port if colon else None
        _host_param(parsed, name)
        parsed.param("port", _decode("5432" if port is None else port))
    if rest.startswith("/"):
        dbname, question, query = rest[1:].partition("?")
        if dbname:
            parsed.dbname = _decode(dbname)
        rest = question + query
    if rest.startswith("?"):
        rest = rest[1:]
        while rest:
            key, equals, rest = rest.partition("=")
            if not equals:
                raise _Unparsable("unterminated parameter")
            key = _decode(key)
            value, _amp, rest = rest.partition("&")
            if key == "host":
                _host_param(parsed, value)
            else:
                parsed.param(key, _decode(value))
    return parsed


def _parse_keywords(text: str) -> _Parsed:
    """tokio-postgres' ``keyword=value`` reading: values bare or single-quoted, ``\\`` escapes."""
    parsed = _Parsed()
    index, end = 0, len(text)

    def skip_spaces() -> None:
        nonlocal index
        while index < end and _is_space(text[index]):
            index += 1

    while True:
        skip_spaces()
        start = index
        while index < end and not _is_space(text[index]) and text[index] != "=":
            index += 1
        if index == start:
            return parsed
        keyword = text[start:index]
        skip_spaces()
        if index >= end or text[index] != "=":
            raise _Unparsable("=")
        index += 1
        skip_spaces()
        value = []
        quoted = index < end and text[index] == "'"
        index += quoted
        while index < end and (text[index] != "'" if quoted else not _is_space(text[index])):
            character = text[index]
            index += 1
            if character == "\\":
                if index < end:
                    value.append(text[index])
                    index += 1
            else:
                value.append(character)
        if quoted:
            if index >= end:
                raise _Unparsable("unterminated quoted value")
            index += 1
        elif not value:
            raise _Unparsable("empty value")
        parsed.param(keyword, "".join(value))


def masked(database: str) -> str:
    """``database`` as it may be shown: a SQLite path as it is; a PostgreSQL connection string
    rebuilt from what the client library reads of it, without password or options
    (``postgres://app@db:5432/monitor``, ``postgres://app@/run/pg/m``), or only ``postgres://***``
    when it does not read."""
    if not is_postgres(database):
        return database
    try:
        for prefix in ("postgres://", "postgresql://"):
            if database.startswith(prefix):
                parsed = _parse_uri(database[len(prefix) :])
                break
        else:
            parsed = _parse_keywords(database)
    except _Unparsable:
        return "postgres://***"
    user = "" if parsed.user is None else f"{parsed.user}@"
    hosts = []
    for index, host in enumerate(parsed.hosts):
        ports = parsed.ports[index : index + 1] or parsed.ports[:1]
        hosts.append(f"{host}:{ports[0]}" if ports else host)
    return f"postgres://{user}{','.join(hosts)}/{parsed.dbname or ''}"


def _passwords(database: str) -> list[str]:
    """Every text that may be (part of) the password of a connection string, as written and
    percent-decoded, longest first: the URI's user information after ``:`` (up to the *last*
    ``@``), ``password`` parameters of the query or of the ``keyword=value`` form (an
    unterminated quote: the rest of the string)."""
    found: list[str] = []
    if _is_uri(database):
        rest = database.split("://", 1)[1]
        credentials, at, _ = rest.rpartition("@")
        if at and ":" in credentials:
            found.append(credentials.split(":", 1)[1])
        for pair in re.split(r"[?&]", rest)[1:]:
            key, _, value = pair.partition("=")
            if _percent_decode(key).decode("utf-8", "replace").strip().lower() == "password":
                found.append(value)
    elif _is_keyword_value(database):
        for match in re.finditer(r"(?i)password\s*=\s*", database):
            value = database[match.end() :]
            if value.startswith("'"):
                closing = re.search(r"(?<!\\)'", value[1:])
                found.append(value[1 : 1 + closing.start()] if closing else value[1:])
            else:
                found.append(re.split(r"\s", value, maxsplit=1)[0])
    texts = set()
    for text in found:
        texts.add(text)
        texts.add(_percent_decode(text).decode("utf-8", "replace"))
        texts.add(text.replace("\\", ""))
    return sorted((text for text in texts if text), key=len, reverse=True)


def redacted(message: str, database: str) -> str:
    """``message`` with every password of ``database`` (in any form it may take) shown as
    ``***``."""
    for secret in _passwords(database):
        message = message.replace(secret, "***")
    return message


class Store:
    """One connection to the event store (share it behind a lock). ``shown`` is the database as
    it may be shown (:func:`masked`)."""

    def __init__(self, database: str) -> None:
        self.postgres = is_postgres(database)
        self.shown = masked(database)
        self._lock = threading.Lock()
        self._cursor = None
        if self.postgres:
            try:
                import psycopg
            except ImportError:
                raise StoreError(
                    "MONITOR_DATABASE is a PostgreSQL connection string but psycopg is not installed: "
                    "pip install 'bachata_common[postgres]'"
                ) from None
            try:
                self._connection = psycopg.connect(database, autocommit=False)
            except psycopg.Error as error:
                raise StoreError(_connect_failure(error, database, self.shown)) from None
            self._errors: tuple = (psycopg.Error,)
        else:
            import sqlite3

            path = Path(database)
            try:
                _create_private(path)
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

    def __repr__(self) -> str:
        return f"Store({self.shown!r})"

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

    def exists(self, sql: str, params: tuple = ()) -> bool:
        """Whether the query ``sql`` finds a row, read on its own: on SQLite one statement in
        autocommit mode (its own snapshot, no ``BEGIN``/``COMMIT``) on a cursor kept for it, on
        PostgreSQL in a read transaction."""
        if self.postgres:
            with self.read() as tx:
                return bool(tx.query(sql, params))
        numbered = _NUMBERED.get(sql)
        if numbered is None:  # `$1` as `?1`: bound from the tuple itself, no dict to build
            numbered = _NUMBERED[sql] = _PARAMETER.sub(r"?\1", sql)
        with self._lock:
            try:
                cursor = self._cursor
                if cursor is None:
                    cursor = self._cursor = self._connection.cursor()
                return cursor.execute(numbered, params).fetchone() is not None
            except self._errors as error:
                raise StoreError(f"the monitor database failed: {error}") from None

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


def _connect_failure(error: Exception, database: str, shown: str) -> str:
    """Why connecting failed, without the password: the client's message with every password
    form masked; none at all when the connection string does not read (or reads ambiguously) and
    holds a password, since the client then quotes pieces of it ("missing "=" after …", a host
    name holding the end of the password)."""
    import psycopg

    unreadable = isinstance(error, psycopg.ProgrammingError) or shown == "postgres://***"
    if unreadable and _passwords(database):
        return f"cannot connect to the monitor database {shown}: the connection string does not read"
    return f"cannot connect to the monitor database {shown}: {redacted(str(error), database)}"


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
