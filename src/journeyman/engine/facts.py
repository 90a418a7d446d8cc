"""Loading what a group of runs needs, with a constant number of queries per group."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy.engine import Connection

from journeyman.conditions import Facts
from journeyman.conditions.rules import Needs
from journeyman.model.contacts import ContactView
from journeyman.model.runs import RunView
from journeyman.steps.base import StepItem
from journeyman.store import contacts, events, lists

NO_FACTS = Facts()


def load_items_txn(
    connection: Connection, needs: Needs, group: Sequence[RunView], now: dt.datetime
) -> list[StepItem]:
    contact_ids = [r.contact_id for r in group]
    views: dict[int, ContactView] = {}
    if needs.contact:
        views = contacts.load_contacts_txn(connection, contact_ids)
    memberships: dict[int, frozenset[str]] = {}
    if needs.lists:
        memberships = lists.memberships_txn(connection, contact_ids)
    counts = {name: _counts(connection, name, group, now) for name in sorted(needs.event_counts)}
    triggers: dict[int, dict[str, Any]] = {}
    if needs.event:
        triggers = events.trigger_events_txn(
            connection, [r.trigger_event_id for r in group if r.trigger_event_id is not None]
        )
    if not (needs.contact or needs.lists or counts or needs.event):
        return [StepItem(run=run, contact=None, facts=NO_FACTS) for run in group]
    items = []
    for run in group:
        contact = views.get(run.contact_id)
        facts = NO_FACTS
        if needs.lists or counts or (needs.contact and contact is not None):
            facts = Facts(
                attributes=contact.attributes if contact is not None else {},
                lists=memberships.get(run.contact_id, frozenset()),
                event_counts={name: found.get(run.run_id, 0) for name, found in counts.items()},
            )
        event = triggers.get(run.trigger_event_id) if run.trigger_event_id else None
        items.append(StepItem(run=run, contact=contact, facts=facts, event=event))
    return items


def _counts(
    connection: Connection, name: str, group: Sequence[RunView], now: dt.datetime
) -> dict[int, int]:
    """Run id -> count; up to the trigger event where there is one, else up to now."""
    triggered = [r for r in group if r.trigger_event_id is not None]
    untriggered = [r for r in group if r.trigger_event_id is None]
    result: dict[int, int] = {}
    if triggered:
        by_event = events.counts_up_to_events_txn(
            connection, name, [r.trigger_event_id for r in triggered if r.trigger_event_id]
        )
        result.update({r.run_id: by_event.get(r.trigger_event_id or 0, 0) for r in triggered})
    if untriggered:
        by_contact = events.counts_by_contact_txn(
            connection, name, [r.contact_id for r in untriggered], now
        )
        result.update({r.run_id: by_contact.get(r.contact_id, 0) for r in untriggered})
    return result
