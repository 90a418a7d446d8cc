"""What conditions read about a group of runs' contacts: event history, messages, deals,
owners. Each verb is ONE query for the whole group, whatever its size (ids as one parameter,
``dialects.one_of``; rows through ``fast.rows``).

Event history has an *anchor* per subject (``model.subjects``): its anchor event (a run's
trigger event), or, for subjects without one and for queries up to now, ``now``. Up to an
event means the events the store *received* up to and including it, in reception order
(ids: see ``_up_to_triggers``), whatever their occurrence times, so neither an event that
arrives late with an earlier time nor the engine's lag changes an answer once given. Up to
now means the events that occurred by now. A window of N days covers the events that
occurred in the N days before the anchor's time (the anchor event's occurrence time).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from journeyman.model.contacts import Deal
from journeyman.model.subjects import Subject
from journeyman.store import fast
from journeyman.store.bulk import Bulk
from journeyman.store.dialects import one_of
from journeyman.store.schema import contacts, deals, event_queue, events, messages, users

RECEIVED_STATUSES = ("queued", "sending", "sent")
_KEY = "message_key"  # the property of email_* events that names the message


def event_counts_txn(
    connection: Connection,
    names: Sequence[str],
    subjects: Sequence[Subject],
    now: dt.datetime,
    *,
    within_days: int | None = None,
    until_now: bool = False,
) -> dict[int, int]:
    """Subject key -> how many events of ``names`` its contact had up to its anchor (up to
    now when ``until_now``)."""
    found = _history(connection, names, subjects, now, within_days, until_now, rows=False)
    return {key: count for key, count in found}


def event_rows_txn(
    connection: Connection,
    names: Sequence[str],
    subjects: Sequence[Subject],
    now: dt.datetime,
    *,
    within_days: int | None = None,
    until_now: bool = False,
) -> dict[int, list[Any]]:
    """Subject key -> the properties of each event of ``names`` its contact had up to its
    anchor, or up to now when ``until_now`` (to filter and add up in Python)."""
    result: dict[int, list[Any]] = {}
    found = _history(connection, names, subjects, now, within_days, until_now, rows=True)
    for key, properties in found:
        result.setdefault(key, []).append(fast.json_value(properties))
    return result


def _history(
    connection: Connection,
    names: Sequence[str],
    subjects: Sequence[Subject],
    now: dt.datetime,
    within_days: int | None,
    until_now: bool,
    *,
    rows: bool,
) -> list[tuple[int, Any]]:
    """(subject key, count or properties) pairs."""
    if until_now:
        triggered: list[Subject] = []
        untriggered = list(subjects)
    else:
        triggered = [s for s in subjects if s.anchor_event_id is not None]
        untriggered = [s for s in subjects if s.anchor_event_id is None]
    parts: list[sa.Select[Any]] = []
    if triggered:
        parts.append(_up_to_triggers(connection, names, triggered, within_days, rows=rows))
    if untriggered:
        parts.append(_up_to_now(connection, names, untriggered, now, within_days, rows=rows))
    if not parts:
        return []
    statement = parts[0] if len(parts) == 1 else sa.union_all(*parts)
    by_trigger: dict[int, list[int]] = {}
    for s in triggered:
        by_trigger.setdefault(s.anchor_event_id or 0, []).append(s.key)
    by_contact: dict[int, list[int]] = {}
    for s in untriggered:
        by_contact.setdefault(s.contact_id, []).append(s.key)
    result = []
    for from_trigger, found, value in fast.rows(connection, statement):  # type: ignore[arg-type]
        for key in (by_trigger if from_trigger else by_contact).get(found, ()):
            result.append((key, value))
    return result


def _named(column: sa.ColumnElement[Any], names: Sequence[str]) -> sa.ColumnElement[bool]:
    return sa.or_(*(column == name for name in names))


def _up_to_triggers(
    connection: Connection,
    names: Sequence[str],
    subjects: Sequence[Subject],
    within_days: int | None,
    *,
    rows: bool,
) -> sa.Select[Any]:
    """The events received up to each anchor event, in the order the engine took them: the ids'
    order. SQLite's ids come from one writer at a time, past the highest ever given
    (``Bulk.allocate_ids``), so they are the commit order. PostgreSQL's come from a
    sequence as a transaction stores its events, so an event may commit after a higher id
    of its contact that the engine took in between: the engine places it after that one
    when it takes it (``taken_as``, ``events.claim_queued_events_txn``), and until then it
    is still queued and counts for no trigger (docs/architecture.md, "First purchase")."""
    trigger, other = events.alias("t"), events.alias("e")
    on = [
        other.c.contact_id == trigger.c.contact_id,
        _named(other.c.name, names),
        _taken_by(connection, other, trigger),
    ]
    if within_days:
        start = _days_before(connection, trigger.c.occurred_at, within_days)
        on.append(other.c.occurred_at >= start)
    value = other.c.properties if rows else sa.func.count(other.c.id)
    statement = (
        sa.select(sa.literal_column("1"), trigger.c.id, value)
        .select_from(trigger.join(other, sa.and_(*on)))
        .where(one_of(connection, trigger.c.id, [s.anchor_event_id for s in subjects]))
    )
    return statement if rows else statement.group_by(trigger.c.id)


def _taken_by(
    connection: Connection, other: sa.Table | Any, trigger: sa.Table | Any
) -> sa.ColumnElement[bool]:
    """``other`` was taken by the engine up to ``trigger`` (or is not to be taken at all:
    historical)."""
    if connection.dialect.name != "postgresql":
        return other.c.id <= trigger.c.id
    queued = sa.exists().where(event_queue.c.event_id == other.c.id)
    place = sa.func.coalesce(other.c.taken_as, other.c.id)
    return sa.or_(
        other.c.id == trigger.c.id,
        sa.and_(place <= sa.func.coalesce(trigger.c.taken_as, trigger.c.id), ~queued),
    )


def _up_to_now(
    connection: Connection,
    names: Sequence[str],
    subjects: Sequence[Subject],
    now: dt.datetime,
    within_days: int | None,
    *,
    rows: bool,
) -> sa.Select[Any]:
    bulk = Bulk(connection)
    where = [
        _named(events.c.name, names),
        events.c.occurred_at <= _time(bulk, now),
        one_of(connection, events.c.contact_id, [s.contact_id for s in subjects]),
    ]
    if within_days:
        where.append(events.c.occurred_at >= _time(bulk, now - dt.timedelta(days=within_days)))
    value = events.c.properties if rows else sa.func.count(events.c.id)
    statement = sa.select(sa.literal_column("0"), events.c.contact_id, value).where(*where)
    return statement if rows else statement.group_by(events.c.contact_id)


def _time(bulk: Bulk, value: dt.datetime) -> Any:
    """A time bound as the driver takes it (``fast.rows`` skips SQLAlchemy's processing)."""
    return sa.bindparam(None, bulk.time(value), type_=sa.String if not bulk.postgres else None)


def _days_before(connection: Connection, column: Any, days: int) -> Any:
    """``column - days`` in the database's own time arithmetic (SQLite stores UTC text)."""
    if connection.dialect.name == "postgresql":
        return column - sa.literal_column(f"INTERVAL '{int(days)} days'")
    return sa.func.strftime(
        sa.literal_column("'%Y-%m-%d %H:%M:%f'"), column, sa.literal_column(f"'-{int(days)} days'")
    )


def _json_text(connection: Connection, column: Any, key: str) -> Any:
    """A top-level property as text; literal SQL, since ``fast.rows`` would skip the bind
    processing of SQLAlchemy's JSON paths."""
    if not key.isidentifier():
        raise ValueError(f"not a plain property name: {key!r}")
    if connection.dialect.name == "postgresql":
        return column.op("->>")(sa.literal_column(f"'{key}'"))
    return sa.func.json_extract(column, sa.literal_column(f"'$.{key}'"))


def received_counts_txn(
    connection: Connection,
    contact_ids: Iterable[int],
    since: dt.datetime | None,
    *,
    workflow_ids: Iterable[int] = (),
    step: str | None = None,
) -> dict[tuple[int, int], int]:
    """(contact id, workflow id) -> messages queued or sent to the contact since ``since``;
    from ``step`` of one of ``workflow_ids`` if given (else the workflow id is 0: any)."""
    bulk = Bulk(connection)
    group = [messages.c.contact_id]
    where = [
        one_of(connection, messages.c.contact_id, contact_ids),
        one_of(connection, messages.c.status, RECEIVED_STATUSES),
    ]
    if step is not None:
        where += [
            one_of(connection, messages.c.workflow_id, workflow_ids),
            messages.c.step_id == step,
        ]
        group.append(messages.c.workflow_id)
    if since is not None:
        where.append(messages.c.created_at >= _time(bulk, since))
    statement = sa.select(*group, sa.func.count()).where(*where).group_by(*group)
    return _by_contact_and_workflow(fast.rows(connection, statement), step is not None)


def message_event_counts_txn(
    connection: Connection,
    name: str,
    contact_ids: Iterable[int],
    now: dt.datetime,
    since: dt.datetime | None,
    *,
    workflow_ids: Iterable[int] = (),
    step: str | None = None,
) -> dict[tuple[int, int], int]:
    """(contact id, workflow id) -> events ``name`` (``email_opened``...) up to now since
    ``since``; with ``step``, only those whose ``message_key`` property names a message of
    that step of one of ``workflow_ids``."""
    bulk = Bulk(connection)
    group: list[Any] = [events.c.contact_id]
    source: Any = events
    where = [
        events.c.name == name,
        one_of(connection, events.c.contact_id, contact_ids),
        events.c.occurred_at <= _time(bulk, now),
    ]
    if since is not None:
        where.append(events.c.occurred_at >= _time(bulk, since))
    if step is not None:
        source = events.join(
            messages,
            sa.and_(
                messages.c.idempotency_key == _json_text(connection, events.c.properties, _KEY),
                messages.c.contact_id == events.c.contact_id,
            ),
        )
        where += [
            one_of(connection, messages.c.workflow_id, workflow_ids),
            messages.c.step_id == step,
        ]
        group.append(messages.c.workflow_id)
    statement = sa.select(*group, sa.func.count()).select_from(source).where(*where)
    rows = fast.rows(connection, statement.group_by(*group))
    return _by_contact_and_workflow(rows, step is not None)


def _by_contact_and_workflow(
    rows: Iterable[tuple[Any, ...]], with_workflow: bool
) -> dict[tuple[int, int], int]:
    if with_workflow:
        return {(r[0], r[1]): r[2] for r in rows}
    return {(r[0], 0): r[1] for r in rows}


def deals_txn(connection: Connection, contact_ids: Iterable[int]) -> dict[int, list[Deal]]:
    """Contact id -> its deals, oldest first."""
    statement = (
        sa.select(deals.c.contact_id, deals.c.pipeline, deals.c.stage, deals.c.status)
        .where(one_of(connection, deals.c.contact_id, contact_ids))
        .order_by(deals.c.id)
    )
    found: dict[int, list[Deal]] = {}
    for contact_id, pipeline, stage, status in fast.rows(connection, statement):
        found.setdefault(contact_id, []).append(Deal(pipeline=pipeline, stage=stage, status=status))
    return found


def owner_emails_txn(connection: Connection, contact_ids: Iterable[int]) -> dict[int, str]:
    """Contact id -> the email of its owner (contacts without one are absent)."""
    statement = (
        sa.select(contacts.c.id, users.c.email)
        .select_from(contacts.join(users, users.c.id == contacts.c.owner_id))
        .where(one_of(connection, contacts.c.id, contact_ids))
    )
    return {r[0]: r[1] for r in fast.rows(connection, statement)}
