"""What the dry-run simulator (:mod:`journeyman.simulation`) reads from the real store, writes
into its scratch one, and reads back from it when the run is over."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from journeyman.model.contacts import AttributeDefinition, ContactView
from journeyman.model.effects import Blocklist, JoinList
from journeyman.services.context import Context
from journeyman.store import (
    contacts,
    crm,
    events,
    lists,
    outbox,
    read_transaction,
    reports,
    transaction,
    workflows,
)
from journeyman.store import runs as run_store
from journeyman.store.contacts import ContactInput
from journeyman.store.reports import Journey

__all__ = ["ContactInput", "Outcome", "Source", "furnish_contact", "next_due", "outcome", "source"]


@dataclass(frozen=True, kw_only=True)
class Source:
    """What the scratch store gets from the real one, read from one snapshot."""

    definitions: dict[str, AttributeDefinition]
    contact: ContactView | None  # the stored contact with the email, if any
    lists: frozenset[str]  # the names of the lists it is in
    history: list[dict[str, Any]]  # its events received last: name, occurred_at, properties
    users: list[tuple[str, str]]  # (name, email), oldest first
    started: dict[str, Mapping[str, Any]]  # key -> current document, of those that exist


@dataclass(frozen=True, kw_only=True)
class Outcome:
    journey: Journey
    messages: list[dict[str, Any]]  # outbox rows of the contact, newest first
    texts: dict[int, str | None]  # message id -> its text part


def source(context: Context, email: str, started: Iterable[str], *, history: int) -> Source:
    """The attribute definitions, the users, the current documents of the workflows
    ``started`` names, and the contact with ``email``: its lists and ``history`` events."""
    with read_transaction(context.engine) as connection:
        contact = contacts.contact_by_email_txn(connection, email)
        documents = {k: workflows.current_definition_txn(connection, k) for k in started}
        memberships: frozenset[str] = frozenset()
        last: list[dict[str, Any]] = []
        if contact is not None:
            memberships = lists.memberships_txn(connection, [contact.id]).get(
                contact.id, frozenset()
            )
            last = events.last_events_of_contact_txn(connection, contact.id, history)
        return Source(
            definitions=contacts.attribute_definitions_txn(connection),
            contact=contact,
            lists=memberships,
            history=last,
            users=[(u["name"], u["email"]) for u in crm.list_users_txn(connection)],
            started={k: d for k, d in documents.items() if d},
        )


def furnish_contact(
    context: Context,
    contact: ContactInput,
    in_lists: Sequence[str],
    blocklisted: tuple[bool, bool],
    history: Sequence[Mapping[str, Any]],
) -> int:
    """Store the contact with its lists, blocklist flags (email, sms) and past events (as
    history: they start nothing) in one transaction; its id."""
    now = context.clock.now()
    with transaction(context.engine) as connection:
        contacts.upsert_contacts_txn(connection, [contact], now)
        contact_id = contacts.ids_by_email_txn(connection, [contact.email])[contact.email]
        if in_lists:
            lists.ensure_lists_txn(connection, in_lists, now)
            ids = lists.list_ids_txn(connection)
            joins = [JoinList(contact_id=contact_id, list_id=ids[n]) for n in in_lists]
            lists.join_lists_txn(connection, joins, now)
        if any(blocklisted):
            by_email, by_sms = blocklisted
            contacts.blocklist_txn(
                connection, [Blocklist(contact_id=contact_id, email=by_email, sms=by_sms)], now
            )
        events.record_events_txn(
            connection,
            [
                events.NewEvent(
                    name=e["name"],
                    contact_id=contact_id,
                    occurred_at=e["occurred_at"],
                    properties=e["properties"],
                    source="simulation",
                    historical=True,
                )
                for e in history
            ],
            now,
        )
    return contact_id


def next_due(context: Context) -> dt.datetime | None:
    """The earliest time something is due: a run inside (a delay, a wait's timeout, a
    window) or a message not sent yet (a retry, quiet hours)."""
    with read_transaction(context.engine) as connection:
        found = [run_store.next_due_txn(connection), outbox.next_attempt_txn(connection)]
    times = [t for t in found if t is not None]
    return min(times) if times else None


def outcome(context: Context, contact_id: int, email: str) -> Outcome:
    """The contact's journey and the messages made for it (up to 1,000), with their texts."""
    with read_transaction(context.engine) as connection:
        journey = reports.journey_txn(connection, contact_id)
        rows, _ = reports.messages_page_txn(
            connection, reports.MessageFilter(contact_email=email), limit=1000, offset=0
        )
        texts = {r["id"]: reports.message_txn(connection, r["id"]).get("text") for r in rows}
    return Outcome(journey=journey, messages=rows, texts=texts)
