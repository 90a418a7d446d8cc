"""What the dry-run simulator reads from the real store, and its clock's next stop in the
scratch one (:mod:`journeyman.simulation`)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from journeyman.store.schema import events, messages, runs, users

INSIDE = ("active", "waiting")
UNSENT = ("queued", "sending")


def users_txn(connection: Connection) -> list[tuple[str, str]]:
    """(name, email) of every user, oldest first."""
    statement = sa.select(users.c.name, users.c.email).order_by(users.c.id)
    return [(r.name, r.email) for r in connection.execute(statement)]


def contact_events_txn(connection: Connection, contact_id: int, limit: int) -> list[dict[str, Any]]:
    """The contact's ``limit`` events received last (name, occurred_at, properties), in the
    order received: copied in that order, they count for conditions as they do here."""
    statement = (
        sa.select(events.c.name, events.c.occurred_at, events.c.properties)
        .where(events.c.contact_id == contact_id)
        .order_by(sa.func.coalesce(events.c.taken_as, events.c.id).desc())
        .limit(limit)
    )
    found = [dict(r._mapping) for r in connection.execute(statement)]
    return found[::-1]


def next_due_txn(connection: Connection) -> dt.datetime | None:
    """The earliest time something is due: a run inside (a delay, a wait's timeout, a
    window) or a message not sent yet (a retry, quiet hours)."""
    due_run = sa.select(sa.func.min(runs.c.due_at)).where(runs.c.status.in_(INSIDE))
    due_message = sa.select(sa.func.min(messages.c.next_attempt_at)).where(
        messages.c.status.in_(UNSENT)
    )
    found = [connection.execute(q).scalar() for q in (due_run, due_message)]
    times = [t for t in found if t is not None]
    return min(times) if times else None
