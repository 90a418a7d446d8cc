"""Reads and writes of the tracking routes (open pixel, tracked links, unsubscribe): which
contact and message a valid token names, the events about the message, and the unsubscribe
itself."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from journeyman.store import events as store_events
from journeyman.store.schema import contacts, events, messages, workflows

SOURCE = "tracking"
OPENED = "email_opened"


@dataclass(frozen=True, kw_only=True)
class TrackedMessage:
    """The contact a token names and, when the message is still in the outbox, its
    workflow's key and step."""

    email: str | None
    workflow: str | None
    step: str | None


def tracked_message_txn(
    connection: Connection, contact_id: int, message_key: str, *, lock: bool = False
) -> TrackedMessage | None:
    """None when the contact no longer exists. One query: the contact, its message (by
    idempotency key, and only if it was sent to that contact) and the workflow. ``lock``
    holds the contact's row until the transaction ends (PostgreSQL; a SQLite write
    transaction holds the whole database already)."""
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
    if lock:
        # NO KEY UPDATE: events stored for the contact meanwhile (their writer holds it
        # KEY SHARE, contacts.ensure_contacts_txn) do not wait; only another click's does.
        statement = statement.with_for_update(of=contacts, key_share=True)
    row = connection.execute(statement).first()
    if row is None:
        return None
    return TrackedMessage(email=row[0], workflow=row[1], step=row[2])


def record_txn(
    connection: Connection,
    name: str,
    contact_id: int,
    message_key: str,
    now: dt.datetime,
    *,
    extra: Mapping[str, str] | None = None,
    opens: bool = False,
) -> TrackedMessage | None:
    """Record the event ``name`` about the message for its contact (source ``tracking``,
    queued for the triggers like any event); nothing when the contact is gone.

    With ``opens`` (a click), a message with no ``email_opened`` yet gets one first, with
    ``via: click``: the click proves the open that a blocked pixel did not report (as Brevo,
    Mailchimp and Klaviyo count it). The contact's row is locked before the check, so two
    clicks at once record one open."""
    found = tracked_message_txn(connection, contact_id, message_key, lock=opens)
    if found is None or found.email is None:
        return found
    properties: dict[str, Any] = {"message_key": message_key}
    if found.workflow is not None:
        properties["workflow"] = found.workflow
    if found.step is not None:
        properties["step"] = found.step
    new = [_event(name, contact_id, now, {**properties, **(extra or {})})]
    if opens and not _opened_txn(connection, contact_id, message_key):
        new.insert(0, _event(OPENED, contact_id, now, {**properties, "via": "click"}))
    store_events.record_events_txn(connection, new, now)
    return found


def _event(
    name: str, contact_id: int, now: dt.datetime, properties: dict[str, Any]
) -> store_events.NewEvent:
    return store_events.NewEvent(
        name=name, contact_id=contact_id, occurred_at=now, properties=properties, source=SOURCE
    )


def _opened_txn(connection: Connection, contact_id: int, message_key: str) -> bool:
    """Has the message an ``email_opened`` event (the (contact, name, time) index finds
    the contact's opens)."""
    statement = (
        sa.select(events.c.id)
        .where(
            events.c.contact_id == contact_id,
            events.c.name == OPENED,
            events.c.properties["message_key"].as_string() == message_key,
        )
        .limit(1)
    )
    return connection.execute(statement).first() is not None


def unsubscribe_txn(connection: Connection, contact_id: int, now: dt.datetime) -> bool:
    """Blocklist the contact for email; False when it was already (or does not exist)."""
    done = connection.execute(
        sa.update(contacts)
        .where(contacts.c.id == contact_id, contacts.c.email_blocklisted == sa.false())
        .values(email_blocklisted=True, modified_at=now)
    )
    return bool(done.rowcount)
