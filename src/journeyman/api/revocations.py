"""The revocation revision of the API keys, read for every request (api/auth.py), as cheaply
as it can be: on a connection kept for it, through the driver, outside SQLAlchemy.

On SQLite the read is a few microseconds and is made where it is asked for, in the event
loop too. On PostgreSQL it is a round trip: the event loop awaits it on an asynchronous
connection of its own instead of waiting blocked, and requests that arrive while a read is
under way share the next one (each request is checked against a read that *began after it
arrived*, so a revocation committed before the request is always seen), so under load the
server makes far fewer reads than it answers requests.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from typing import Any

import psycopg
from sqlalchemy.engine import Engine

from journeyman.services import api_keys


class RevisionProbe:
    """The revision, read on connections of the probe's own (module docstring)."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._postgres = engine.dialect.name == "postgresql"
        self._connection: Any = None  # the driver's, for threads (and SQLite's event loop)
        self._lock = threading.Lock()
        self._async: psycopg.AsyncConnection[Any] | None = None
        self._reading = False
        self._next: asyncio.Future[int] | None = None  # the read that starts after this one
        self._task: asyncio.Task[None] | None = None

    def revision(self) -> int:
        """The revision now (blocking: worker threads, and SQLite anywhere)."""
        with self._lock:
            try:
                if self._connection is None:
                    self._connection = self._connect()
                row = self._connection.execute(api_keys.REVISION_QUERY).fetchone()
            except Exception:
                self._close()  # a lost connection: a new one next time
                raise
        return int(row[0])

    async def revision_after_now(self) -> int:
        """The revision from a read that begins after this call (in the event loop)."""
        if not self._postgres:
            return self.revision()
        if self._next is None:
            self._next = asyncio.get_running_loop().create_future()
        future = self._next
        if not self._reading:
            self._start()
        return await asyncio.shield(future)

    def _start(self) -> None:
        future, self._next = self._next, None
        assert future is not None
        self._reading = True
        self._task = asyncio.get_running_loop().create_task(self._read_into(future))

    async def _read_into(self, future: asyncio.Future[int]) -> None:
        try:
            future.set_result(await self._read_async())
        except Exception as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: a request that gave up waiting logs no warning
        finally:
            self._reading = False
            if self._next is not None:
                self._start()

    async def _read_async(self) -> int:
        try:
            if self._async is None:
                url = self._engine.url.set(drivername="postgresql")
                conninfo = url.render_as_string(hide_password=False)
                self._async = await psycopg.AsyncConnection.connect(conninfo, autocommit=True)
            cursor = await self._async.execute(api_keys.REVISION_QUERY)
            row = await cursor.fetchone()
        except Exception:
            await self._aclose_async()
            raise
        assert row is not None
        return int(row[0])

    def _connect(self) -> Any:
        proxy = self._engine.raw_connection()
        driver = proxy.driver_connection
        proxy.detach()  # never handed back to the pool with autocommit on
        if self._postgres:
            driver.autocommit = True  # type: ignore[union-attr]
        return driver

    def _close(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            with contextlib.suppress(Exception):  # already broken: nothing to release
                connection.close()

    async def _aclose_async(self) -> None:
        connection, self._async = self._async, None
        if connection is not None:
            with contextlib.suppress(Exception):
                await connection.close()

    async def aclose(self) -> None:
        with self._lock:
            self._close()
        await self._aclose_async()
