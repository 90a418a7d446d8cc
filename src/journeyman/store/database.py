"""Connecting: engines for SQLite and PostgreSQL, transactions, driver errors wrapped."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import orjson
import psycopg
import sqlalchemy as sa
from psycopg.types.json import set_json_loads
from sqlalchemy.engine import Connection, Engine

from journeyman.errors import StoreError

READ_ONLY = "journeyman_read_only"


def normalize_url(url: str) -> str:
    """``postgresql://`` and ``postgres://`` mean psycopg 3."""
    for prefix in ("postgresql://", "postgres://", "postgresql+psycopg2://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def make_engine(url: str) -> Engine:
    url = normalize_url(url)
    if url.startswith("sqlite"):
        return _sqlite_engine(url)
    if url.startswith("postgresql+psycopg"):
        engine = sa.create_engine(url, **_JSON)

        @sa.event.listens_for(engine, "connect")
        def _on_connect(dbapi_connection: Any, _record: Any) -> None:
            set_json_loads(orjson.loads, dbapi_connection)  # reads outside SQLAlchemy too
            _plan_for_the_values(dbapi_connection)

        _ping_after_idle(engine)
        return engine
    raise StoreError(f"unsupported database URL {url!r}: use sqlite:///FILE or postgresql://...")


def _plan_for_the_values(dbapi_connection: psycopg.Connection[Any]) -> None:
    """Every statement is planned for the values it runs with (``force_custom_plan``).

    psycopg prepares a statement run five times, and PostgreSQL then keeps a generic plan,
    worked out once from the tables' sizes at that moment, for the connection's lifetime
    unless an ANALYZE invalidates it. The engine's first passes run while its tables are
    nearly empty, and the generic plan of ``id = ANY($1)`` on a wide table (contacts,
    events) is then a sequential scan comparing every row with every value, kept while the
    table grows: 0.7 s for 1,000 ids among 300,000 contacts. Planning each run costs tens of
    microseconds (docs/architecture.md, "Store", has the figures). Committed: a SET in a
    transaction that rolls back is undone, and the pool rolls back on every return.
    """
    dbapi_connection.execute("SET plan_cache_mode = force_custom_plan")
    dbapi_connection.commit()


# A pooled connection is pinged before use only when it lay idle this long (seconds): one the
# server closed meanwhile (a restart, an idle timeout) is then replaced before it is used, as
# with SQLAlchemy's ``pool_pre_ping``, while the busy paths, one transaction after another
# (the API's event writers, the engine's passes), no longer pay a round trip for each: the
# ping was 7 % of a writer's time in a profile of batches on PostgreSQL. A connection lost
# while in steady use fails its transaction, as one lost during a transaction always did,
# and the pool starts afresh (SQLAlchemy's disconnect handling).
PING_AFTER_IDLE = 0.25  # below the engine's idle poll (0.5 s): an idle engine still pings each time


def _ping_after_idle(engine: Engine) -> None:
    @sa.event.listens_for(engine, "checkin")
    def _on_checkin(_dbapi_connection: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    @sa.event.listens_for(engine, "checkout")
    def _on_checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        idle_since = record.info.get("idle_since")
        if idle_since is None or time.monotonic() - idle_since < PING_AFTER_IDLE:
            return  # new, or just used
        try:
            engine.dialect.do_ping(dbapi_connection)
        except Exception as exc:
            # The pool discards the connection and checks out a new one.
            raise sa.exc.DisconnectionError(f"connection lost while idle: {exc}") from exc


def _json_dumps(value: object) -> str:
    return orjson.dumps(value).decode()


# orjson: JSON columns are read and written for every run on the engine's hot path, and
# orjson is several times faster than the standard library there.
_JSON = {"json_serializer": _json_dumps, "json_deserializer": orjson.loads}


def _sqlite_engine(url: str) -> Engine:
    engine = sa.create_engine(
        url, connect_args={"timeout": 60, "check_same_thread": False}, **_JSON
    )

    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # We issue BEGIN ourselves (below); pysqlite's own transaction handling would
        # start deferred transactions that fail with "database is locked" under contention.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=60000")
        cursor.execute("PRAGMA cache_size=-65536")
        # Checkpoint the WAL into the database less often, in larger (cheaper) steps.
        cursor.execute("PRAGMA wal_autocheckpoint=20000")
        cursor.close()

    @sa.event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        # One writer at a time: take the write lock up front, so a transaction never has to
        # upgrade a read lock (the cause of SQLITE_BUSY deadlocks). Read transactions
        # (``read_transaction``) take no lock: WAL readers see a snapshot and block nobody.
        # Through the driver: SQLAlchemy's statement execution cost more than the BEGIN
        # itself for the one-event transactions of ingestion.
        begin = "BEGIN" if connection.get_execution_options().get(READ_ONLY) else "BEGIN IMMEDIATE"
        connection.connection.driver_connection.execute(begin)  # type: ignore[union-attr]

    return engine


# Raised by statements run on the driver's own cursor (``bulk``, ``fast``), which SQLAlchemy
# does not wrap in its DBAPIError.
_DRIVER_ERRORS = (sqlite3.Error, psycopg.Error)
UNIQUE_VIOLATION = "23505"  # PostgreSQL's SQLSTATEs
DEADLOCK_DETECTED = "40P01"
T = TypeVar("T")


@contextmanager
def transaction(engine: Engine) -> Iterator[Connection]:
    """One transaction; driver errors leave as StoreError (the cause chained)."""
    try:
        with engine.begin() as connection:
            yield connection
    except sa.exc.DBAPIError as exc:
        raise StoreError(f"database error: {exc.orig}") from exc
    except _DRIVER_ERRORS as exc:
        raise StoreError(f"database error: {exc}") from exc


def write(engine: Engine, work: Callable[[Connection], T], *, attempts: int = 3) -> T:
    """``work(connection)`` in one transaction, run again if it lost a race for a unique key
    or a deadlock.

    On PostgreSQL two transactions can both find a key (a new contact's email) absent and
    both insert it; the later one fails on the unique index once the earlier commits. Run
    again, it finds the row and takes the path it would have taken a moment later (update,
    or refuse a duplicate). Two transactions that each create a contact the other then
    needs wait for each other; the server aborts one, which run again finds both. SQLite
    cannot lose these races: writers take the lock up front.
    ``work`` must only touch the database (it may run more than once).
    """
    for attempt in range(1, attempts + 1):
        try:
            with transaction(engine) as connection:
                return work(connection)
        except StoreError as exc:
            if attempt == attempts or not _lost_race(exc):
                raise
    raise AssertionError("unreachable")


def _lost_race(exc: StoreError) -> bool:
    cause = exc.__cause__  # SQLAlchemy's wrapper, or the driver's own error (store.bulk)
    orig = cause.orig if isinstance(cause, sa.exc.DBAPIError) else cause
    return getattr(orig, "sqlstate", None) in (UNIQUE_VIOLATION, DEADLOCK_DETECTED)


@contextmanager
def read_transaction(engine: Engine) -> Iterator[Connection]:
    """A transaction that only reads: a consistent snapshot, no write lock on SQLite.

    On PostgreSQL it is REPEATABLE READ: at the default (read committed) each statement would
    see what others committed since the last, and counts read in two statements (a graph's
    runs on a step and the runs that entered it) could disagree. A read-only transaction at
    that level never fails to serialise."""
    try:
        with engine.connect() as connection:
            options: dict[str, Any] = {READ_ONLY: True}
            if connection.dialect.name == "postgresql":
                options["isolation_level"] = "REPEATABLE READ"
            connection = connection.execution_options(**options)
            with connection.begin():
                yield connection
    except sa.exc.DBAPIError as exc:
        raise StoreError(f"database error: {exc.orig}") from exc
    except _DRIVER_ERRORS as exc:
        raise StoreError(f"database error: {exc}") from exc
