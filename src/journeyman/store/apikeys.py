"""API keys: created once (the key is shown to its creator only), stored as a SHA-256 hash."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from journeyman.errors import InvalidInput
from journeyman.store.schema import api_keys

KEY_PREFIX = "jm-"


@dataclass(frozen=True, kw_only=True)
class NewKey:
    id: int
    name: str
    key: str  # the only time the key exists outside its owner's hands

    @property
    def prefix(self) -> str:
        return self.key[:8]


def hash_key(key: str) -> str:
    """A key's stored form. SHA-256 without salt suffices: keys are 256 random bits, not
    passwords, so a table of hashes cannot be reversed by guessing."""
    return hashlib.sha256(key.encode()).hexdigest()


def create_key_txn(connection: Connection, name: str, now: dt.datetime) -> NewKey:
    name = name.strip()
    if not name or len(name) > 200:
        raise InvalidInput(f"api key name {name!r}: expected 1 to 200 characters")
    if connection.execute(sa.select(api_keys.c.id).where(api_keys.c.name == name)).first():
        raise InvalidInput(f"an api key named {name!r} exists already")
    key = KEY_PREFIX + secrets.token_hex(32)
    key_id = connection.execute(
        sa.insert(api_keys)
        .values(name=name, key_hash=hash_key(key), prefix=key[:8], created_at=now)
        .returning(api_keys.c.id)
    ).scalar_one()
    return NewKey(id=key_id, name=name, key=key)


def key_id_txn(connection: Connection, key_hash: str) -> int | None:
    """The id of the key with this hash, if there is one."""
    row = connection.execute(sa.select(api_keys.c.id).where(api_keys.c.key_hash == key_hash))
    found = row.first()
    return None if found is None else int(found[0])


def mark_used_txn(connection: Connection, key_id: int, now: dt.datetime) -> None:
    connection.execute(sa.update(api_keys).where(api_keys.c.id == key_id).values(last_used_at=now))


def list_keys_txn(connection: Connection) -> list[dict[str, Any]]:
    """Every key without its hash: id, name, prefix, created_at, last_used_at."""
    columns = (
        api_keys.c.id,
        api_keys.c.name,
        api_keys.c.prefix,
        api_keys.c.created_at,
        api_keys.c.last_used_at,
    )
    rows = connection.execute(sa.select(*columns).order_by(api_keys.c.id))
    return [dict(r._mapping) for r in rows]
