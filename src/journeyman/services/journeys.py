"""Runs and journeys: pages of a workflow's or a contact's runs, and a contact's journey
(its runs, every step with the reason, the entries refused). Read transactions only."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import Connection

from journeyman.errors import NotFound
from journeyman.model.contacts import ContactView
from journeyman.services.context import Context
from journeyman.store import contact_records, read_transaction, reports
from journeyman.store import contacts as contact_store
from journeyman.store.reports import Journey

__all__ = [
    "ContactRef",
    "ContactView",
    "Journey",
    "Timeline",
    "contact_runs",
    "of_contact",
    "of_email",
    "timeline",
    "workflow_runs",
]

Page = tuple[list[dict[str, Any]], int]  # rows, and how many match


@dataclass(frozen=True, kw_only=True)
class ContactRef:
    """A contact as a request names it: the kind of identifier (``email_id``, ``contact_id``,
    ``ext_id``, ``phone_id``, ``whatsapp_id``), its value, and the text as written."""

    kind: str
    value: Any
    text: str


@dataclass(frozen=True, kw_only=True)
class Timeline:
    contact_id: int
    email: str | None
    journey: Journey


def workflow_runs(
    context: Context, key: str, *, status: str | None, limit: int, offset: int
) -> Page:
    """Workflow ``key``'s runs (NotFound for an unknown key), newest first."""
    with read_transaction(context.engine) as connection:
        where = reports.RunFilter(
            workflow_id=reports.workflow_id_txn(connection, key), status=status
        )
        return reports.runs_page_txn(connection, where, limit=limit, offset=offset)


def contact_runs(
    context: Context, contact: ContactRef, *, status: str | None, limit: int, offset: int
) -> Page:
    """The contact's runs (NotFound when it does not exist), newest first."""
    with read_transaction(context.engine) as connection:
        where = reports.RunFilter(contact_id=_resolve_txn(connection, contact), status=status)
        return reports.runs_page_txn(connection, where, limit=limit, offset=offset)


def timeline(context: Context, contact: ContactRef) -> Timeline:
    """The contact (NotFound when it does not exist) and its journey, in one snapshot."""
    with read_transaction(context.engine) as connection:
        contact_id = _resolve_txn(connection, contact)
        record = contact_records.contact_records_txn(connection, [contact_id])[0]
        journey = reports.journey_txn(connection, contact_id)
    return Timeline(contact_id=record.id, email=record.email, journey=journey)


def of_email(context: Context, email: str) -> tuple[ContactView | None, Journey | None]:
    """The contact with this (normalised) email and its journey; (None, None) if none."""
    with read_transaction(context.engine) as connection:
        contact = contact_store.contact_by_email_txn(connection, email)
        if contact is None:
            return None, None
        return contact, reports.journey_txn(connection, contact.id)


def of_contact(context: Context, contact_id: int) -> Journey:
    """The journey of the contact with this id."""
    with read_transaction(context.engine) as connection:
        return reports.journey_txn(connection, contact_id)


def _resolve_txn(connection: Connection, contact: ContactRef) -> int:
    found = contact_records.contact_ids_txn(connection, contact.kind, [contact.value])
    if not found:
        raise NotFound(f"Contact does not exist ({contact.kind} {contact.text})")
    return next(iter(found.values()))
