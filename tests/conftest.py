"""Fixtures shared by every test tier.

Environment
    Every ``JOURNEYMAN_*`` variable is removed from ``os.environ`` when this file is loaded,
    before any test module is imported (STYLE.md rule 8: configuration is passed in, so no test
    may depend on the developer's shell). One is kept: ``JOURNEYMAN_REQUIRE_POSTGRES``, because
    it configures the test suite, not Journeyman (nothing in ``src`` reads it), and tiers that
    start subprocesses read it from the environment too. This file reads it once into
    :data:`REQUIRE_POSTGRES`; subprocess helpers strip ``JOURNEYMAN_*`` from the child's
    environment anyway.

PostgreSQL
    The server is :data:`POSTGRES_DSN` (127.0.0.1:5432, user postgres). When it is unreachable
    the PostgreSQL variants are skipped; with ``JOURNEYMAN_REQUIRE_POSTGRES=1`` (CI) every test
    that needs it errors instead, with the connection error.

Fixtures for other tiers
    ``clock``        a :class:`FakeClock` at :data:`START` (aware UTC).
    ``db_url``       parametrized ``sqlite`` / ``postgres``: a fresh SQLite file in ``tmp_path``
                     (not migrated yet), or the session's migrated PostgreSQL database emptied
                     for this test (tables truncated, identities restarted, only the seeded
                     attribute definitions FIRSTNAME and LASTNAME left).
    ``backend``      ``"sqlite"`` or ``"postgres"``: which variant ``db_url`` is.
    ``app``          :class:`App` on ``db_url`` with ``clock``; closed after the test.
    ``pg_db_url``    the emptied, migrated PostgreSQL database alone (PostgreSQL-only tests).
    ``pg_url``       a brand-new *empty* PostgreSQL database (not migrated: the way a user's
                     first ``journeyman`` command finds it), dropped after the test. Use it for
                     subprocesses; it costs a ``CREATE DATABASE`` per test.
    ``postgres_admin_dsn``  the libpq DSN of the server (skips or fails like the rest).

URLs are plain strings (``sqlite:///...`` or ``postgresql://...``), usable as ``--db`` or
``JOURNEYMAN_DATABASE_URL`` of a subprocess. Tests that use the session database must not
leave connections open after they end (the ``app`` fixture disposes its engine).
"""

from __future__ import annotations

import datetime as dt
import itertools
import os
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from hypothesis import settings as hypothesis_settings
from psycopg import sql

from journeyman import App, FakeClock, Settings
from journeyman.clock import UTC
from journeyman.model.contacts import DEFAULT_ATTRIBUTES
from journeyman.store import schema

# Property tests check what is computed, not how fast: in the parallel suite on a loaded
# machine a first example can take longer than Hypothesis's 200 ms deadline.
hypothesis_settings.register_profile("journeyman", deadline=None)
hypothesis_settings.load_profile("journeyman")

KEPT_VARIABLES = frozenset({"JOURNEYMAN_REQUIRE_POSTGRES"})
REQUIRE_POSTGRES = os.environ.get("JOURNEYMAN_REQUIRE_POSTGRES", "").strip() == "1"
POSTGRES_DSN = "host=127.0.0.1 port=5432 user=postgres dbname=postgres"
for _name in [n for n in os.environ if n.startswith("JOURNEYMAN_") and n not in KEPT_VARIABLES]:
    del os.environ[_name]

START = dt.datetime(2027, 1, 4, 9, 0, tzinfo=UTC)  # a Monday
SEEDED_ATTRIBUTES = tuple(d.name for d in DEFAULT_ATTRIBUTES)

_database_numbers = itertools.count(1)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "postgres: the test needs a PostgreSQL server")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--soak",
        action="store_true",
        default=False,
        help="the large workloads at full size (make soak; CI runs it after make test)",
    )


@pytest.fixture(scope="session")
def soak(request: pytest.FixtureRequest) -> bool:
    """True in ``make soak``: tests with a workload (backlogs, fuzzing) run it at full size;
    ``make test`` runs the same tests on smaller ones."""
    return bool(request.config.getoption("--soak"))


# --- time ---------------------------------------------------------------------------------


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START)


# --- PostgreSQL ---------------------------------------------------------------------------


@pytest.fixture(scope="session")
def postgres_admin_dsn() -> str:
    """The server's DSN, after checking it answers (skip or, in CI, fail when it does not)."""
    try:
        with psycopg.connect(POSTGRES_DSN, connect_timeout=3) as connection:
            connection.execute("SELECT 1")
    except psycopg.Error as exc:
        message = f"PostgreSQL at {POSTGRES_DSN!r} is unreachable: {exc}".strip()
        if REQUIRE_POSTGRES:
            pytest.fail(f"{message} (JOURNEYMAN_REQUIRE_POSTGRES=1)", pytrace=False)
        pytest.skip(message)
    return POSTGRES_DSN


def _url_of(admin_dsn: str, database: str) -> str:
    info = psycopg.conninfo.conninfo_to_dict(admin_dsn)
    user = info.get("user", "postgres")
    password = f":{info['password']}" if info.get("password") else ""
    host, port = info.get("host", "127.0.0.1"), info.get("port", "5432")
    return f"postgresql://{user}{password}@{host}:{port}/{database}"


def _create_database(admin_dsn: str, name: str) -> None:
    with psycopg.connect(admin_dsn, autocommit=True) as connection:
        connection.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
        connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def _drop_database(admin_dsn: str, name: str) -> None:
    with psycopg.connect(admin_dsn, autocommit=True) as connection:
        connection.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


@pytest.fixture(scope="session")
def _pg_session_database(postgres_admin_dsn: str) -> Iterator[str]:
    """One database for the session, migrated once through App.open (Alembic)."""
    name = f"journeyman_test_{os.getpid()}"
    _create_database(postgres_admin_dsn, name)
    url = _url_of(postgres_admin_dsn, name)
    try:
        App.open(Settings(database_url=url)).close()
        yield url
    finally:
        _drop_database(postgres_admin_dsn, name)


def _empty_tables(url: str) -> None:
    """Back to the state of a fresh migration, much faster than migrating again."""
    tables = [t.name for t in schema.metadata.sorted_tables if t.name != "attribute_definitions"]
    with psycopg.connect(url, autocommit=True) as connection, connection.transaction():
        connection.execute(
            sql.SQL("TRUNCATE {} RESTART IDENTITY CASCADE").format(
                sql.SQL(", ").join(sql.Identifier(t) for t in tables)
            )
        )
        connection.execute(
            "DELETE FROM attribute_definitions WHERE name <> ALL(%s)", [list(SEEDED_ATTRIBUTES)]
        )
        connection.execute(
            "UPDATE attribute_definitions SET type = 'text', allowed_values = '[]'::jsonb"
        )


@pytest.fixture
def pg_db_url(_pg_session_database: str) -> str:
    """The session's migrated PostgreSQL database, emptied for this test."""
    _empty_tables(_pg_session_database)
    return _pg_session_database


@pytest.fixture
def pg_url(postgres_admin_dsn: str) -> Iterator[str]:
    """A new, empty (not migrated) PostgreSQL database for this test; dropped afterwards."""
    name = f"journeyman_test_{os.getpid()}_{next(_database_numbers)}"
    _create_database(postgres_admin_dsn, name)
    try:
        yield _url_of(postgres_admin_dsn, name)
    finally:
        _drop_database(postgres_admin_dsn, name)


# --- both backends ------------------------------------------------------------------------


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def db_url(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'journeyman.db'}"
    return str(request.getfixturevalue("pg_db_url"))


@pytest.fixture
def app(db_url: str, clock: FakeClock) -> Iterator[App]:
    application = App.open(Settings(database_url=db_url), clock=clock)
    try:
        yield application
    finally:
        application.close()
