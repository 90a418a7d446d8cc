"""API keys on requests: Brevo's ``api-key`` header, ``Authorization: Bearer``, and the
browser tracker's ``ma-key``.

A key is checked against the stored SHA-256 hashes, and has a scope: ``admin`` keys are for
every route but the tracker's, where they are refused (the tracker's key sits in web pages);
``tracker`` keys only for the tracker's routes (``/api/v2``).

Valid keys are remembered, and ``last_used_at`` is written at most once a minute per key, so
a busy client costs no key lookup per request: a remembered key is checked in the event loop,
without the hop to a worker thread that a SQLAlchemy transaction needs. What each request
does read is the revocation revision (api/revocations.py): when it changed, every remembered
key is forgotten, so a key revoked by any process is refused by every server from its next
request on.
"""

from __future__ import annotations

import functools
import threading
import time
from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from journeyman.api.errors import Unauthorized
from journeyman.api.revocations import RevisionProbe
from journeyman.services import Context, api_keys
from journeyman.services.api_keys import ADMIN, TRACKER, KnownKey

TOUCH_SECONDS = 60.0


@dataclass
class KeyChecker:
    """Knows which keys are valid; shared by every request of one server."""

    context: Context
    _valid: dict[str, KnownKey] = field(default_factory=dict)  # by hash, at _revision
    _revision: int | None = None
    _touched: dict[int, float] = field(default_factory=dict)  # id -> when last_used_at written
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _probe: RevisionProbe | None = None

    async def remembered(self, key: str | None, scope: str = ADMIN) -> int | None:
        """The key's id when it is remembered as valid for ``scope`` and ``last_used_at``
        needs no write now: the check without a key lookup (in the event loop); else None."""
        if not key:
            return None
        try:
            revision = await self._probe_of().revision_after_now()
        except Exception:  # the slow path reads the store, and reports its error
            return None
        now = time.monotonic()
        with self._lock:
            self._forget_if_changed(revision)
            remembered = self._valid.get(api_keys.hash_key(key))
            if remembered is None or remembered.scope != scope:
                return None
            if now - self._touched.get(remembered.id, -TOUCH_SECONDS) >= TOUCH_SECONDS:
                return None
            return remembered.id

    def key_id(self, key: str | None, *, header: str = "api-key", scope: str = ADMIN) -> int:
        """The id of the key, or :class:`Unauthorized` (unknown, or not for ``scope``)."""
        if not key:
            raise Unauthorized(f"Key not found: pass your API key in the {header} header")
        digest = api_keys.hash_key(key)
        revision = self._probe_of().revision()  # before the lookup: a revocation after it shows
        with self._lock:
            self._forget_if_changed(revision)
            known = self._valid.get(digest)
        if known is None:
            known = api_keys.known(self.context, digest)
            if known is None:
                raise Unauthorized("Key not found")
            with self._lock:
                if self._revision == revision:
                    self._valid[digest] = known
        _check_scope(known, scope, header)
        self._touch(known.id, time.monotonic())
        return known.id

    async def aclose(self) -> None:
        if self._probe is not None:
            await self._probe.aclose()

    def _probe_of(self) -> RevisionProbe:
        if self._probe is None:
            self._probe = RevisionProbe(self.context.engine)
        return self._probe

    def _forget_if_changed(self, revision: int) -> None:
        if revision != self._revision:
            self._valid.clear()
            self._revision = revision

    def _touch(self, key_id: int, now: float) -> None:
        with self._lock:
            if now - self._touched.get(key_id, -TOUCH_SECONDS) < TOUCH_SECONDS:
                return
            self._touched[key_id] = now
        api_keys.mark_used(self.context, key_id)


def _check_scope(known: KnownKey, scope: str, header: str) -> None:
    if known.scope == scope:
        return
    if scope == TRACKER:
        raise Unauthorized(
            f"an admin key cannot be the {header}: it would sit in a web page; create a "
            "tracker key (journeyman apikey create NAME --scope tracker)"
        )
    raise Unauthorized("a tracker key can only call the tracker (/api/v2): use an admin key")


_api_key_header = APIKeyHeader(name="api-key", auto_error=False, scheme_name="api-key")
_bearer = HTTPBearer(auto_error=False, scheme_name="bearer")
_ma_key_header = APIKeyHeader(name="ma-key", auto_error=False, scheme_name="ma-key")


def _checker(request: Request) -> KeyChecker:
    checker: KeyChecker = request.app.state.key_checker
    return checker


async def _key_id(request: Request, key: str | None, header: str, scope: str) -> int:
    """A remembered key is checked in the event loop; the others (a database read, and
    the ``last_used_at`` write once a minute) in a worker thread."""
    checker = _checker(request)
    found = await checker.remembered(key, scope)
    if found is not None:
        return found
    check = functools.partial(checker.key_id, key, header=header, scope=scope)
    return await run_in_threadpool(check)


async def require_api_key(
    request: Request,
    api_key: Annotated[str | None, Depends(_api_key_header)],
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> int:
    """The v3 API: ``api-key: KEY`` or ``Authorization: Bearer KEY`` (an admin key)."""
    key = api_key or (bearer.credentials if bearer else None)
    return await _key_id(request, key, "api-key", ADMIN)


async def require_ma_key(
    request: Request, ma_key: Annotated[str | None, Depends(_ma_key_header)]
) -> int:
    """The browser tracker: ``ma-key: KEY`` (a tracker key)."""
    return await _key_id(request, ma_key, "ma-key", TRACKER)
