"""Writes of the HTTP API that have no App verb: blocklist flags both ways, a contact's new
email address, deleting contacts, renaming and deleting lists and attributes.

Creating and updating contacts, events and list memberships go through the same verbs as
the CLI and the engine (they record the system events that start workflows); these do not
start workflows.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from journeyman.store.schema import (
    UtcDateTime,
    anniversary_marks,
    attribute_definitions,
    contacts,
    conversions,
    deals,
    entry_refusals,
    event_queue,
    events,
    list_members,
    lists,
    messages,
    run_log,
    runs,
    tasks,
)


def set_blocklist_txn(
    connection: Connection,
    contact_ids: Sequence[int],
    *,
    email: bool | None,
    sms: bool | None,
    now: dt.datetime,
) -> None:
    """Set or clear the blocklist flags (None leaves a flag as it is)."""
    values: dict[str, object] = {}
    if email is not None:
        values["email_blocklisted"] = email
    if sms is not None:
        values["sms_blocklisted"] = sms
    if values and contact_ids:
        connection.execute(
            sa.update(contacts)
            .where(contacts.c.id.in_(sorted(set(contact_ids))))
            .values(**values, modified_at=now)
        )


def change_email_txn(connection: Connection, contact_id: int, email: str, now: dt.datetime) -> None:
    """A contact's new (normalized, unused) email address."""
    connection.execute(
        sa.update(contacts).where(contacts.c.id == contact_id).values(email=email, modified_at=now)
    )


def delete_contact_txn(connection: Connection, contact_id: int) -> None:
    """The contact and what belongs to it: events, runs and their logs, memberships, the
    record of workflows it did not enter. Its messages stay in the outbox as history; the
    ones still queued are suppressed. CRM records and conversions stay, without the contact.

    Spelled out table by table: SQLite does not enforce the foreign keys' cascades here.
    The contact is locked first (PostgreSQL), so a transaction storing events for it (which
    holds it ``FOR KEY SHARE``, ``contacts.ensure_contacts_txn``) has committed before its
    events are deleted below, or waits and then finds the contact gone."""
    connection.execute(
        sa.select(contacts.c.id).where(contacts.c.id == contact_id).with_for_update()
    )
    own_runs = sa.select(runs.c.id).where(runs.c.contact_id == contact_id)
    connection.execute(
        sa.update(messages)
        .where(messages.c.contact_id == contact_id, messages.c.status == "queued")
        .values(status="suppressed", reason="contact deleted", next_attempt_at=None)
    )
    connection.execute(
        sa.update(messages).where(messages.c.run_id.in_(own_runs)).values(run_id=None)
    )
    connection.execute(sa.delete(run_log).where(run_log.c.run_id.in_(own_runs)))
    connection.execute(sa.delete(runs).where(runs.c.contact_id == contact_id))
    connection.execute(sa.delete(event_queue).where(event_queue.c.contact_id == contact_id))
    connection.execute(sa.delete(events).where(events.c.contact_id == contact_id))
    for table in (list_members, anniversary_marks, entry_refusals):
        connection.execute(sa.delete(table).where(table.c.contact_id == contact_id))
    for table in (deals, tasks, conversions):
        connection.execute(
            sa.update(table).where(table.c.contact_id == contact_id).values(contact_id=None)
        )
    connection.execute(sa.delete(contacts).where(contacts.c.id == contact_id))


def update_list_txn(
    connection: Connection, list_id: int, *, name: str | None, folder: str | None
) -> None:
    values = {k: v for k, v in (("name", name), ("folder", folder)) if v is not None}
    if values:
        connection.execute(sa.update(lists).where(lists.c.id == list_id).values(**values))


def delete_list_txn(connection: Connection, list_id: int) -> None:
    connection.execute(sa.delete(list_members).where(list_members.c.list_id == list_id))
    connection.execute(sa.delete(lists).where(lists.c.id == list_id))


def delete_attribute_txn(connection: Connection, name: str, now: dt.datetime) -> None:
    """The definition, and the attribute's value on every contact that has one."""
    connection.execute(sa.delete(attribute_definitions).where(attribute_definitions.c.name == name))
    at = sa.bindparam("now", now, type_=UtcDateTime)
    if connection.dialect.name == "postgresql":
        sql = (
            "UPDATE contacts SET attributes = attributes - :key, modified_at = :now "
            "WHERE attributes ? :key"
        )
        connection.execute(sa.text(sql).bindparams(at, key=name))
        return
    sql = (
        "UPDATE contacts SET attributes = json_remove(attributes, :key), modified_at = :now "
        "WHERE json_type(attributes, :key) IS NOT NULL"
    )
    connection.execute(sa.text(sql).bindparams(at, key=f'$."{name}"'))
