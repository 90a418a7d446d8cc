"""API keys: created (shown once), listed, revoked; looked up for requests.

Requests look keys up by hash (:func:`known`) and mark them used; the revocation revision
that every request reads goes through the driver, outside any transaction
(``api/revocations.py`` runs :data:`REVISION_QUERY`).
"""

from __future__ import annotations

from typing import Any

from journeyman.services.context import Context
from journeyman.store import apikeys as store
from journeyman.store import read_transaction, transaction
from journeyman.store.apikeys import (
    ADMIN,
    REVISION_QUERY,
    TRACKER,
    KnownKey,
    NewKey,
    hash_key,
)

__all__ = [
    "ADMIN",
    "REVISION_QUERY",
    "TRACKER",
    "KnownKey",
    "NewKey",
    "create",
    "hash_key",
    "known",
    "listed",
    "mark_used",
    "revoke",
]


def create(context: Context, name: str, *, scope: str = ADMIN) -> NewKey:
    """Key ``name``: the key itself exists only in the answer (stored hashed)."""
    with transaction(context.engine) as connection:
        return store.create_key_txn(connection, name, context.clock.now(), scope=scope)


def listed(context: Context) -> list[dict[str, Any]]:
    """Every key without its hash: id, name, scope, prefix, created_at, last_used_at."""
    with read_transaction(context.engine) as connection:
        return store.list_keys_txn(connection)


def revoke(context: Context, name: str) -> None:
    """Delete key ``name`` and raise the revocation revision."""
    with transaction(context.engine) as connection:
        store.revoke_key_txn(connection, name)


def known(context: Context, key_hash: str) -> KnownKey | None:
    """The key with this hash, if there is one."""
    with read_transaction(context.engine) as connection:
        return store.key_txn(connection, key_hash)


def mark_used(context: Context, key_id: int) -> None:
    with transaction(context.engine) as connection:
        store.mark_used_txn(connection, key_id, context.clock.now())
