"""API keys: created once (the key is shown to its creator only), stored as a SHA-256 hash.

A key has a scope: ``admin`` may call every route; ``tracker`` is the browser tracker's public
key (it sits in web pages) and may call only ``/api/v2``. Revoking deletes the key and raises
the revision that every server reads on each request (api/auth.py), so it takes effect at once.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from journeyman.errors import InvalidInput
from journeyman.store.schema import api_key_revision, api_keys

KEY_PREFIX = "jm-"
ADMIN = "admin"
TRACKER = "tracker"
SCOPES = (ADMIN, TRACKER)


@dataclass(frozen=True, kw_only=True)
class NewKey:
    id: int
    name: str
    key: str  # the only time the key exists outside its owner's hands
    scope: str = ADMIN

    @property
    def prefix(self) -> str:
        return self.key[:8]


def hash_key(key: str) -> str:
    """A key's stored form. SHA-256 without salt suffices: keys are 256 random bits, not
    passwords, so a table of hashes cannot be reversed by guessing."""
    return hashlib.sha256(key.encode()).hexdigest()


@dataclass(frozen=True, kw_only=True)
class KnownKey:
    id: int
    scope: str


def create_key_txn(
    connection: Connection, name: str, now: dt.datetime, *, scope: str = ADMIN
) -> NewKey:
    name = name.strip()
    if not name or len(name) > 200:
        raise InvalidInput(f"api key name {name!r}: expected 1 to 200 characters")
    if scope not in SCOPES:
        raise InvalidInput(f"api key scope {scope!r}: expected one of {', '.join(SCOPES)}")
    if connection.execute(sa.select(api_keys.c.id).where(api_keys.c.name == name)).first():
        raise InvalidInput(f"an api key named {name!r} exists already")
    key = KEY_PREFIX + secrets.token_hex(32)
    key_id = connection.execute(
        sa.insert(api_keys)
        .values(name=name, key_hash=hash_key(key), prefix=key[:8], created_at=now, scope=scope)
        .returning(api_keys.c.id)
    ).scalar_one()
    return NewKey(id=key_id, name=name, key=key, scope=scope)


def key_txn(connection: Connection, key_hash: str) -> KnownKey | None:
    """The key with this hash, if there is one."""
    found = connection.execute(
        sa.select(api_keys.c.id, api_keys.c.scope).where(api_keys.c.key_hash == key_hash)
    ).first()
    return None if found is None else KnownKey(id=int(found.id), scope=str(found.scope))


def revoke_key_txn(connection: Connection, name: str) -> None:
    """Delete key NAME and raise the revision (module docstring)."""
    deleted = connection.execute(sa.delete(api_keys).where(api_keys.c.name == name.strip()))
    if deleted.rowcount == 0:
        raise InvalidInput(f"no api key named {name!r} (journeyman apikey list)")
    insert = postgresql.insert if connection.dialect.name == "postgresql" else sqlite.insert
    connection.execute(
        insert(api_key_revision)
        .values(id=1, revision=1)
        .on_conflict_do_update(
            index_elements=[api_key_revision.c.id],
            set_={"revision": api_key_revision.c.revision + 1},
        )
    )


# Read on the driver, for every request (api/auth.py): 0 before the first revocation.
REVISION_QUERY = "SELECT coalesce(max(revision), 0) FROM api_key_revision"


def mark_used_txn(connection: Connection, key_id: int, now: dt.datetime) -> None:
    connection.execute(sa.update(api_keys).where(api_keys.c.id == key_id).values(last_used_at=now))


def list_keys_txn(connection: Connection) -> list[dict[str, Any]]:
    """Every key without its hash: id, name, scope, prefix, created_at, last_used_at."""
    columns = (
        api_keys.c.id,
        api_keys.c.name,
        api_keys.c.scope,
        api_keys.c.prefix,
        api_keys.c.created_at,
        api_keys.c.last_used_at,
    )
    rows = connection.execute(sa.select(*columns).order_by(api_keys.c.id))
    return [dict(r._mapping) for r in rows]
