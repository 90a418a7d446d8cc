"""Reads and writes of the tracking routes (open pixel, tracked links, unsubscribe): which
contact and message a valid token names, and the unsubscribe itself."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from journeyman.store.schema import contacts, messages, workflows


@dataclass(frozen=True, kw_only=True)
class TrackedMessage:
    """The contact a token names and, when the message is still in the outbox, its
    workflow's key and step."""

    email: str | None
    workflow: str | None
    step: str | None


def tracked_message_txn(
    connection: Connection, contact_id: int, message_key: str
) -> TrackedMessage | None:
    """None when the contact no longer exists. One query: the contact, its message (by
    idempotency key, and only if it was sent to that contact) and the workflow."""
    message = sa.and_(
        messages.c.idempotency_key == message_key, messages.c.contact_id == contacts.c.id
    )
    statement = (
        sa.select(contacts.c.email, workflows.c.key, messages.c.step_id)
        .select_from(
            contacts.outerjoin(messages, message).outerjoin(
                workflows, workflows.c.id == messages.c.workflow_id
            )
        )
        .where(contacts.c.id == contact_id)
    )
    row = connection.execute(statement).first()
    if row is None:
        return None
    return TrackedMessage(email=row[0], workflow=row[1], step=row[2])


def unsubscribe_txn(connection: Connection, contact_id: int, now: dt.datetime) -> bool:
    """Blocklist the contact for email; False when it was already (or does not exist)."""
    done = connection.execute(
        sa.update(contacts)
        .where(contacts.c.id == contact_id, contacts.c.email_blocklisted == sa.false())
        .values(email_blocklisted=True, modified_at=now)
    )
    return bool(done.rowcount)
