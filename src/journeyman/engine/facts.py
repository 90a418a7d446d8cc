"""Loading what a group of runs (or of subjects without a run) needs, with a constant
number of queries per group.

One query per fact kind the group's step needs (contacts, list memberships, trigger events,
each distinct event-history query, each message query, deals, owners), whatever the size of
the group. Property filters and order sums are applied in Python to the rows of one query.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from sqlalchemy.engine import Connection

from journeyman import schedule
from journeyman.conditions import EventQuery, Facts, MessageQuery, Needs, OrderStats
from journeyman.conditions.activity import count_matching, order_stats
from journeyman.model.contacts import ContactView, Deal
from journeyman.model.runs import RunView
from journeyman.model.subjects import Subject
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
    loaded = _load_txn(connection, needs, group, now, default_timezone)
    items = []
    for run in group:
        contact = loaded.contacts.get(run.contact_id)
        event = loaded.triggers.get(run.trigger_event_id) if run.trigger_event_id else None
        facts = loaded.facts(run, contact, event, run.context, run.step_id)
        items.append(StepItem(run=run, contact=contact, facts=facts, event=event))
    return items


def load_facts_txn(
    connection: Connection,
    needs: Needs,
    subjects: Sequence[Subject],
    now: dt.datetime,
    *,
    default_timezone: str | None = None,
) -> list[Facts]:
    """The facts of each subject (no run: no context, no step), in order."""
    if not needs.anything:
        return [NO_FACTS for _ in subjects]
    loaded = _load_txn(connection, needs, subjects, now, default_timezone)
    facts = []
    for subject in subjects:
        contact = loaded.contacts.get(subject.contact_id)
        anchor = subject.anchor_event_id
        event = loaded.triggers.get(anchor) if anchor else None
        facts.append(loaded.facts(subject, contact, event, _EMPTY, ""))
    return facts


@dataclass(frozen=True, slots=True, kw_only=True)
class _Loaded:
    """What one load found for a group, by contact id or subject key."""

    now: dt.datetime
    default_timezone: str | None
    contacts: Mapping[int, ContactView]
    memberships: Mapping[int, frozenset[str]]
    triggers: Mapping[int, Mapping[str, Any]]
    counts: Mapping[str, Mapping[int, int]]
    orders: Mapping[str, Mapping[int, OrderStats]]
    messages: Mapping[str, Callable[[Subject], int]]
    deals: Mapping[int, list[Deal]]
    owners: Mapping[int, str]

    def facts(
        self,
        subject: Subject,
        contact: ContactView | None,
        event: Mapping[str, Any] | None,
        context: Mapping[str, Any],
        step_id: str,
    ) -> Facts:
        key, contact_id = subject.key, subject.contact_id
        counts, orders, messages, deals = self.counts, self.orders, self.messages, self.deals
        return Facts(
            attributes=contact.attributes if contact is not None else _EMPTY,
            lists=self.memberships.get(contact_id, _NO_LISTS),
            event_counts={k: found.get(key, 0) for k, found in counts.items()}
            if counts
            else _EMPTY,
            orders={k: found.get(key, _NO_ORDERS) for k, found in orders.items()}
            if orders
            else _EMPTY,
            messages={k: found(subject) for k, found in messages.items()} if messages else _EMPTY,
            deals=tuple(deals.get(contact_id, ())) if deals else (),
            owner=self.owners.get(contact_id),
            trigger=event,
            context=context,
            run_id=key,
            step_id=step_id,
            now=self.now,
            timezone=_zone(contact, self.default_timezone),
        )


def _load_txn(
    connection: Connection,
    needs: Needs,
    subjects: Sequence[Subject],
    now: dt.datetime,
    default_timezone: str | None,
) -> _Loaded:
    """One query per kind of fact ``needs`` names, for all the subjects."""
    contact_ids = [s.contact_id for s in subjects]
    views: dict[int, ContactView] = {}
    if needs.contact:
        views = contacts.load_contacts_txn(connection, contact_ids)
    anchors = [s.anchor_event_id for s in subjects if s.anchor_event_id is not None]
    counts, orders = _event_facts(
        connection, needs.event_counts, subjects, views, now, default_timezone
    )
    return _Loaded(
        now=now,
        default_timezone=default_timezone,
        contacts=views,
        memberships=lists.memberships_txn(connection, contact_ids) if needs.lists else {},
        triggers=events.trigger_events_txn(connection, anchors) if needs.event else {},
        counts=counts,
        orders=orders,
        messages={
            q.key: _message_facts(connection, q, subjects, now)
            for q in sorted(needs.messages, key=lambda q: q.key)
        },
        deals=history.deals_txn(connection, contact_ids) if needs.deals else {},
        owners=history.owner_emails_txn(connection, contact_ids) if needs.owner else {},
    )


_NO_ORDERS = OrderStats()


def _event_facts(
    connection: Connection,
    queries: frozenset[EventQuery],
    subjects: Sequence[Subject],
    views: Mapping[int, ContactView],
    now: dt.datetime,
    default_timezone: str | None,
) -> tuple[dict[str, dict[int, int]], dict[str, dict[int, OrderStats]]]:
    """Per query key: subject key -> count (or order stats). One query each."""
    counts: dict[str, dict[int, int]] = {}
    orders: dict[str, dict[int, OrderStats]] = {}
    for query in sorted(queries, key=lambda q: q.key):
        days, until_now = query.within_days, query.until_now
        if not query.needs_rows:
            counts[query.key] = history.event_counts_txn(
                connection, query.names, subjects, now, within_days=days, until_now=until_now
            )
            continue
        found = history.event_rows_txn(
            connection, query.names, subjects, now, within_days=days, until_now=until_now
        )
        relative = any(t.relative for t in query.where.values())
        today = {
            s.key: Facts(now=now, timezone=_zone(views.get(s.contact_id), default_timezone)).today()
            if relative
            else None
            for s in subjects
        }
        if query.orders:
            orders[query.key] = {
                key: order_stats(query, rows, today.get(key)) for key, rows in found.items()
            }
        else:
            counts[query.key] = {
                key: count_matching(query, rows, today.get(key)) for key, rows in found.items()
            }
    return counts, orders


def _zone(contact: ContactView | None, default: str | None) -> str:
    return schedule.zone_or(contact.timezone if contact is not None else None, default).key


def _message_facts(
    connection: Connection, query: MessageQuery, subjects: Sequence[Subject], now: dt.datetime
) -> Callable[[Subject], int]:
    """A function subject -> count, from one query for the group."""
    contact_ids = [s.contact_id for s in subjects]
    workflow_ids = {s.workflow_id for s in subjects if s.workflow_id is not None}
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
        return lambda s: found.get((s.contact_id, 0), 0)
    return lambda s: found.get((s.contact_id, s.workflow_id or 0), 0)
