"""Contacts: created, changed, found by any identifier, read, paged and deleted.

Creating and updating go through the store's ``upsert_contacts_txn`` and list memberships
through ``join_lists_txn`` / ``leave_lists_txn``: the verbs the engine uses too, which record
the system events (``contact_created``, ``attribute_changed``, ``list_added`` ...) that start
workflows. A request's changes are checked and written in one transaction (``store.write``:
run again if it lost a race for a new email on PostgreSQL).
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any

from sqlalchemy.engine import Connection

from journeyman.errors import Duplicate, InvalidContact, InvalidInput, NotFound
from journeyman.model.contacts import (
    AttributeDefinition,
    AttributeType,
    ContactInput,
    ContactRecord,
    coerce_attribute,
    identifier_kind,
    identifier_value,
    normalize_email,
)
from journeyman.model.effects import JoinList, LeaveList
from journeyman.services.context import Context
from journeyman.store import contact_records, read_transaction, transaction, write
from journeyman.store import contacts as store
from journeyman.store import lists as list_store
from journeyman.store.contact_search import AttributeFilter, Op


@dataclass(frozen=True, kw_only=True)
class ContactChange:
    """One contact's change, validated: an upsert by email, then flags and memberships."""

    contact: ContactInput
    new_email: str | None = None
    email_blocklisted: bool | None = None
    sms_blocklisted: bool | None = None
    join: tuple[int, ...] = ()
    leave: tuple[int, ...] = ()


def upsert(context: Context, inputs: Sequence[ContactInput]) -> tuple[int, int]:
    """Create or update contacts by email (case-insensitive): (created, updated)."""
    normalized = [dataclasses.replace(i, email=normalize_email(i.email)) for i in inputs]
    now = context.clock.now()
    return write(context.engine, lambda c: store.upsert_contacts_txn(c, normalized, now))


def resolve_txn(connection: Connection, identifier: Any, identifier_type: str | None) -> int:
    """The id of the contact the identifier names (an email, id, phone number or ext_id;
    ``identifier_type`` says which, else what it looks like), or :class:`NotFound`."""
    kind = identifier_kind(str(identifier), identifier_type)
    value = identifier_value(kind, identifier)
    found = contact_records.contact_ids_txn(connection, kind, [value])
    if not found:
        raise NotFound(f"Contact does not exist ({kind} {identifier})")
    return next(iter(found.values()))


def resolve(context: Context, identifier: Any, identifier_type: str | None) -> int:
    with read_transaction(context.engine) as connection:
        return resolve_txn(connection, identifier, identifier_type)


def ids_by(context: Context, kind: str, values: Iterable[Any]) -> dict[Any, int]:
    """Identifier value -> contact id, for the values of ``kind`` that name a contact."""
    with read_transaction(context.engine) as connection:
        return contact_records.contact_ids_txn(connection, kind, values)


def id_of(context: Context, email: str) -> int:
    """The id of the contact with this (normalized) email address."""
    with read_transaction(context.engine) as connection:
        return store.ids_by_email_txn(connection, [email])[email]


def existing_emails(context: Context, emails: Iterable[str]) -> set[str]:
    """Those of the (normalized) emails that a contact has."""
    with read_transaction(context.engine) as connection:
        return set(store.ids_by_email_txn(connection, emails))


def record(context: Context, identifier: Any, identifier_type: str | None) -> ContactRecord:
    """The contact the identifier names, with its lists."""
    with read_transaction(context.engine) as connection:
        contact_id = resolve_txn(connection, identifier, identifier_type)
        return contact_records.contact_records_txn(connection, [contact_id])[0]


def email_of(context: Context, contact_id: int) -> str:
    with read_transaction(context.engine) as connection:
        records = contact_records.contact_records_txn(connection, [contact_id])
    if not records or not records[0].email:
        raise NotFound(f"Contact does not exist (contact_id {contact_id})")
    return records[0].email


def page(
    context: Context,
    *,
    limit: int,
    offset: int,
    ascending: bool = False,
    modified_since: dt.datetime | None = None,
    created_since: dt.datetime | None = None,
    list_ids: Sequence[int] = (),
    ids: Sequence[int] = (),
    equals: Sequence[tuple[str, Any]] = (),
) -> tuple[list[ContactRecord], int]:
    """A page of contacts (newest first unless ``ascending``) and the total. ``equals``:
    (attribute or ``EMAIL``, value) pairs every contact of the page matches; a category
    attribute matches by label or by the number of its value (Brevo's filter)."""
    with read_transaction(context.engine) as connection:
        email: str | None = None
        found: list[AttributeFilter] = []
        definitions = store.attribute_definitions_txn(connection)
        for name, value in equals:
            if name.upper() == "EMAIL":
                email = normalize_email(str(value))
            else:
                found.append(_equals(definitions, name.upper(), value))
        where = contact_records.ContactFilter(
            modified_since=modified_since,
            created_since=created_since,
            list_ids=tuple(list_ids),
            ids=tuple(ids),
            email=email,
            attributes=tuple(found),
        )
        return contact_records.page_contacts_txn(
            connection, where, limit=limit, offset=offset, ascending=ascending
        )


def _equals(
    definitions: Mapping[str, AttributeDefinition], name: str, value: Any
) -> AttributeFilter:
    """``name`` equals ``value``, typed as the attribute is, or :class:`InvalidInput`."""
    definition = definitions.get(name)
    if definition is None:
        known = ", ".join(["EMAIL", *sorted(definitions)])
        raise InvalidInput(f"filter: no attribute {name!r} (known: {known})")
    if definition.type is AttributeType.CATEGORY:
        allowed = definition.allowed_values
        text = str(value).strip()
        if text.isdigit() and 1 <= int(text) <= len(allowed):
            text = allowed[int(text) - 1]
        return AttributeFilter(name=name, type=definition.type, op=Op.EQ, value=text)
    try:
        typed = coerce_attribute(definition, value)
    except InvalidContact as exc:
        raise InvalidInput(f"filter: {exc}") from None
    if typed is None:
        raise InvalidInput(f"filter: {name} needs a value")
    if definition.type is AttributeType.NUMBER:
        typed = float(typed)
    return AttributeFilter(name=name, type=definition.type, op=Op.EQ, value=typed)


def delete(context: Context, identifier: Any, identifier_type: str | None) -> None:
    """The contact with its events, runs and memberships (its sent messages stay)."""
    with transaction(context.engine) as connection:
        store.delete_contact_txn(connection, resolve_txn(connection, identifier, identifier_type))


class Claims:
    """The ext_id, SMS and new emails the changes of one request give to contacts: the
    database holds each for one contact only, so two contacts claiming one value are
    refused before anything is written."""

    def __init__(self) -> None:
        self._owners: dict[tuple[str, str], str] = {}

    def conflict(self, change: ContactChange) -> str | None:
        """Why ``change`` cannot join the changes seen so far; None when it can (and is
        recorded)."""
        claimed = [
            (name, value)
            for name, value in (
                ("ext_id", change.contact.ext_id),
                ("SMS", change.contact.sms),
                ("EMAIL", change.new_email),
            )
            if value
        ]
        email = change.contact.email
        for name, value in claimed:
            owner = self._owners.get((name, value), email)
            if owner != email:
                return (
                    f"{name} {value!r} is given to two contacts in this request ({owner}, {email})"
                )
        self._owners.update({key: email for key in claimed})
        return None


def check_txn(connection: Connection, changes: Sequence[ContactChange]) -> None:
    """Lists exist; ext_id, SMS and new emails belong to no other contact, in the database
    or in ``changes``."""
    claims = Claims()
    for change in changes:
        conflict = claims.conflict(change)
        if conflict is not None:
            raise Duplicate(conflict)
    wanted = {i for c in changes for i in (*c.join, *c.leave)}
    missing = sorted(wanted - list_store.existing_list_ids_txn(connection, wanted))
    if missing:
        raise InvalidInput(f"listIds: list(s) {', '.join(map(str, missing))} do not exist")
    owners = store.ids_by_email_txn(connection, [c.contact.email for c in changes])
    for kind, values in (
        ("ext_id", [(c.contact.email, c.contact.ext_id) for c in changes]),
        ("phone_id", [(c.contact.email, c.contact.sms) for c in changes]),
        ("email_id", [(c.contact.email, c.new_email) for c in changes]),
    ):
        taken = contact_records.contact_ids_txn(connection, kind, [v for _, v in values if v])
        for email, value in values:
            if value and value in taken and taken[value] != owners.get(email):
                name = {"ext_id": "ext_id", "phone_id": "SMS", "email_id": "EMAIL"}[kind]
                raise Duplicate(f"{name} {value!r} is already associated with another contact")


def apply(
    context: Context, changes: Sequence[ContactChange], *, refuse_existing: bool = False
) -> tuple[int, int]:
    """Check, then write, in one transaction: (created, updated). With ``refuse_existing``
    an email that names a contact already is a :class:`Duplicate` (creating without
    ``updateEnabled``), decided in the same transaction as the write, so of two requests
    racing to create one contact exactly one succeeds."""
    if not changes:
        return 0, 0
    now = context.clock.now()
    return write(context.engine, lambda c: _apply_txn(c, changes, now, refuse_existing))


def _apply_txn(
    connection: Connection,
    changes: Sequence[ContactChange],
    now: dt.datetime,
    refuse_existing: bool,
) -> tuple[int, int]:
    check_txn(connection, changes)
    created, updated = store.upsert_contacts_txn(connection, [c.contact for c in changes], now)
    if refuse_existing and updated:  # decided by the write itself (the transaction is undone)
        raise Duplicate(
            "Unable to create contact, email is already associated with another Contact"
        )
    emails = [c.contact.email for c in changes]
    ids = store.ids_by_email_txn(connection, emails)
    for change in changes:
        contact_id = ids[change.contact.email]
        if change.new_email:
            store.change_email_txn(connection, contact_id, change.new_email, now)
        store.set_blocklist_txn(
            connection,
            [contact_id],
            email=change.email_blocklisted,
            sms=change.sms_blocklisted,
            now=now,
        )
    joins = [JoinList(contact_id=ids[c.contact.email], list_id=i) for c in changes for i in c.join]
    leaves = [
        LeaveList(contact_id=ids[c.contact.email], list_id=i) for c in changes for i in c.leave
    ]
    # Both record list_added / list_removed only for memberships that really change.
    list_store.join_lists_txn(connection, list(dict.fromkeys(joins)), now)
    list_store.leave_lists_txn(connection, list(dict.fromkeys(leaves)), now)
    return created, updated


class Lookups:
    """Reads made while preparing a request (the contact an identifier names, checks of
    contact changes), in one read transaction opened on first use: most requests need none.
    Use it as a context manager; the transaction ends with it."""

    def __init__(self, context: Context) -> None:
        self._context = context
        self._stack = contextlib.ExitStack()
        self._connection: Connection | None = None

    def __enter__(self) -> Lookups:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._stack.close()

    def _txn(self) -> Connection:
        if self._connection is None:
            self._connection = self._stack.enter_context(read_transaction(self._context.engine))
        return self._connection

    def email(self, identifier: Any, kind: str) -> str:
        """The email address of the contact the identifier of ``kind`` names."""
        connection = self._txn()
        contact_id = resolve_txn(connection, identifier, kind)
        found = contact_records.contact_records_txn(connection, [contact_id])[0]
        if found.email is None:
            raise NotFound(f"contact {contact_id} has no email address")
        return found.email

    def check(self, changes: Sequence[ContactChange]) -> None:
        """:func:`check_txn`, in this transaction."""
        check_txn(self._txn(), changes)
