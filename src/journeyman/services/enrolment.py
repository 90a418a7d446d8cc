"""Manual enrolment: contacts by email, list or segment (a condition evaluated now) queued
for a workflow's entry, on the engine's next tick."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import TypeAdapter, ValidationError

from journeyman.conditions import Condition, evaluate, needs_of
from journeyman.engine.facts import load_facts_txn
from journeyman.errors import InvalidInput
from journeyman.model.contacts import normalize_email
from journeyman.model.subjects import Probe
from journeyman.services.context import Context
from journeyman.store import contacts, read_transaction, system_events, transaction


def enrol(
    context: Context,
    key: str,
    *,
    emails: Sequence[str] = (),
    lists: Sequence[str] = (),
    segment: Mapping[str, Any] | None = None,
) -> int:
    """Manual enrolment into active workflow ``key`` of the contacts with these emails,
    the members of these lists and the contacts matching ``segment`` (a condition), as
    its re-entry rules allow (on the next engine tick). The number of contacts; unknown
    workflows, contacts and lists are refused."""
    wanted = [normalize_email(e) for e in emails]
    if segment is not None:
        wanted += segment_emails(context, segment)
    with transaction(context.engine) as connection:
        return system_events.enrol_manually_txn(
            connection, key, wanted, list(lists), context.clock.now()
        )


def segment_emails(context: Context, segment: Mapping[str, Any], *, page: int = 1000) -> list[str]:
    """The emails of the contacts that match a condition now (read page by page, each in a
    read transaction, facts loaded with one query per kind and page)."""
    try:
        condition = TypeAdapter(Condition).validate_python(dict(segment))
    except ValidationError as exc:
        raise InvalidInput(f"the segment is not a valid condition: {exc}") from None
    needs = needs_of(condition)
    found: list[str] = []
    after = 0
    while True:
        with read_transaction(context.engine) as connection:
            page_rows = contacts.contact_page_txn(connection, after, page)
            if not page_rows:
                return found
            subjects = [Probe(key=i, contact_id=i) for i, _ in page_rows]
            facts = load_facts_txn(
                connection,
                needs,
                subjects,
                context.clock.now(),
                default_timezone=context.settings.default_timezone,
            )
        emails = dict(page_rows)
        found += [
            emails[s.contact_id]
            for s, f in zip(subjects, facts, strict=True)
            if evaluate(condition, f).result and emails[s.contact_id]
        ]
        after = page_rows[-1][0]
