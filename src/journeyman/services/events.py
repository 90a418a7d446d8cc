"""Events: recorded (creating unknown contacts), in groups of requests, and paged.

The server's writer (``api/group_commit.py``) hands the events of concurrent requests to
:func:`record_together`: one transaction for all of them, each request told about its own
refused events only.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.engine import Connection

from journeyman.errors import InvalidEvent, InvalidInput
from journeyman.model.contacts import ContactInput, normalize_email
from journeyman.model.events import EventRecord
from journeyman.services.context import Context
from journeyman.store import contacts, read_transaction, write
from journeyman.store import events as store

_EVENT_NAME = re.compile(r"^[A-Za-z0-9_.:-]{1,200}$")


@dataclass(frozen=True, kw_only=True)
class EventInput:
    """An event as it arrives: the contact by email, optional time and properties."""

    name: str
    email: str
    occurred_at: dt.datetime | None = None
    properties: Mapping[str, Any] = field(default_factory=dict)
    historical: bool = False
    source: str = "api"


@dataclass(frozen=True, kw_only=True)
class EventReport:
    ids: tuple[int, ...]
    rejected: tuple[tuple[int, str], ...] = ()  # (index in the input, reason)


def record(
    context: Context,
    inputs: Sequence[EventInput],
    *,
    contacts_first: Sequence[ContactInput] = (),
) -> EventReport:
    """Store the valid events (creating unknown contacts); report the others by index.

    ``contacts_first`` are created or updated in the same transaction, before the events,
    so that the workflows the events start see them (the API's ``contact_properties``).
    """
    valid: list[tuple[int, EventInput, str]] = []
    rejected: list[tuple[int, str]] = []
    for index, item in enumerate(inputs):
        try:
            valid.append((index, item, _check(item)))
        except InvalidInput as exc:
            rejected.append((index, str(exc)))
    now = context.clock.now()
    first = [dataclasses.replace(i, email=normalize_email(i.email)) for i in contacts_first]
    news = [(item, email) for _, item, email in valid]

    def store_txn(connection: Connection) -> list[int]:
        if first:
            contacts.upsert_contacts_txn(connection, first, now)
        ids = contacts.ensure_contacts_txn(connection, {email for _, email in news}, now)
        return store.record_events_txn(
            connection,
            [
                store.NewEvent(
                    name=item.name,
                    contact_id=ids[email],
                    occurred_at=item.occurred_at or now,
                    properties=item.properties,
                    source=item.source,
                    historical=item.historical,
                )
                for item, email in news
            ],
            now,
        )

    stored = write(context.engine, store_txn)  # run again if it lost a race to another writer
    return EventReport(ids=tuple(stored), rejected=tuple(rejected))


def _check(item: EventInput) -> str:
    if not _EVENT_NAME.match(item.name or ""):
        raise InvalidEvent(
            f"event name {item.name!r} is invalid: 1-200 letters, digits, '_', '.', ':', '-'"
        )
    if not isinstance(item.properties, Mapping):
        raise InvalidEvent("event properties must be an object")
    if item.occurred_at is not None and item.occurred_at.tzinfo is None:
        raise InvalidEvent(f"event time {item.occurred_at.isoformat()} has no time zone")
    return normalize_email(item.email)


@dataclass(frozen=True, kw_only=True)
class Submission:
    """One request's events (and the contact changes to make first)."""

    events: Sequence[EventInput]
    contacts: Sequence[ContactInput] = ()


def record_together(
    context: Context, submissions: Sequence[Submission]
) -> list[list[tuple[int, str]]]:
    """The submissions' contacts, then their events, in one transaction: for each
    submission the (index, reason) of its refused events. Raises what the transaction
    raised (nothing is stored then)."""
    events = [e for s in submissions for e in s.events]
    contacts_first = [c for s in submissions for c in s.contacts]
    report = record(context, events, contacts_first=contacts_first)
    refused: list[list[tuple[int, str]]] = [[] for _ in submissions]
    owner: list[tuple[int, int]] = [  # event index in ``events`` -> (submission, index)
        (n, i) for n, s in enumerate(submissions) for i in range(len(s.events))
    ]
    for index, reason in report.rejected:
        which, own_index = owner[index]
        refused[which].append((own_index, reason))
    return refused


def page(
    context: Context,
    *,
    limit: int,
    offset: int,
    contact_ids: Sequence[int] = (),
    names: Sequence[str] = (),
    start: dt.datetime | None = None,
    end: dt.datetime | None = None,
) -> tuple[list[EventRecord], int]:
    """A page of events, the latest first, and the total."""
    where = store.EventFilter(
        contact_ids=tuple(contact_ids), names=tuple(names), start=start, end=end
    )
    with read_transaction(context.engine) as connection:
        return store.page_events_txn(connection, where, limit=limit, offset=offset)
