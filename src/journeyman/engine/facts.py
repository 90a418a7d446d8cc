"""Loading what a group of runs needs, with a constant number of queries per group.

One query per fact kind the group's step needs (contacts, list memberships, trigger events,
each distinct event-history query, each message query, deals, owners), whatever the size of
the group. Property filters and order sums are applied in Python to the rows of one query.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import Any

from sqlalchemy.engine import Connection

from journeyman import schedule
from journeyman.conditions import Deal, EventQuery, Facts, MessageQuery, Needs, OrderStats
from journeyman.conditions.activity import count_matching, order_stats
from journeyman.model.contacts import ContactView
from journeyman.model.runs import RunView
from journeyman.steps.base import StepItem
from journeyman.store import contacts, events, history, lists

NO_FACTS = Facts()
_NO_LISTS: frozenset[str] = frozenset()
_EMPTY: Mapping[str, Any] = MappingProxyType({})


def load_items_txn(
    connection: Connection,
    needs: Needs,
    group: Sequence[RunView],
    now: dt.datetime,
    *,
    default_timezone: str | None = None,
) -> list[StepItem]:
    """The items of a group: each run with its contact, trigger event and facts.

    Conditions relative to today take the contact's time zone, else ``default_timezone``
    (else UTC)."""
    if not needs.anything:
        return [StepItem(run=run, contact=None, facts=NO_FACTS) for run in group]
    contact_ids = [r.contact_id for r in group]
    views: dict[int, ContactView] = {}
    if needs.contact:
        views = contacts.load_contacts_txn(connection, contact_ids)
    memberships: dict[int, frozenset[str]] = {}
    if needs.lists:
        memberships = lists.memberships_txn(connection, contact_ids)
    triggers: dict[int, dict[str, Any]] = {}
    if needs.event:
        triggers = events.trigger_events_txn(
            connection, [r.trigger_event_id for r in group if r.trigger_event_id is not None]
        )
    counts, orders = _event_facts(
        connection, needs.event_counts, group, views, now, default_timezone
    )
    messages = {
        q.key: _message_facts(connection, q, group, now)
        for q in sorted(needs.messages, key=lambda q: q.key)
    }
    deals = history.deals_txn(connection, contact_ids) if needs.deals else {}
    owners = history.owner_emails_txn(connection, contact_ids) if needs.owner else {}
    items = []
    for run in group:
        contact = views.get(run.contact_id)
        event = triggers.get(run.trigger_event_id) if run.trigger_event_id else None
        facts = Facts(
            attributes=contact.attributes if contact is not None else _EMPTY,
            lists=memberships.get(run.contact_id, _NO_LISTS),
            event_counts={k: found.get(run.run_id, 0) for k, found in counts.items()}
            if counts
            else _EMPTY,
            orders={k: found.get(run.run_id, _NO_ORDERS) for k, found in orders.items()}
            if orders
            else _EMPTY,
            messages={k: found(run) for k, found in messages.items()} if messages else _EMPTY,
            deals=tuple(Deal(*d) for d in deals.get(run.contact_id, ())) if deals else (),
            owner=owners.get(run.contact_id),
            trigger=event,
            context=run.context,
            run_id=run.run_id,
            step_id=run.step_id,
            now=now,
            timezone=_zone(contact, default_timezone),
        )
        items.append(StepItem(run=run, contact=contact, facts=facts, event=event))
    return items


_NO_ORDERS = OrderStats()


def _event_facts(
    connection: Connection,
    queries: frozenset[EventQuery],
    group: Sequence[RunView],
    views: Mapping[int, ContactView],
    now: dt.datetime,
    default_timezone: str | None,
) -> tuple[dict[str, dict[int, int]], dict[str, dict[int, OrderStats]]]:
    """Per query key: run id -> count (or order stats). One query each."""
    counts: dict[str, dict[int, int]] = {}
    orders: dict[str, dict[int, OrderStats]] = {}
    for query in sorted(queries, key=lambda q: q.key):
        anchors = [
            history.Anchor(r.run_id, r.contact_id, None if query.until_now else r.trigger_event_id)
            for r in group
        ]
        if not query.needs_rows:
            counts[query.key] = history.event_counts_txn(
                connection, query.names, anchors, now, within_days=query.within_days
            )
            continue
        found = history.event_rows_txn(
            connection, query.names, anchors, now, within_days=query.within_days
        )
        relative = any(t.relative for t in query.where.values())
        today = {
            r.run_id: Facts(
                now=now, timezone=_zone(views.get(r.contact_id), default_timezone)
            ).today()
            if relative
            else None
            for r in group
        }
        if query.orders:
            orders[query.key] = {
                run_id: order_stats(query, rows, today.get(run_id))
                for run_id, rows in found.items()
            }
        else:
            counts[query.key] = {
                run_id: count_matching(query, rows, today.get(run_id))
                for run_id, rows in found.items()
            }
    return counts, orders


def _zone(contact: ContactView | None, default: str | None) -> str:
    return schedule.zone_or(contact.timezone if contact is not None else None, default).key


def _message_facts(
    connection: Connection, query: MessageQuery, group: Sequence[RunView], now: dt.datetime
) -> Any:
    """A function run -> count, from one query for the group."""
    contact_ids = [r.contact_id for r in group]
    workflow_ids = {r.workflow_id for r in group}
    since = now - dt.timedelta(days=query.within_days) if query.within_days else None
    if query.activity == "received":
        found = history.received_counts_txn(
            connection, contact_ids, since, workflow_ids=workflow_ids, step=query.step
        )
    else:
        found = history.message_event_counts_txn(
            connection,
            f"email_{query.activity}",
            contact_ids,
            now,
            since,
            workflow_ids=workflow_ids,
            step=query.step,
        )
    if query.step is None:
        return lambda run: found.get((run.contact_id, 0), 0)
    return lambda run: found.get((run.contact_id, run.workflow_id), 0)
