"""PostgreSQL connections the server closed: one that lay idle in the pool is replaced before
use (pinged first); one in steady use is not pinged, fails its transaction once, and the
pool starts afresh."""

from __future__ import annotations

import time

import psycopg
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.engine.interfaces import DBAPIConnection

from journeyman.errors import StoreError
from journeyman.store import database, transaction

pytestmark = pytest.mark.postgres


def backend_pid(engine: Engine) -> int:
    with transaction(engine) as connection:
        return int(connection.execute(sa.text("SELECT pg_backend_pid()")).scalar_one())


def terminate(postgres_admin_dsn: str, pid: int) -> None:
    with psycopg.connect(postgres_admin_dsn, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
        for _ in range(100):  # until the backend is gone
            if not admin.execute(
                "SELECT 1 FROM pg_stat_activity WHERE pid = %s", (pid,)
            ).fetchone():
                return
            time.sleep(0.02)
    raise AssertionError(f"backend {pid} still there")


def test_a_connection_closed_while_idle_is_replaced_before_use(
    pg_url: str, postgres_admin_dsn: str
) -> None:
    engine = database.make_engine(pg_url)
    try:
        first = backend_pid(engine)
        terminate(postgres_admin_dsn, first)
        time.sleep(database.PING_AFTER_IDLE + 0.05)

        assert backend_pid(engine) != first  # no error: pinged, found closed, replaced
    finally:
        engine.dispose()


def test_a_connection_in_steady_use_is_not_pinged_and_recovers_after_one_failure(
    pg_url: str, postgres_admin_dsn: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(database, "PING_AFTER_IDLE", 3600.0)  # always "just used"
    engine = database.make_engine(pg_url)
    pings = 0
    ping = engine.dialect.do_ping

    def counted(dbapi_connection: DBAPIConnection) -> bool:
        nonlocal pings
        pings += 1
        return ping(dbapi_connection)

    monkeypatch.setattr(engine.dialect, "do_ping", counted)
    try:
        first = backend_pid(engine)
        for _ in range(5):
            assert backend_pid(engine) == first
        assert pings == 0

        terminate(postgres_admin_dsn, first)
        with pytest.raises(StoreError):
            backend_pid(engine)

        assert backend_pid(engine) != first
    finally:
        engine.dispose()
