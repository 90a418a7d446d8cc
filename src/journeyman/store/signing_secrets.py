"""The signing secrets of this database: generated on first use, rotated with a grace period.

The highest generation signs; the retired ones verify until their ``verifies_until``. The
generation is unique, so two processes that find no secret at once both insert generation 1
and one of them loses the race (``database.write`` runs it again, and it then reads the
winner's); two rotations at once collide the same way, and the loser runs again after the winner.
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from journeyman.store.schema import signing_secrets


@dataclass(frozen=True, kw_only=True)
class StoredSecret:
    generation: int
    value: str
    created_at: dt.datetime
    retired_at: dt.datetime | None
    verifies_until: dt.datetime | None  # None: the current one


def new_value() -> str:
    return secrets.token_hex(32)  # 256 random bits


def secrets_txn(connection: Connection, now: dt.datetime) -> list[StoredSecret]:
    """The current secret first, then the retired ones that still verify at ``now``."""
    rows = connection.execute(
        sa.select(signing_secrets)
        .where(
            sa.or_(
                signing_secrets.c.verifies_until.is_(None),
                signing_secrets.c.verifies_until > now,
            )
        )
        .order_by(signing_secrets.c.generation.desc())
    )
    return [_stored(r) for r in rows]


def ensure_secret_txn(connection: Connection, now: dt.datetime) -> list[StoredSecret]:
    """:func:`secrets_txn`, after creating the first secret when there is none."""
    found = secrets_txn(connection, now)
    if found and found[0].verifies_until is None:
        return found
    # Read again in one statement: on PostgreSQL (read committed) each statement sees what
    # other processes committed since the last, and the newest may have become current.
    newest = connection.execute(
        sa.select(signing_secrets.c.generation, signing_secrets.c.verifies_until)
        .order_by(signing_secrets.c.generation.desc())
        .limit(1)
    ).first()
    if newest is not None and newest.verifies_until is None:
        return secrets_txn(connection, now)
    _insert_txn(connection, (newest.generation if newest is not None else 0) + 1, now)
    return secrets_txn(connection, now)


def rotate_txn(connection: Connection, now: dt.datetime, grace: dt.timedelta) -> StoredSecret:
    """A new current secret; the one it replaces verifies for ``grace`` more, and no older
    one verifies longer than that (``grace`` 0: every earlier token stops verifying now)."""
    if grace < dt.timedelta(0):
        raise ValueError("the grace period cannot be negative")
    newest = connection.execute(sa.select(sa.func.max(signing_secrets.c.generation))).scalar()
    until = now + grace
    connection.execute(
        sa.update(signing_secrets)
        .where(
            sa.or_(
                signing_secrets.c.verifies_until.is_(None),
                signing_secrets.c.verifies_until > until,
            )
        )
        .values(verifies_until=until)
    )
    connection.execute(
        sa.update(signing_secrets)
        .where(signing_secrets.c.retired_at.is_(None))
        .values(retired_at=now)
    )
    _insert_txn(connection, (newest or 0) + 1, now)
    return secrets_txn(connection, now)[0]


def history_txn(connection: Connection) -> list[StoredSecret]:
    """Every generation, newest first (values included: callers show only the times)."""
    newest_first = signing_secrets.c.generation.desc()
    rows = connection.execute(sa.select(signing_secrets).order_by(newest_first))
    return [_stored(r) for r in rows]


def _insert_txn(connection: Connection, generation: int, now: dt.datetime) -> None:
    connection.execute(
        sa.insert(signing_secrets).values(generation=generation, value=new_value(), created_at=now)
    )


def _stored(row: sa.Row[Any]) -> StoredSecret:
    return StoredSecret(
        generation=row.generation,
        value=row.value,
        created_at=row.created_at,
        retired_at=row.retired_at,
        verifies_until=row.verifies_until,
    )
