"""Contacts as the API shows them: found by any identifier, read with their lists, paged.

Pages are (records, total count); the API turns them into Brevo's wire format.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from journeyman.model.contacts import ContactRecord
from journeyman.store.contact_search import AttributeFilter, attribute_condition
from journeyman.store.schema import contacts, list_members

# The column each kind of identifier (``model.contacts.IDENTIFIER_KINDS``) names.
IDENTIFIER_COLUMNS: Mapping[str, sa.Column[Any]] = {
    "email_id": contacts.c.email,
    "contact_id": contacts.c.id,
    "ext_id": contacts.c.ext_id,
    "phone_id": contacts.c.sms,
    "whatsapp_id": contacts.c.whatsapp,
}


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
    email: str | None = None  # lower case
    attributes: tuple[AttributeFilter, ...] = ()


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
    if where.email is not None:
        conditions.append(contacts.c.email == where.email)
    dialect = connection.dialect.name
    conditions += [attribute_condition(dialect, f) for f in where.attributes]
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
