"""API keys on requests: Brevo's ``api-key`` header, ``Authorization: Bearer``, and the
legacy tracker's ``ma-key``.

A key is checked against the stored SHA-256 hashes. Valid keys are remembered for a short
while, and ``last_used_at`` is written at most once a minute per key, so a busy client costs
no database access per request: a remembered key is checked in the event loop, without the
hop to a worker thread that a database read needs.
"""

from __future__ import annotations

import functools
import threading
import time
from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.engine import Engine
from starlette.concurrency import run_in_threadpool

from journeyman.api.errors import Unauthorized
from journeyman.clock import Clock
from journeyman.store import apikeys, read_transaction, transaction

REMEMBER_SECONDS = 30.0
TOUCH_SECONDS = 60.0


@dataclass
class KeyChecker:
    """Knows which keys are valid; shared by every request of one server."""

    engine: Engine
    clock: Clock
    _valid: dict[str, tuple[int, float]] = field(default_factory=dict)  # hash -> (id, until)
    _touched: dict[int, float] = field(default_factory=dict)  # id -> when last_used_at written
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def remembered(self, key: str | None) -> int | None:
        """The key's id when it is remembered as valid and ``last_used_at`` needs no write
        now: the check that costs no database access (in the event loop); else None."""
        if not key:
            return None
        now = time.monotonic()
        with self._lock:
            remembered = self._valid.get(apikeys.hash_key(key))
            if remembered is None or remembered[1] <= now:
                return None
            if now - self._touched.get(remembered[0], -TOUCH_SECONDS) >= TOUCH_SECONDS:
                return None
            return remembered[0]

    def key_id(self, key: str | None, *, header: str = "api-key") -> int:
        """The id of the key, or :class:`Unauthorized`."""
        if not key:
            raise Unauthorized(f"Key not found: pass your API key in the {header} header")
        digest = apikeys.hash_key(key)
        now = time.monotonic()
        with self._lock:
            remembered = self._valid.get(digest)
        if remembered is not None and remembered[1] > now:
            key_id = remembered[0]
        else:
            with read_transaction(self.engine) as connection:
                found = apikeys.key_id_txn(connection, digest)
            if found is None:
                raise Unauthorized("Key not found")
            key_id = found
            with self._lock:
                self._valid[digest] = (key_id, now + REMEMBER_SECONDS)
        self._touch(key_id, now)
        return key_id

    def _touch(self, key_id: int, now: float) -> None:
        with self._lock:
            if now - self._touched.get(key_id, -TOUCH_SECONDS) < TOUCH_SECONDS:
                return
            self._touched[key_id] = now
        with transaction(self.engine) as connection:
            apikeys.mark_used_txn(connection, key_id, self.clock.now())


_api_key_header = APIKeyHeader(name="api-key", auto_error=False, scheme_name="api-key")
_bearer = HTTPBearer(auto_error=False, scheme_name="bearer")
_ma_key_header = APIKeyHeader(name="ma-key", auto_error=False, scheme_name="ma-key")


def _checker(request: Request) -> KeyChecker:
    checker: KeyChecker = request.app.state.key_checker
    return checker


async def _key_id(request: Request, key: str | None, header: str) -> int:
    """A remembered key is checked in the event loop; the others (a database read, and
    the ``last_used_at`` write once a minute) in a worker thread."""
    checker = _checker(request)
    found = checker.remembered(key)
    if found is not None:
        return found
    return await run_in_threadpool(functools.partial(checker.key_id, key, header=header))


async def require_api_key(
    request: Request,
    api_key: Annotated[str | None, Depends(_api_key_header)],
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> int:
    """The v3 API: ``api-key: KEY`` or ``Authorization: Bearer KEY``."""
    return await _key_id(request, api_key or (bearer.credentials if bearer else None), "api-key")


async def require_ma_key(
    request: Request, ma_key: Annotated[str | None, Depends(_ma_key_header)]
) -> int:
    """The legacy tracker: ``ma-key: KEY`` (any API key)."""
    return await _key_id(request, ma_key, "ma-key")
