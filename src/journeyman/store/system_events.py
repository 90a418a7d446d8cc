"""System events: the store's own record of changes workflows can enter on.

Each is written in the transaction of the change that causes it, in bulk, with source
``system`` (manual enrolments: ``manual``), and queued for the triggers like any event.
A change is recorded only while an active workflow listens to its event (one small query
finds out first, so a change nobody enters on costs nothing more); a workflow activated
later does not act on the past, as with every event:

- ``contact_created`` {}: a contact upserted or created by an incoming event;
- ``attribute_changed`` {name, old, new}: an upsert or import, or a workflow's
  ``update_attribute`` (values read before the change, under a row lock);
- ``list_added`` / ``list_removed`` {list}: only memberships that really changed;
- ``deal_created`` {deal_id, name, pipeline, stage, amount}: a workflow's ``create_deal``;
- ``anniversary`` {attribute, days_before, date, years}: the scan of date attributes;
- ``manual_enrolment`` / ``segment_backfill`` {workflow}: addressed to one workflow.

This module imports no other aggregate of the store (they call it), so there is no cycle.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from journeyman.errors import InvalidInput
from journeyman.model.effects import AddToAttribute, CreateDeal, JoinList, LeaveList, SetAttribute
from journeyman.model.events import AnniversaryScan
from journeyman.schedule import local_today
from journeyman.store import events, fast
from journeyman.store.dialects import one_of
from journeyman.store.schema import (
    anniversary_marks,
    contacts,
    deals,
    entry_backfills,
    list_members,
    lists,
    workflows,
)
from journeyman.workflow.entry_points import (
    ANNIVERSARY,
    ATTRIBUTE_CHANGED,
    CONTACT_CREATED,
    DEAL_CREATED,
    LIST_ADDED,
    LIST_REMOVED,
    MANUAL_ENROLMENT,
    SEGMENT_BACKFILL,
    SYSTEM_SOURCE,
    anniversary_properties,
    due_anniversary,
    month_days_due,
    names_listened,
    parse_date,
)

Change = tuple[str, int, Mapping[str, Any]]  # (event name, contact id, properties)


def listened_txn(connection: Connection) -> set[str]:
    """The event names the entry points of the active workflows listen to."""
    # Hand-written: read on every ingestion transaction that creates a contact, where
    # building and compiling the statement cost more than running it.
    if connection.dialect.name == "postgresql":
        entry_points, arrays = "v.definition -> 'entry_points'", ""
    else:  # json_extract gives JSON text for an array only (names_listened ignores the rest)
        path = "'$.entry_points'"
        entry_points = f"json_extract(v.definition, {path})"
        arrays = f" AND json_type(v.definition, {path}) = 'array'"
    sql = (
        f"SELECT {entry_points} FROM workflow_versions AS v JOIN workflows AS w "
        f"ON w.current_version_id = v.id WHERE w.status = 'active'{arrays}"
    )
    names: set[str] = set()
    for (value,) in fast.driver_rows(connection, sql):
        names |= names_listened(fast.json_value(value))
    return names


def record_txn(
    connection: Connection, changes: Sequence[Change], now: dt.datetime, source: str = SYSTEM_SOURCE
) -> None:
    if changes:
        events.record_events_txn(
            connection,
            [
                events.NewEvent(
                    name=name, contact_id=contact, occurred_at=now, properties=props, source=source
                )
                for name, contact, props in changes
            ],
            now,
        )


# --- contacts -----------------------------------------------------------------------------


def contacts_created_txn(
    connection: Connection, contact_ids: Iterable[int], now: dt.datetime
) -> None:
    ids = sorted(contact_ids)
    if ids and CONTACT_CREATED in listened_txn(connection):
        record_txn(connection, [(CONTACT_CREATED, i, {}) for i in ids], now)


def upserted_txn(
    connection: Connection,
    merged: Mapping[str, Mapping[str, Any]],
    existing: Mapping[str, Any],
    now: dt.datetime,
) -> None:
    """After an upsert: ``contact_created`` for the new contacts, ``attribute_changed`` for
    each attribute whose value an update changed (``merged``: the attributes written, by
    email; ``existing``: the rows before it)."""
    listened = listened_txn(connection) if merged else set()
    created = [email for email in merged if email not in existing]
    if created and CONTACT_CREATED in listened:
        ids = sorted(
            r[0] for r in fast.rows_matching(connection, "contacts", ("id",), "email", created)
        )
        record_txn(connection, [(CONTACT_CREATED, i, {}) for i in ids], now)
    if ATTRIBUTE_CHANGED not in listened:
        return
    changes: list[Change] = []
    for email, attributes in merged.items():
        row = existing.get(email)
        if row is None:
            continue
        before = row.attributes or {}
        for name, value in attributes.items():
            changes.extend(_changed(row.id, name, before.get(name), value))
    record_txn(connection, changes, now)


def _changed(contact_id: int, name: str, old: Any, new: Any) -> list[Change]:
    if _same(old, new):
        return []
    return [(ATTRIBUTE_CHANGED, contact_id, {"name": name, "old": old, "new": new})]


def _same(old: Any, new: Any) -> bool:
    if isinstance(old, bool) or isinstance(new, bool):
        return old is new
    return bool(old == new)


def attribute_changes_txn(
    connection: Connection,
    sets: Sequence[SetAttribute],
    adds: Sequence[AddToAttribute],
    now: dt.datetime,
) -> None:
    """Before ``contacts.change_attributes_txn`` writes: the values it will leave, from the
    values it starts from (read with a row lock, so no other write slips in between), in the
    order it applies them (clears, sets, then adds)."""
    touched = {s.contact_id for s in sets} | {a.contact_id for a in adds}
    if not touched or ATTRIBUTE_CHANGED not in listened_txn(connection):
        return
    statement = (
        sa.select(contacts.c.id, contacts.c.attributes)
        .where(one_of(connection, contacts.c.id, touched))
        .order_by(contacts.c.id)
        .with_for_update()
    )
    before = {r.id: dict(r.attributes or {}) for r in connection.execute(statement)}
    after = {k: dict(v) for k, v in before.items()}
    order: dict[tuple[int, str], None] = {}
    for item in [s for s in sets if s.value is None] + [s for s in sets if s.value is not None]:
        if item.contact_id in after:
            order[(item.contact_id, item.name)] = None
            _assign(after[item.contact_id], item.name, item.value)
    for add in adds:
        if add.contact_id in after:
            order[(add.contact_id, add.name)] = None
            values = after[add.contact_id]
            old = values.get(add.name)
            base = old if isinstance(old, int | float) and not isinstance(old, bool) else 0
            total = base + add.delta
            values[add.name] = int(total) if float(total).is_integer() else total
    changes: list[Change] = []
    for contact_id, name in order:
        changes.extend(
            _changed(contact_id, name, before[contact_id].get(name), after[contact_id].get(name))
        )
    record_txn(connection, changes, now)


def _assign(values: dict[str, Any], name: str, value: Any) -> None:
    if value is None:
        values.pop(name, None)
    else:
        values[name] = value


# --- lists --------------------------------------------------------------------------------


def list_joins_txn(connection: Connection, joins: Sequence[JoinList], now: dt.datetime) -> None:
    """Before ``lists.join_lists_txn``: ``list_added`` for the memberships that are new."""
    if not joins or LIST_ADDED not in listened_txn(connection):
        return
    pairs = _present_txn(connection, [(j.list_id, j.contact_id) for j in joins])
    _record_lists_txn(connection, LIST_ADDED, [p for p, there in pairs.items() if not there], now)


def list_leaves_txn(connection: Connection, leaves: Sequence[LeaveList], now: dt.datetime) -> None:
    """Before ``lists.leave_lists_txn``: ``list_removed`` for the memberships that exist."""
    if not leaves or LIST_REMOVED not in listened_txn(connection):
        return
    pairs = _present_txn(connection, [(x.list_id, x.contact_id) for x in leaves])
    _record_lists_txn(connection, LIST_REMOVED, [p for p, there in pairs.items() if there], now)


def _present_txn(
    connection: Connection, pairs: Sequence[tuple[int, int]]
) -> dict[tuple[int, int], bool]:
    """(list id, contact id) -> is the contact in the list now (in the order given)."""
    if not pairs:
        return {}
    statement = sa.select(list_members.c.list_id, list_members.c.contact_id).where(
        one_of(connection, list_members.c.contact_id, {c for _, c in pairs}),
        one_of(connection, list_members.c.list_id, {w for w, _ in pairs}),
    )
    present = {(r.list_id, r.contact_id) for r in connection.execute(statement)}
    return {pair: pair in present for pair in pairs}


def _record_lists_txn(
    connection: Connection, name: str, pairs: Sequence[tuple[int, int]], now: dt.datetime
) -> None:
    if not pairs:
        return
    statement = sa.select(lists.c.id, lists.c.name).where(
        one_of(connection, lists.c.id, {w for w, _ in pairs})
    )
    names = {r.id: r.name for r in connection.execute(statement)}
    record_txn(connection, [(name, c, {"list": names[w]}) for w, c in pairs], now)


# --- CRM ----------------------------------------------------------------------------------


def new_deals_txn(connection: Connection, items: Sequence[CreateDeal]) -> list[CreateDeal]:
    """Before ``crm`` inserts deals: those whose source key is new (a replay adds none)."""
    if not items or DEAL_CREATED not in listened_txn(connection):
        return []
    statement = sa.select(deals.c.source_key).where(
        one_of(connection, deals.c.source_key, {d.source_key for d in items})
    )
    seen = {r.source_key for r in connection.execute(statement)}
    fresh = []
    for item in items:
        if item.source_key not in seen:
            seen.add(item.source_key)
            fresh.append(item)
    return fresh


def deals_created_txn(
    connection: Connection, fresh: Sequence[CreateDeal], now: dt.datetime
) -> None:
    """After the insert: ``deal_created`` for each deal of ``fresh``, with its id."""
    if not fresh:
        return
    statement = sa.select(deals.c.id, deals.c.source_key).where(
        one_of(connection, deals.c.source_key, [d.source_key for d in fresh])
    )
    ids = {r.source_key: r.id for r in connection.execute(statement)}
    record_txn(
        connection,
        [
            (
                DEAL_CREATED,
                d.contact_id,
                {
                    "deal_id": ids.get(d.source_key),
                    "name": d.name,
                    "pipeline": d.pipeline,
                    "stage": d.stage,
                    "amount": d.amount,
                },
            )
            for d in fresh
        ],
        now,
    )


# --- manual enrolment ---------------------------------------------------------------------


def enrol_manually_txn(
    connection: Connection,
    key: str,
    emails: Sequence[str],
    list_names: Sequence[str],
    now: dt.datetime,
) -> int:
    """Queue a ``manual_enrolment`` event for ``key`` per contact named (by email, or as a
    member of a list); the triggers enrol them as the workflow's re-entry rules allow.
    The number of contacts. Unknown workflows, contacts and lists are refused, all at once."""
    status = connection.execute(
        sa.select(workflows.c.status).where(workflows.c.key == key)
    ).scalar_one_or_none()
    if status is None:
        raise InvalidInput(f"workflow {key!r} does not exist")
    if status != "active":
        raise InvalidInput(f"workflow {key!r} is {status}: only an active workflow takes contacts")
    ids = dict(fast.rows_matching(connection, "contacts", ("email", "id"), "email", emails))
    problems = [f"no contact with email {e!r}" for e in emails if e not in ids]
    known = {r.name: r.id for r in connection.execute(sa.select(lists.c.name, lists.c.id))}
    problems += [f"list {n!r} does not exist" for n in list_names if n not in known]
    if problems:
        raise InvalidInput("; ".join(problems))
    chosen = dict.fromkeys(ids[e] for e in emails)
    if list_names:
        statement = (
            sa.select(list_members.c.contact_id)
            .where(one_of(connection, list_members.c.list_id, [known[n] for n in list_names]))
            .order_by(list_members.c.contact_id)
        )
        chosen.update(dict.fromkeys(r.contact_id for r in connection.execute(statement)))
    record_txn(
        connection, [(MANUAL_ENROLMENT, c, {"workflow": key}) for c in chosen], now, "manual"
    )
    return len(chosen)


# --- anniversaries ------------------------------------------------------------------------


def record_due_anniversaries_txn(
    connection: Connection,
    specs: Iterable[AnniversaryScan],
    now: dt.datetime,
    default_timezone: str = "UTC",
) -> int:
    """``anniversary`` events for every contact whose date attribute (month and day) is
    ``days_before`` days ahead on the contact's local date (its timezone, else
    ``default_timezone``), once per contact, attribute, offset and date however often this
    runs. The number of events recorded."""
    offsets: dict[str, set[int]] = {}
    for spec in specs:
        offsets.setdefault(spec.attribute, set()).add(spec.days_before)
    utc_day = now.astimezone(dt.UTC).date()
    due: dict[tuple[int, str, int, dt.date], dict[str, Any]] = {}
    for attribute, wanted in sorted(offsets.items()):
        month_days = set().union(*(month_days_due(utc_day, d) for d in wanted))
        value = contacts.c.attributes[attribute].as_string()
        statement = sa.select(contacts.c.id, value, contacts.c.timezone).where(
            sa.func.substr(value, 6, 5).in_(sorted(month_days))
        )
        for contact_id, raw, zone in connection.execute(statement):
            today = local_today(now, zone, default_timezone)
            birth = parse_date(raw)
            for days_before in sorted(wanted):
                occurrence = due_anniversary(raw, today, days_before)
                if occurrence is not None and birth is not None:
                    due[(contact_id, attribute, days_before, today)] = anniversary_properties(
                        attribute, days_before, occurrence, birth
                    )
    fresh = _mark_txn(connection, list(due))
    connection.execute(
        sa.delete(anniversary_marks).where(
            anniversary_marks.c.due_on < utc_day - dt.timedelta(days=3)
        )
    )
    record_txn(connection, [(ANNIVERSARY, key[0], due[key]) for key in fresh], now)
    return len(fresh)


def _mark_txn(
    connection: Connection, keys: list[tuple[int, str, int, dt.date]]
) -> list[tuple[int, str, int, dt.date]]:
    """Insert the marks; the ones that were not there yet, in the order given."""
    dialect: Any = postgresql if connection.dialect.name == "postgresql" else sqlite
    inserted: set[tuple[int, str, int, dt.date]] = set()
    columns = ("contact_id", "attribute", "days_before", "due_on")
    for start in range(0, len(keys), 500):
        chunk = keys[start : start + 500]
        statement = (
            dialect.insert(anniversary_marks)
            .values([dict(zip(columns, key, strict=True)) for key in chunk])
            .on_conflict_do_nothing()
            .returning(*(anniversary_marks.c[c] for c in columns))
        )
        inserted.update(tuple(r) for r in connection.execute(statement))
    return [key for key in keys if key in inserted]


# --- enrol everyone who already matches (segment entry points) ----------------------------


def start_backfill_txn(connection: Connection, key: str, per_minute: int, now: dt.datetime) -> None:
    """Examine every contact for workflow ``key``'s segment entry points, ``per_minute``
    contacts a minute from now on (from the first contact again if one was under way)."""
    workflow_id = connection.execute(
        sa.select(workflows.c.id).where(workflows.c.key == key)
    ).scalar_one()
    mine = entry_backfills.c.workflow_id == workflow_id
    connection.execute(sa.delete(entry_backfills).where(mine))
    connection.execute(
        sa.insert(entry_backfills).values(
            workflow_id=workflow_id, after_contact_id=0, per_minute=per_minute, next_at=now
        )
    )


def run_backfills_txn(connection: Connection, now: dt.datetime) -> int:
    """One page of each due backfill: a ``segment_backfill`` event per contact of the page
    (the triggers enrol those who match). A paused workflow's backfill waits; a stopped or
    draft workflow's ends. The number of events recorded."""
    statement = (
        sa.select(
            entry_backfills.c.workflow_id,
            entry_backfills.c.after_contact_id,
            entry_backfills.c.per_minute,
            workflows.c.key,
            workflows.c.status,
        )
        .join(workflows, workflows.c.id == entry_backfills.c.workflow_id)
        .where(entry_backfills.c.next_at <= now)
        .order_by(entry_backfills.c.workflow_id)
        .with_for_update(skip_locked=True, of=entry_backfills)
    )
    recorded = 0
    for job in connection.execute(statement).all():
        if job.status == "paused":
            continue
        page = []
        if job.status == "active":
            page = list(
                connection.execute(
                    sa.select(contacts.c.id)
                    .where(contacts.c.id > job.after_contact_id)
                    .order_by(contacts.c.id)
                    .limit(job.per_minute)
                ).scalars()
            )
        record_txn(connection, [(SEGMENT_BACKFILL, c, {"workflow": job.key}) for c in page], now)
        recorded += len(page)
        mine = entry_backfills.c.workflow_id == job.workflow_id
        if len(page) < job.per_minute:
            connection.execute(sa.delete(entry_backfills).where(mine))
        else:
            connection.execute(
                sa.update(entry_backfills)
                .where(mine)
                .values(after_contact_id=page[-1], next_at=now + dt.timedelta(minutes=1))
            )
    return recorded
