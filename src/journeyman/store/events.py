"""Events: ingestion, the queue of events still to trigger workflows, pages for the API."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, NamedTuple

import orjson
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Connection

from journeyman.errors import InvalidEvent
from journeyman.model.events import Event, EventRecord
from journeyman.model.shards import EVERYONE, Shard
from journeyman.store import fast
from journeyman.store.bulk import Bulk
from journeyman.store.dialects import one_of
from journeyman.store.schema import claim_marks, event_queue, events


class NewEvent(NamedTuple):
    """An event to store (a NamedTuple: built once per incoming event, and a frozen
    dataclass costs twice as much to build)."""

    name: str
    contact_id: int
    occurred_at: dt.datetime
    properties: Mapping[str, Any] = MappingProxyType({})
    source: str = "api"
    historical: bool = False


def record_events_txn(
    connection: Connection, new: Sequence[NewEvent], now: dt.datetime
) -> list[int]:
    """Store events; the ones that are not historical are queued for the triggers. Their
    ids, in the order given (allocated first, so no ``RETURNING`` round trip is needed)."""
    if not new:
        return []
    bulk = Bulk(connection)
    ids = bulk.allocate_ids(events, len(new))
    time, at = bulk.time, bulk.time(now)
    rows = [
        (
            i,
            e.name,
            e.contact_id,
            time(e.occurred_at),
            _json(e.properties),
            e.source,
            e.historical,
            at,
        )
        for i, e in zip(ids, new, strict=True)
    ]
    bulk.insert(events, _EVENT_COLUMNS, rows)
    bulk.insert(
        event_queue,
        ("event_id", "contact_id"),
        [(i, e.contact_id) for i, e in zip(ids, new, strict=True) if not e.historical],
    )
    return ids


_EVENT_COLUMNS = (
    "id",
    "name",
    "contact_id",
    "occurred_at",
    "properties",
    "source",
    "historical",
    "received_at",
)


def _json(properties: Mapping[str, Any]) -> str:
    """The properties as the JSON column stores them (the engine's serializer: orjson)."""
    try:
        return orjson.dumps(properties if type(properties) is dict else dict(properties)).decode()
    except TypeError as exc:  # orjson.JSONEncodeError: a value JSON cannot hold
        raise InvalidEvent(f"event properties cannot be stored as JSON: {exc}") from None


def claim_queued_events_txn(
    connection: Connection,
    limit: int,
    *,
    with_properties: bool = True,
    shard: Shard = EVERYONE,
) -> list[Event]:
    """Take up to ``limit`` queued events out of the queue, oldest first.

    The rows stay locked (PostgreSQL) or the database stays write-locked (SQLite) until the
    caller's transaction ends, and the queue entries are gone only if it commits. An entry
    whose event is gone is dropped; so is one whose contact is gone, with its event (events
    have no foreign key to contacts: one stored for a contact id that a deletion removed
    meanwhile, a click on an old email of a deleted contact, say, is left to this).
    """
    index, count = shard.index, shard.count
    picked = sa.select(event_queue.c.event_id)
    if count > 1:
        picked = picked.where(event_queue.c.contact_id % count == index)
    picked = picked.order_by(event_queue.c.event_id).limit(limit).with_for_update(skip_locked=True)
    ids = [r.event_id for r in connection.execute(picked)]
    if not ids:
        return []
    found: list[Event] = []
    columns = [events.c.id, events.c.name, events.c.contact_id]
    if with_properties:
        columns.append(events.c.properties)
    connection.execute(
        sa.delete(event_queue).where(one_of(connection, event_queue.c.event_id, ids))
    )
    rows = fast.rows(connection, sa.select(*columns).where(one_of(connection, events.c.id, ids)))
    # Looked up by index, contact by contact: a join let PostgreSQL's generic plan hash the
    # whole contacts table on every claim (the engine fell to ~50 events/s at 370,000).
    wanted = {r[2] for r in rows}
    alive = {r[0] for r in fast.rows_matching(connection, "contacts", ("id",), "id", wanted)}
    if len(alive) < len(wanted):
        orphans = [r[0] for r in rows if r[2] not in alive]
        rows = [r for r in rows if r[2] in alive]
        connection.execute(sa.delete(events).where(one_of(connection, events.c.id, orphans)))
    found.extend(
        Event(
            id=r[0],
            name=r[1],
            contact_id=r[2],
            properties=fast.json_value(r[3]) if with_properties else {},
        )
        for r in rows
    )
    found.sort(key=lambda e: e.id)
    if connection.dialect.name == "postgresql":
        late = _place_late_txn(connection, [e.id for e in found], shard)
        # decided in the order history conditions count them: the late ones last
        found.sort(key=lambda e: e.id in late)
    return found


def _place_late_txn(connection: Connection, ids: Sequence[int], shard: Shard) -> set[int]:
    """Give each event taken below the highest place taken so far a place after it.

    History conditions count a contact's events in the order the engine took them
    (``history``): the ids' order, but a PostgreSQL transaction may commit an event after one
    with a higher id that the engine took in between. Such an event is placed after every
    event taken so far (a fresh number of the ids' sequence, so later events come after it
    too). A shard's claims follow one another and a contact stays in its shard, so the
    shard's highest place is enough (it may place more events than needed, never fewer).
    SQLite needs none of this: one writer at a time, so ids are the commit order. The ids
    placed anew."""
    if not ids:
        return set()
    index, count = shard.index, shard.count
    mark = sa.select(claim_marks.c.high).where(
        claim_marks.c.shard_count == count, claim_marks.c.shard_index == index
    )
    high = connection.execute(mark.with_for_update()).scalar()
    if high is None:  # a new shard (two workers starting it at once: one insert counts)
        first = _first_mark_txn(connection, min(ids))
        connection.execute(
            postgresql.insert(claim_marks)
            .values(shard_count=count, shard_index=index, high=first)
            .on_conflict_do_nothing()
        )
        high = connection.execute(mark.with_for_update()).scalar_one()
    late = [i for i in ids if i <= high]
    places = Bulk(connection).allocate_ids(events, len(late))
    if late:
        connection.execute(
            sa.update(events)
            .where(events.c.id == sa.bindparam("event_id"))
            .values(taken_as=sa.bindparam("place")),
            [{"event_id": i, "place": p} for i, p in zip(late, places, strict=True)],
        )
    top = max(max(ids), *places) if places else max(ids)
    if top > high:
        connection.execute(
            sa.update(claim_marks)
            .where(claim_marks.c.shard_count == count, claim_marks.c.shard_index == index)
            .values(high=top)
        )
    return set(late)


def _first_mark_txn(connection: Connection, claimed: int) -> int:
    """A new shard's highest place: the other shards' (their contacts may be its own now),
    and the highest id below the queue and this claim (events taken before marks were kept;
    events committed late at that moment may be missed, once)."""
    others = connection.execute(sa.select(sa.func.max(claim_marks.c.high))).scalar() or 0
    queued = connection.execute(sa.select(sa.func.min(event_queue.c.event_id))).scalar()
    below = min(claimed, queued) if queued is not None else claimed
    taken = sa.select(sa.func.max(events.c.id)).where(events.c.id < below)
    return max(int(others), int(connection.execute(taken).scalar() or 0))


def queued_events_count_txn(connection: Connection) -> int:
    return int(connection.execute(sa.select(sa.func.count()).select_from(event_queue)).scalar_one())


def count_events_txn(connection: Connection, name: str | None = None) -> int:
    statement = sa.select(sa.func.count()).select_from(events)
    if name is not None:
        statement = statement.where(events.c.name == name)
    return int(connection.execute(statement).scalar_one())


def last_events_of_contact_txn(
    connection: Connection, contact_id: int, limit: int
) -> list[dict[str, Any]]:
    """The contact's ``limit`` events received last (name, occurred_at, properties), in the
    order received: copied in that order, they count for conditions as they do here."""
    statement = (
        sa.select(events.c.name, events.c.occurred_at, events.c.properties)
        .where(events.c.contact_id == contact_id)
        .order_by(sa.func.coalesce(events.c.taken_as, events.c.id).desc())
        .limit(limit)
    )
    found = [dict(r._mapping) for r in connection.execute(statement)]
    return found[::-1]


def trigger_events_txn(connection: Connection, ids: Iterable[int]) -> dict[int, dict[str, Any]]:
    """Event id -> what templates and conditions see of it (name, time, properties)."""
    found: dict[int, dict[str, Any]] = {}
    columns = (events.c.id, events.c.name, events.c.occurred_at, events.c.properties)
    statement = sa.select(*columns).where(one_of(connection, events.c.id, ids))
    for r in fast.rows(connection, statement):
        found[r[0]] = {
            "id": r[0],
            "name": r[1],
            "occurred_at": fast.time_text(r[2]),
            "properties": fast.json_value(r[3]),
        }
    return found


def requeue_txn(connection: Connection, deferred: Sequence[Event]) -> None:
    """Put events back in the queue (their enrolments wait for the next tick)."""
    if deferred:
        connection.execute(
            sa.insert(event_queue),
            [{"event_id": e.id, "contact_id": e.contact_id} for e in deferred],
        )


@dataclass(frozen=True, kw_only=True)
class EventFilter:
    contact_ids: tuple[int, ...] = ()
    names: tuple[str, ...] = ()
    start: dt.datetime | None = None
    end: dt.datetime | None = None


def page_events_txn(
    connection: Connection, where: EventFilter, *, limit: int, offset: int
) -> tuple[list[EventRecord], int]:
    """A page of events, the latest first, and the total."""
    conditions: list[sa.ColumnElement[bool]] = []
    if where.contact_ids:
        conditions.append(events.c.contact_id.in_(where.contact_ids))
    if where.names:
        conditions.append(events.c.name.in_(where.names))
    if where.start is not None:
        conditions.append(events.c.occurred_at >= where.start)
    if where.end is not None:
        conditions.append(events.c.occurred_at <= where.end)
    total = connection.execute(
        sa.select(sa.func.count()).select_from(events).where(*conditions)
    ).scalar_one()
    statement = (
        sa.select(events)
        .where(*conditions)
        .order_by(events.c.occurred_at.desc(), events.c.id.desc())
        .limit(limit)
        .offset(offset)
    )
    found = [
        EventRecord(
            id=r.id,
            name=r.name,
            contact_id=r.contact_id,
            occurred_at=r.occurred_at,
            properties=r.properties or {},
        )
        for r in connection.execute(statement)
    ]
    return found, int(total)
