"""Reads the HTTP API answers with: contacts with their lists, pages of lists and events.

Pages are (rows, total count); the API layer turns them into Brevo's wire format.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from journeyman.store.schema import (
    contacts,
    events,
    list_members,
    lists,
    workflow_versions,
    workflows,
)

# How an identifier names a contact (Brevo's ``identifierType`` values) -> the column.
IDENTIFIER_COLUMNS: Mapping[str, sa.Column[Any]] = {
    "email_id": contacts.c.email,
    "contact_id": contacts.c.id,
    "ext_id": contacts.c.ext_id,
    "phone_id": contacts.c.sms,
    "whatsapp_id": contacts.c.whatsapp,
}


@dataclass(frozen=True, kw_only=True)
class ContactRecord:
    id: int
    email: str | None
    attributes: Mapping[str, Any]
    sms: str | None
    whatsapp: str | None
    ext_id: str | None
    email_blocklisted: bool
    sms_blocklisted: bool
    created_at: dt.datetime
    modified_at: dt.datetime
    list_ids: tuple[int, ...] = ()


@dataclass(frozen=True, kw_only=True)
class ListRecord:
    id: int
    name: str
    folder: str | None
    created_at: dt.datetime
    members: int
    blocklisted: int


@dataclass(frozen=True, kw_only=True)
class EventRecord:
    id: int
    name: str
    contact_id: int
    occurred_at: dt.datetime
    properties: Mapping[str, Any]


def contact_ids_txn(connection: Connection, kind: str, values: Iterable[Any]) -> dict[Any, int]:
    """Identifier value -> contact id, for the values that name a contact (``kind`` is a key
    of :data:`IDENTIFIER_COLUMNS`)."""
    column = IDENTIFIER_COLUMNS[kind]
    wanted = sorted(set(values))
    if not wanted:
        return {}
    rows = connection.execute(sa.select(column, contacts.c.id).where(column.in_(wanted)))
    return {r[0]: r[1] for r in rows}


def contact_records_txn(connection: Connection, ids: Sequence[int]) -> list[ContactRecord]:
    """The contacts with these ids, in that order (ids without a contact are left out)."""
    if not ids:
        return []
    rows = connection.execute(sa.select(contacts).where(contacts.c.id.in_(sorted(set(ids)))))
    found = {r.id: r for r in rows}
    memberships: dict[int, list[int]] = {}
    statement = (
        sa.select(list_members.c.contact_id, list_members.c.list_id)
        .where(list_members.c.contact_id.in_(sorted(found)))
        .order_by(list_members.c.list_id)
    )
    for contact_id, list_id in connection.execute(statement):
        memberships.setdefault(contact_id, []).append(list_id)
    return [_record(found[i], memberships.get(i, ())) for i in ids if i in found]


def _record(row: Any, list_ids: Iterable[int]) -> ContactRecord:
    return ContactRecord(
        id=row.id,
        email=row.email,
        attributes=row.attributes or {},
        sms=row.sms,
        whatsapp=row.whatsapp,
        ext_id=row.ext_id,
        email_blocklisted=bool(row.email_blocklisted),
        sms_blocklisted=bool(row.sms_blocklisted),
        created_at=row.created_at,
        modified_at=row.modified_at,
        list_ids=tuple(list_ids),
    )


@dataclass(frozen=True, kw_only=True)
class ContactFilter:
    modified_since: dt.datetime | None = None
    created_since: dt.datetime | None = None
    list_ids: tuple[int, ...] = ()
    ids: tuple[int, ...] = ()


def page_contacts_txn(
    connection: Connection,
    where: ContactFilter,
    *,
    limit: int,
    offset: int,
    ascending: bool = False,
) -> tuple[list[ContactRecord], int]:
    """A page of contacts (by creation, newest first unless ``ascending``) and the total."""
    conditions: list[sa.ColumnElement[bool]] = []
    if where.modified_since is not None:
        conditions.append(contacts.c.modified_at >= where.modified_since)
    if where.created_since is not None:
        conditions.append(contacts.c.created_at >= where.created_since)
    if where.ids:
        conditions.append(contacts.c.id.in_(where.ids))
    if where.list_ids:
        members = sa.select(list_members.c.contact_id).where(
            list_members.c.list_id.in_(where.list_ids)
        )
        conditions.append(contacts.c.id.in_(members))
    total = connection.execute(
        sa.select(sa.func.count()).select_from(contacts).where(*conditions)
    ).scalar_one()
    order = contacts.c.id.asc() if ascending else contacts.c.id.desc()
    statement = sa.select(contacts.c.id).where(*conditions).order_by(order)
    ids = list(connection.execute(statement.limit(limit).offset(offset)).scalars())
    return contact_records_txn(connection, ids), int(total)


def _list_statement() -> sa.Select[Any]:
    members = (
        sa.select(sa.func.count())
        .where(list_members.c.list_id == lists.c.id)
        .scalar_subquery()
        .label("members")
    )
    blocklisted = (
        sa.select(sa.func.count())
        .select_from(list_members.join(contacts))
        .where(list_members.c.list_id == lists.c.id, contacts.c.email_blocklisted)
        .scalar_subquery()
        .label("blocklisted")
    )
    return sa.select(
        lists.c.id, lists.c.name, lists.c.folder, lists.c.created_at, members, blocklisted
    )


def _list_record(row: Any) -> ListRecord:
    return ListRecord(
        id=row.id,
        name=row.name,
        folder=row.folder,
        created_at=row.created_at,
        members=int(row.members),
        blocklisted=int(row.blocklisted),
    )


def page_lists_txn(
    connection: Connection, *, limit: int, offset: int, ascending: bool = False
) -> tuple[list[ListRecord], int]:
    total = connection.execute(sa.select(sa.func.count()).select_from(lists)).scalar_one()
    order = lists.c.id.asc() if ascending else lists.c.id.desc()
    statement = _list_statement().order_by(order).limit(limit).offset(offset)
    return [_list_record(r) for r in connection.execute(statement)], int(total)


def list_record_txn(connection: Connection, list_id: int) -> ListRecord | None:
    row = connection.execute(_list_statement().where(lists.c.id == list_id)).first()
    return None if row is None else _list_record(row)


def existing_list_ids_txn(connection: Connection, ids: Iterable[int]) -> set[int]:
    wanted = sorted(set(ids))
    if not wanted:
        return set()
    return set(connection.execute(sa.select(lists.c.id).where(lists.c.id.in_(wanted))).scalars())


def list_members_txn(connection: Connection, list_id: int, contact_ids: Iterable[int]) -> set[int]:
    """Which of these contacts are in the list."""
    wanted = sorted(set(contact_ids))
    if not wanted:
        return set()
    statement = sa.select(list_members.c.contact_id).where(
        list_members.c.list_id == list_id, list_members.c.contact_id.in_(wanted)
    )
    return set(connection.execute(statement).scalars())


def all_members_txn(connection: Connection, list_id: int) -> list[int]:
    statement = sa.select(list_members.c.contact_id).where(list_members.c.list_id == list_id)
    return list(connection.execute(statement).scalars())


@dataclass(frozen=True, kw_only=True)
class EventFilter:
    contact_ids: tuple[int, ...] = ()
    names: tuple[str, ...] = ()
    start: dt.datetime | None = None
    end: dt.datetime | None = None


def page_events_txn(
    connection: Connection, where: EventFilter, *, limit: int, offset: int
) -> tuple[list[EventRecord], int]:
    """A page of events, the latest first, and the total."""
    conditions: list[sa.ColumnElement[bool]] = []
    if where.contact_ids:
        conditions.append(events.c.contact_id.in_(where.contact_ids))
    if where.names:
        conditions.append(events.c.name.in_(where.names))
    if where.start is not None:
        conditions.append(events.c.occurred_at >= where.start)
    if where.end is not None:
        conditions.append(events.c.occurred_at <= where.end)
    total = connection.execute(
        sa.select(sa.func.count()).select_from(events).where(*conditions)
    ).scalar_one()
    statement = (
        sa.select(events)
        .where(*conditions)
        .order_by(events.c.occurred_at.desc(), events.c.id.desc())
        .limit(limit)
        .offset(offset)
    )
    found = [
        EventRecord(
            id=r.id,
            name=r.name,
            contact_id=r.contact_id,
            occurred_at=r.occurred_at,
            properties=r.properties or {},
        )
        for r in connection.execute(statement)
    ]
    return found, int(total)


def workflow_documents_txn(connection: Connection) -> dict[str, Mapping[str, Any]]:
    """Key -> current definition of every workflow that is not stopped (what may still act on
    lists and attributes by name)."""
    statement = (
        sa.select(workflows.c.key, workflow_versions.c.definition)
        .join(workflow_versions, workflow_versions.c.id == workflows.c.current_version_id)
        .where(workflows.c.status != "stopped")
    )
    return {r.key: r.definition for r in connection.execute(statement)}
