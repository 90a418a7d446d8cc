"""Contacts and attribute definitions: written, read for the engine, deleted."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any, NamedTuple

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from journeyman.errors import InvalidContact
from journeyman.model.contacts import AttributeDefinition, AttributeType, ContactView

# Re-exported: callers written when it was defined here import it from here.
from journeyman.model.contacts import ContactInput as ContactInput
from journeyman.model.effects import AddToAttribute, Blocklist, SetAttribute
from journeyman.store import fast, system_events
from journeyman.store.bulk import Bulk
from journeyman.store.dialects import one_of
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
    messages,
    run_log,
    runs,
    tasks,
    users,
)


def attribute_definitions_txn(connection: Connection) -> dict[str, AttributeDefinition]:
    rows = connection.execute(sa.select(attribute_definitions)).all()
    return {
        r.name: AttributeDefinition(
            name=r.name, type=AttributeType(r.type), allowed_values=tuple(r.allowed_values)
        )
        for r in rows
    }


def define_attribute_txn(connection: Connection, definition: AttributeDefinition) -> None:
    existing = attribute_definitions_txn(connection).get(definition.name)
    values = {"type": definition.type.value, "allowed_values": list(definition.allowed_values)}
    if existing is None:
        connection.execute(sa.insert(attribute_definitions).values(name=definition.name, **values))
    elif existing.type is not definition.type:
        raise InvalidContact(
            f"attribute {definition.name} is already defined as {existing.type.value}"
        )
    else:
        connection.execute(
            sa.update(attribute_definitions)
            .where(attribute_definitions.c.name == definition.name)
            .values(**values)
        )


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


def ids_by_email_txn(
    connection: Connection, emails: Iterable[str], *, key_share: bool = False
) -> dict[str, int]:
    rows = fast.rows_matching(
        connection, "contacts", ("email", "id"), "email", emails, key_share=key_share
    )
    return dict(rows)


def upsert_contacts_txn(
    connection: Connection, inputs: Sequence[ContactInput], now: dt.datetime
) -> tuple[int, int]:
    """Create new contacts and merge attributes into existing ones: (created, updated)."""
    merged: dict[str, ContactInput] = {}
    for item in inputs:  # the last row for an email wins, attributes merged
        before = merged.get(item.email)
        if before is not None:
            item = _merge(before, item)
        merged[item.email] = item
    existing = _load_by_email(connection, list(merged))
    bulk = Bulk(connection)
    at = bulk.time(now)
    new = [i for e, i in merged.items() if e not in existing]
    ids = bulk.allocate_ids(contacts, len(new))
    bulk.insert(
        contacts,
        ("id", "email", *_CHANGED, "created_at", "modified_at"),
        [(i, item.email, *_new_values(item), at, at) for i, item in zip(ids, new, strict=True)],
    )
    updates = [
        (*_updated_values(existing[e], i), at, existing[e].id)
        for e, i in merged.items()
        if e in existing
    ]
    bulk.update(contacts, (*_CHANGED, "modified_at"), updates)
    written = {email: item.attributes for email, item in merged.items()}
    system_events.upserted_txn(connection, written, existing, now)
    return len(new), len(updates)


def ensure_contacts_txn(
    connection: Connection, emails: Iterable[str], now: dt.datetime
) -> dict[str, int]:
    """Ids for these emails, creating the contacts that do not exist yet (in email order).

    The contacts found stay locked ``FOR KEY SHARE`` until the transaction ends, so rows
    written for them (events: no foreign key, migration 0011) cannot outlive a deletion:
    ``delete_contact_txn`` locks the contact first and so waits for this
    transaction, or this lookup waits for the deletion and then creates the contact anew."""
    wanted = set(emails)
    found = ids_by_email_txn(connection, wanted, key_share=True)
    missing = sorted(wanted - found.keys())
    if missing:
        created = _create_txn(connection, missing, now)
        found.update(created)
        if len(created) < len(missing):  # PostgreSQL: inserted meanwhile by another writer
            others = [e for e in missing if e not in created]
            found.update(ids_by_email_txn(connection, others, key_share=True))
        system_events.contacts_created_txn(connection, created.values(), now)
    return found


def _create_txn(connection: Connection, emails: list[str], now: dt.datetime) -> dict[str, int]:
    """Insert contacts with just an email: email -> id of those this transaction inserted.

    SQLite: the transaction holds the write lock, so none of them can appear meanwhile.
    PostgreSQL: a concurrent transaction may insert the same email; ``ON CONFLICT`` waits
    for it and skips the row if it commits (a unique violation otherwise), and the emails
    go in sorted order, so two such inserts cannot deadlock on each other.
    """
    bulk = Bulk(connection)
    at, empty = bulk.time(now), bulk.json({})
    if bulk.postgres:
        with bulk.cursor() as cursor:
            cursor.execute(
                "INSERT INTO contacts (email, attributes, created_at, modified_at) "
                "SELECT e, %s::jsonb, %s, %s FROM unnest(%s::text[]) AS e "
                "ON CONFLICT (email) DO NOTHING RETURNING email, id",
                (empty, at, at, emails),
            )
            return dict(cursor.fetchall())
    ids = bulk.allocate_ids(contacts, len(emails))
    bulk.insert(
        contacts,
        ("id", "email", "attributes", "created_at", "modified_at"),
        [(i, e, empty, at, at) for i, e in zip(ids, emails, strict=True)],
    )
    return dict(zip(emails, ids, strict=True))


def load_contacts_txn(connection: Connection, ids: Iterable[int]) -> dict[int, ContactView]:
    statement = sa.select(*_VIEW_COLUMNS).where(one_of(connection, contacts.c.id, ids))
    return {
        r[0]: ContactView(
            id=r[0],
            email=r[1],
            attributes=fast.json_value(r[2]) or {},
            sms=r[3],
            whatsapp=r[4],
            timezone=r[5],
            email_blocklisted=bool(r[6]),
            sms_blocklisted=bool(r[7]),
            owner_id=r[8],
        )
        for r in fast.rows(connection, statement)
    }


_VIEW_COLUMNS = (
    contacts.c.id,
    contacts.c.email,
    contacts.c.attributes,
    contacts.c.sms,
    contacts.c.whatsapp,
    contacts.c.timezone,
    contacts.c.email_blocklisted,
    contacts.c.sms_blocklisted,
    contacts.c.owner_id,
)


def contact_by_email_txn(connection: Connection, email: str) -> ContactView | None:
    row = connection.execute(sa.select(contacts).where(contacts.c.email == email)).first()
    return _view(row) if row else None


def count_contacts_txn(connection: Connection) -> int:
    return int(connection.execute(sa.select(sa.func.count()).select_from(contacts)).scalar_one())


def _view(row: Any) -> ContactView:
    return ContactView(
        id=row.id,
        email=row.email,
        attributes=row.attributes or {},
        sms=row.sms,
        whatsapp=row.whatsapp,
        timezone=row.timezone,
        email_blocklisted=row.email_blocklisted,
        sms_blocklisted=row.sms_blocklisted,
        owner_id=row.owner_id,
    )


def _merge(before: ContactInput, after: ContactInput) -> ContactInput:
    return ContactInput(
        email=after.email,
        attributes={**before.attributes, **after.attributes},
        sms=after.sms or before.sms,
        whatsapp=after.whatsapp or before.whatsapp,
        ext_id=after.ext_id or before.ext_id,
        timezone=after.timezone or before.timezone,
    )


class _Stored(NamedTuple):
    """What an upsert reads of an existing contact."""

    id: int
    email: str
    attributes: dict[str, Any]
    sms: str | None
    whatsapp: str | None
    ext_id: str | None
    timezone: str | None


_CHANGED = ("attributes", "sms", "whatsapp", "ext_id", "timezone")  # what an upsert writes


def _load_by_email(connection: Connection, emails: list[str]) -> dict[str, _Stored]:
    found = fast.rows_matching(connection, "contacts", _Stored._fields, "email", emails)
    return {r[1]: _Stored(r[0], r[1], fast.json_value(r[2]) or {}, *r[3:]) for r in found}


def _new_values(item: ContactInput) -> tuple[Any, ...]:
    attributes = {k: v for k, v in item.attributes.items() if v is not None}
    return (Bulk.json(attributes), item.sms, item.whatsapp, item.ext_id, item.timezone)


def _updated_values(row: _Stored, item: ContactInput) -> tuple[Any, ...]:
    attributes = dict(row.attributes)
    for key, value in item.attributes.items():
        if value is None:
            attributes.pop(key, None)
        else:
            attributes[key] = value
    return (
        Bulk.json(attributes),
        item.sms or row.sms,
        item.whatsapp or row.whatsapp,
        item.ext_id or row.ext_id,
        item.timezone or row.timezone,
    )


def change_attributes_txn(
    connection: Connection,
    sets: Sequence[SetAttribute],
    adds: Sequence[AddToAttribute],
    now: dt.datetime,
) -> None:
    """Set, clear and add to attributes inside the JSON column, in the database: an ``add``
    reads the stored value in the same statement, so concurrent adds all count."""
    system_events.attribute_changes_txn(connection, sets, adds, now)
    bulk = Bulk(connection)
    at, postgres = bulk.time(now), bulk.postgres
    path = (lambda name: [name]) if postgres else (lambda name: f'$."{name}"')
    mark = "%s" if postgres else "?"
    cleared = [(path(s.name), at, s.contact_id) for s in sets if s.value is None]
    written = [
        (path(s.name), orjson.dumps(s.value).decode(), at, s.contact_id)
        for s in sets
        if s.value is not None
    ]
    # PostgreSQL reads the old value by name (->>), SQLite by the same JSON path.
    added = [
        (path(a.name), a.name, a.name, _number(a.delta), at, a.contact_id)
        if postgres
        else (path(a.name), path(a.name), _number(a.delta), at, a.contact_id)
        for a in adds
    ]
    if postgres:
        set_sql = "jsonb_set(attributes, %s::text[], %s::jsonb)"
        clear_sql = "attributes #- %s::text[]"
        # A stored value that is not a number counts as 0 (as on SQLite), never an error.
        add_sql = (
            "jsonb_set(attributes, %s::text[], to_jsonb(CASE WHEN jsonb_typeof(attributes->%s) "
            "= 'number' THEN (attributes->>%s)::numeric ELSE 0 END + %s))"
        )
    else:
        set_sql = "json_set(attributes, ?, json(?))"
        clear_sql = "json_remove(attributes, ?)"
        add_sql = "json_set(attributes, ?, coalesce(json_extract(attributes, ?), 0) + ?)"
    tail = f", modified_at = {mark} WHERE id = {mark}"
    with bulk.cursor() as cursor:
        for sql, rows in (
            (f"UPDATE contacts SET attributes = {clear_sql}{tail}", cleared),
            (f"UPDATE contacts SET attributes = {set_sql}{tail}", written),
            (f"UPDATE contacts SET attributes = {add_sql}{tail}", added),
        ):
            if rows:
                cursor.executemany(sql, rows)


def _number(value: float) -> int | float:
    return int(value) if float(value).is_integer() else value


def blocklist_txn(connection: Connection, items: Sequence[Blocklist], now: dt.datetime) -> None:
    """Set the blocklist flags; a contact already blocklisted stays so."""
    for column in ("email_blocklisted", "sms_blocklisted"):
        ids = [b.contact_id for b in items if getattr(b, column.split("_")[0])]
        if ids:
            connection.execute(
                sa.update(contacts)
                .where(one_of(connection, contacts.c.id, ids))
                .values({column: True, "modified_at": now})
            )


def user_emails_txn(connection: Connection) -> dict[int, str]:
    """Team members: user id -> email (a small table, read once per pass)."""
    return {r[0]: r[1] for r in connection.execute(sa.select(users.c.id, users.c.email))}


def contact_page_txn(connection: Connection, after: int, size: int) -> list[tuple[int, str]]:
    """(id, email) of the next ``size`` contacts with an id above ``after``, in id order."""
    statement = (
        sa.select(contacts.c.id, contacts.c.email)
        .where(contacts.c.id > after)
        .order_by(contacts.c.id)
        .limit(size)
    )
    return [(r[0], r[1]) for r in connection.execute(statement)]


def set_blocklist_txn(
    connection: Connection,
    contact_ids: Sequence[int],
    *,
    email: bool | None,
    sms: bool | None,
    now: dt.datetime,
) -> None:
    """Set or clear the blocklist flags (None leaves a flag as it is); unlike
    :func:`blocklist_txn`, the API's flags can clear one."""
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
    holds it ``FOR KEY SHARE``, :func:`ensure_contacts_txn`) has committed before its
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
