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
    return [
        StepItem(
            run=run,
            contact=views.get(run.contact_id),
            event=triggers.get(run.trigger_event_id) if run.trigger_event_id else None,
            facts=Facts(
                attributes=views[run.contact_id].attributes if run.contact_id in views else {},
                lists=memberships.get(run.contact_id, frozenset()),
                event_counts={name: counts[name].get(run.run_id, 0) for name in counts},
            ),
        )
        for run in group
    ]


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
