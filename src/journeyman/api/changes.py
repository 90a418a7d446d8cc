"""Contact changes as the API receives them: naming a contact, checking a change, applying it.

Creating and updating go through the store's ``upsert_contacts_txn`` (as ``App.upsert_contacts``)
and list memberships through ``join_lists_txn`` / ``leave_lists_txn``: the verbs the CLI and
the engine use, which record the system events (``contact_created``, ``attribute_changed``,
``list_added`` ...) that start workflows. A request's changes are checked and written in one
transaction (``store.write``: run again if it lost a race for a new email on PostgreSQL).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy.engine import Connection

from journeyman.api import limits
from journeyman.api.errors import DocumentNotFound, DuplicateParameter, InvalidParameter
from journeyman.app import App
from journeyman.model.contacts import (
    AttributeDefinition,
    AttributeType,
    coerce_attributes,
    normalize_email,
    normalize_phone,
)
from journeyman.model.effects import JoinList, LeaveList
from journeyman.store import api_reads, api_writes, read_transaction, write
from journeyman.store import contacts as contact_store
from journeyman.store import lists as list_store
from journeyman.store.contacts import ContactInput

FIELDS = ("EMAIL", "SMS", "WHATSAPP", "EXT_ID", "TIMEZONE")
_DIGITS = re.compile(r"^\d{1,18}$")
ZONE_LENGTH = 64  # the longest IANA name is 32


@dataclass(frozen=True, kw_only=True)
class ContactChange:
    """One contact's change, validated: an upsert by email, then flags and memberships."""

    contact: ContactInput
    new_email: str | None = None
    email_blocklisted: bool | None = None
    sms_blocklisted: bool | None = None
    join: tuple[int, ...] = ()
    leave: tuple[int, ...] = ()


def contact_input(
    email: str,
    values: Mapping[str, Any] | None,
    definitions: Mapping[str, AttributeDefinition],
    *,
    ext_id: str | None = None,
    keep_empty: bool = False,
) -> tuple[ContactInput, str | None]:
    """The contact to upsert from Brevo's ``attributes`` (SMS, WHATSAPP, EXT_ID and EMAIL are
    fields), and the new email an ``EMAIL`` attribute asks for. Empty values clear an
    attribute when ``keep_empty``, else they are ignored."""
    given = {str(k).upper(): v for k, v in (values or {}).items()}
    fields = {name: given.pop(name, None) for name in FIELDS}
    if not keep_empty:
        given = {k: v for k, v in given.items() if v is not None and v != ""}
    new_email = normalize_email(str(fields["EMAIL"])) if fields["EMAIL"] else None
    sms, whatsapp, zone = fields["SMS"], fields["WHATSAPP"], fields["TIMEZONE"]
    contact = ContactInput(
        email=normalize_email(email),
        attributes=coerce_attributes(definitions, _category_labels(definitions, given)),
        sms=normalize_phone(str(sms), field_name="SMS") if sms else None,
        whatsapp=normalize_phone(str(whatsapp), field_name="WHATSAPP") if whatsapp else None,
        ext_id=_ext_id(ext_id or fields["EXT_ID"]),
        timezone=_timezone(zone) if zone else None,
    )
    return contact, new_email if new_email != contact.email else None


def _category_labels(
    definitions: Mapping[str, AttributeDefinition], values: Mapping[str, Any]
) -> dict[str, Any]:
    """Brevo sets a category attribute by the number of its value (1, 2 ...) or its label."""
    result = dict(values)
    for name, value in values.items():
        definition = definitions.get(name)
        if (
            definition is not None
            and definition.type is AttributeType.CATEGORY
            and isinstance(value, int)
            and not isinstance(value, bool)
            and 1 <= value <= len(definition.allowed_values)
        ):
            result[name] = definition.allowed_values[value - 1]
    return result


def _ext_id(value: Any) -> str | None:
    text = str(value or "") or None
    if text is not None and len(text) > limits.NAME_LENGTH:
        raise InvalidParameter(f"ext_id: at most {limits.NAME_LENGTH} characters")
    return text


def _timezone(value: Any) -> str:
    try:
        if len(str(value)) > ZONE_LENGTH:
            raise ValueError(value)
        ZoneInfo(str(value))
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise InvalidParameter(f"TIMEZONE {value!r:.100} is not an IANA time zone name") from None
    return str(value)


def identifier_kind(identifier: str, identifier_type: str | None) -> str:
    """Brevo's ``identifierType``, or what the identifier looks like: an email, an id, a
    phone number, else an ext_id."""
    if identifier_type is not None:
        if identifier_type not in api_reads.IDENTIFIER_COLUMNS:
            known = ", ".join(api_reads.IDENTIFIER_COLUMNS)
            raise InvalidParameter(f"identifierType: {identifier_type!r} is not one of {known}")
        return identifier_type
    if "@" in identifier:
        return "email_id"
    if _DIGITS.match(identifier):
        return "contact_id"
    if identifier.startswith("+"):
        return "phone_id"
    return "ext_id"


def identifier_value(kind: str, identifier: Any) -> Any:
    text = str(identifier).strip()
    if kind == "contact_id":
        if not _DIGITS.match(text):
            raise InvalidParameter(f"contact id {identifier!r} is not a number")
        return int(text)
    if kind == "email_id":
        return text.lower()
    if kind in ("phone_id", "whatsapp_id"):
        return normalize_phone(text, field_name="phone number")
    return text


def resolve_txn(connection: Connection, identifier: Any, identifier_type: str | None) -> int:
    """The id of the contact the identifier names, or :class:`DocumentNotFound`."""
    kind = identifier_kind(str(identifier), identifier_type)
    value = identifier_value(kind, identifier)
    found = api_reads.contact_ids_txn(connection, kind, [value])
    if not found:
        raise DocumentNotFound(f"Contact does not exist ({kind} {identifier})")
    return next(iter(found.values()))


def email_of(app: App, contact_id: int) -> str:
    with read_transaction(app.engine) as connection:
        records = api_reads.contact_records_txn(connection, [contact_id])
    if not records or not records[0].email:
        raise DocumentNotFound(f"Contact does not exist (contact_id {contact_id})")
    return records[0].email


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
            raise DuplicateParameter(conflict)
    wanted = {i for c in changes for i in (*c.join, *c.leave)}
    missing = sorted(wanted - api_reads.existing_list_ids_txn(connection, wanted))
    if missing:
        raise InvalidParameter(f"listIds: list(s) {', '.join(map(str, missing))} do not exist")
    owners = contact_store.ids_by_email_txn(connection, [c.contact.email for c in changes])
    for kind, values in (
        ("ext_id", [(c.contact.email, c.contact.ext_id) for c in changes]),
        ("phone_id", [(c.contact.email, c.contact.sms) for c in changes]),
        ("email_id", [(c.contact.email, c.new_email) for c in changes]),
    ):
        taken = api_reads.contact_ids_txn(connection, kind, [v for _, v in values if v])
        for email, value in values:
            if value and value in taken and taken[value] != owners.get(email):
                name = {"ext_id": "ext_id", "phone_id": "SMS", "email_id": "EMAIL"}[kind]
                raise DuplicateParameter(
                    f"{name} {value!r} is already associated with another contact"
                )


def apply(
    app: App, changes: Sequence[ContactChange], *, refuse_existing: bool = False
) -> tuple[int, int]:
    """Check, then write, in one transaction: (created, updated). With ``refuse_existing``
    an email that names a contact already is a :class:`DuplicateParameter` (creating
    without ``updateEnabled``), decided in the same transaction as the write, so of two
    requests racing to create one contact exactly one succeeds."""
    if not changes:
        return 0, 0
    now = app.clock.now()
    return write(app.engine, lambda c: _apply_txn(c, changes, now, refuse_existing))


def _apply_txn(
    connection: Connection,
    changes: Sequence[ContactChange],
    now: dt.datetime,
    refuse_existing: bool,
) -> tuple[int, int]:
    check_txn(connection, changes)
    created, updated = contact_store.upsert_contacts_txn(
        connection, [c.contact for c in changes], now
    )
    if refuse_existing and updated:  # decided by the write itself (the transaction is undone)
        raise DuplicateParameter(
            "Unable to create contact, email is already associated with another Contact"
        )
    emails = [c.contact.email for c in changes]
    ids = contact_store.ids_by_email_txn(connection, emails)
    for change in changes:
        contact_id = ids[change.contact.email]
        if change.new_email:
            api_writes.change_email_txn(connection, contact_id, change.new_email, now)
        api_writes.set_blocklist_txn(
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
