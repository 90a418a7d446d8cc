"""The secrets that sign tokens: links in messages, unsubscribe tokens, coupon codes and the
webhook secrets of workflows (journeyman.links, templating.code_maker).

There is no built-in secret. ``JOURNEYMAN_SECRET``, when set, is the one secret
(:class:`FixedKeys`). Otherwise each database keeps its own (:class:`StoredKeys`): generated
on first use, replaced by ``journeyman secret rotate``. The newest signs; a retired one keeps
verifying for the grace period chosen at rotation (:data:`DEFAULT_GRACE`), so the links in
messages already sent go on working meanwhile. Each process reads the secrets again at most
:data:`REFRESH_SECONDS` after it last did, and at once when a token does not verify, so a
token signed by another process after a rotation verifies everywhere (a token that does not
verify costs one more read of this small table: no more than the request itself).
A running engine thus signs with the previous secret for up to a minute after a rotation:
tokens that verify through any grace period of a minute or more (``--grace 0`` is for a
leaked secret, where links of that last minute are lost with the rest).
"""

from __future__ import annotations

import datetime as dt
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol, TypeVar

from sqlalchemy.engine import Engine

from journeyman.clock import Clock
from journeyman.config import RETIRED_DEVELOPMENT_SECRET, Settings
from journeyman.store import read_transaction, signing_secrets, write

DEFAULT_GRACE = dt.timedelta(days=7)
REFRESH_SECONDS = 60.0
T = TypeVar("T")


class SigningKeys(Protocol):
    """The secret that signs now, and those a token may be signed with."""

    def current(self) -> bytes: ...

    def verifying(self) -> tuple[bytes, ...]: ...

    def reread(self) -> bool:
        """Read the secrets again; True when they changed."""
        ...

    def refresh(self) -> None:
        """Read the secrets again now (after a rotation by this process)."""
        ...


@dataclass(frozen=True)
class FixedKeys:
    """One secret: ``JOURNEYMAN_SECRET``, a simulation's own, a test's."""

    secret: bytes = field(repr=False)

    def __post_init__(self) -> None:
        if self.secret.decode(errors="replace") == RETIRED_DEVELOPMENT_SECRET:
            raise ValueError("the old development secret is public: it can sign nothing")

    def current(self) -> bytes:
        return self.secret

    def verifying(self) -> tuple[bytes, ...]:
        return (self.secret,)

    def reread(self) -> bool:
        return False

    def refresh(self) -> None:
        pass


class StoredKeys:
    """The database's secrets (module docstring), as this process last read them."""

    def __init__(self, engine: Engine, clock: Clock) -> None:
        self._engine = engine
        self._clock = clock
        self._lock = threading.Lock()
        self._secrets: list[signing_secrets.StoredSecret] = []
        self._read_at = -REFRESH_SECONDS

    def current(self) -> bytes:
        return self._fresh()[0].value.encode()

    def verifying(self) -> tuple[bytes, ...]:
        now = self._clock.now()
        return tuple(
            s.value.encode()
            for s in self._fresh()
            if s.verifies_until is None or s.verifies_until > now
        )

    def reread(self) -> bool:
        with self._lock:
            before = [s.generation for s in self._secrets]
            self._read()
            return before != [s.generation for s in self._secrets]

    def refresh(self) -> None:
        with self._lock:
            self._read()

    def _fresh(self) -> list[signing_secrets.StoredSecret]:
        with self._lock:
            if not self._secrets or time.monotonic() - self._read_at >= REFRESH_SECONDS:
                self._read()
            return self._secrets

    def _read(self) -> None:
        started = time.monotonic()
        now = self._clock.now()
        with read_transaction(self._engine) as connection:
            found = signing_secrets.secrets_txn(connection, now)
        if not found:  # the first use: a write, raced by other processes (store module)
            found = write(
                self._engine, lambda connection: signing_secrets.ensure_secret_txn(connection, now)
            )
        self._secrets, self._read_at = found, started


def keys_for(settings: Settings, engine: Engine, clock: Clock) -> SigningKeys:
    """``JOURNEYMAN_SECRET`` when set, else the database's own secrets."""
    if settings.secret:
        return FixedKeys(str(settings.secret).encode())
    return StoredKeys(engine, clock)


def verified(keys: SigningKeys, check: Callable[[tuple[bytes, ...]], T | None]) -> T | None:
    """``check(secrets)`` with the secrets that verify now, again with the secrets read anew
    when it fails and they changed (a rotation elsewhere)."""
    found = check(keys.verifying())
    if found is None and keys.reread():
        found = check(keys.verifying())
    return found


_GRACE = re.compile(r"^\s*(\d+)\s*([smhdw]?)\s*$")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def parse_grace(text: str) -> dt.timedelta:
    """``30d``, ``12h``, ``90m``, ``45s``, ``2w`` or a number of seconds (``0``: none)."""
    match = _GRACE.match(text)
    if match is None:
        raise ValueError(f"--grace {text!r}: expected a number and a unit, e.g. 7d, 12h or 0")
    return dt.timedelta(seconds=int(match[1]) * _UNITS[match[2]])
