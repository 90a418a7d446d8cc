"""Runs and the run log: creating, claiming due runs, saving their new state in bulk."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from journeyman.errors import StoreError
from journeyman.model.runs import (
    InFlight,
    LogEntry,
    NewRun,
    Refusal,
    RunChange,
    RunState,
    RunStatus,
    RunView,
)
from journeyman.model.shards import EVERYONE, Shard
from journeyman.store.bulk import Bulk
from journeyman.store.dialects import one_of
from journeyman.store.schema import entry_refusals, events, run_log, runs, workflows

_VIEW_COLUMNS = (
    runs.c.id,
    runs.c.workflow_id,
    runs.c.version_id,
    runs.c.contact_id,
    runs.c.step_id,
    runs.c.seq,
    runs.c.trigger_event_id,
    runs.c.context,
)


class LeaseLost(StoreError):
    """Another worker took over runs this worker held (its lease ran out); the batch is
    dropped and its transaction rolled back."""


def insert_claimed_runs_txn(
    connection: Connection,
    new: Sequence[NewRun],
    now: dt.datetime,
    *,
    lease_until: dt.datetime,
    claim: str,
) -> list[RunView]:
    """Insert new runs already held by ``claim`` until ``lease_until``."""
    ids = _insert_runs_txn(connection, new, now, due_at=lease_until, claim=claim)
    return [
        RunView(
            run_id=i,
            workflow_id=n.workflow_id,
            version_id=n.version_id,
            contact_id=n.contact_id,
            step_id=n.step_id,
            seq=0,
            trigger_event_id=n.trigger_event_id,
            context=n.context,
        )
        for i, n in zip(ids, new, strict=True)
    ]


def start_runs_txn(connection: Connection, new: Sequence[NewRun], now: dt.datetime) -> None:
    """Insert runs due at once, held by no one: the worker of the contact's shard picks
    them up."""
    _insert_runs_txn(connection, new, now, due_at=now, claim=None)


def _insert_runs_txn(
    connection: Connection,
    new: Sequence[NewRun],
    now: dt.datetime,
    *,
    due_at: dt.datetime,
    claim: str | None,
) -> list[int]:
    """The new runs' ids (allocated first: no ``RETURNING`` round trip)."""
    bulk = Bulk(connection)
    ids = bulk.allocate_ids(runs, len(new))
    at, due, empty = bulk.time(now), bulk.time(due_at), bulk.json({})
    active = RunStatus.ACTIVE.value
    bulk.insert(
        runs,
        RUN_COLUMNS,
        [
            (
                i,
                n.workflow_id,
                n.version_id,
                n.contact_id,
                active,
                n.step_id,
                0,
                due,
                claim,
                n.trigger_event_id,
                bulk.json(dict(n.context)) if n.context else empty,
                at,
                at,
            )
            for i, n in zip(ids, new, strict=True)
        ],
    )
    return ids


# The columns of a run row and of a run-log row, in the order the bulk inserts use.
RUN_COLUMNS = (
    "id",
    "workflow_id",
    "version_id",
    "contact_id",
    "status",
    "step_id",
    "seq",
    "due_at",
    "claim",
    "trigger_event_id",
    "context",
    "entered_at",
    "updated_at",
)


def claim_due_runs_txn(
    connection: Connection,
    limit: int,
    now: dt.datetime,
    *,
    lease_until: dt.datetime,
    claim: str,
    shard: Shard = EVERYONE,
) -> list[RunView]:
    """Hold up to ``limit`` due runs of this shard, oldest first, until ``lease_until``.

    A run whose holder died becomes due again when its lease ends.
    """
    index, count = shard.index, shard.count
    statement = sa.select(*_VIEW_COLUMNS).where(runs.c.due_at <= now)
    if count > 1:
        statement = statement.where(runs.c.contact_id % count == index)
    statement = (
        statement.order_by(runs.c.due_at, runs.c.id).limit(limit).with_for_update(skip_locked=True)
    )
    views = [
        RunView(
            run_id=r.id,
            workflow_id=r.workflow_id,
            version_id=r.version_id,
            contact_id=r.contact_id,
            step_id=r.step_id,
            seq=r.seq,
            trigger_event_id=r.trigger_event_id,
            context=r.context or {},
        )
        for r in connection.execute(statement)
    ]
    if views:
        connection.execute(
            sa.update(runs)
            .where(one_of(connection, runs.c.id, [v.run_id for v in views]))
            .values(due_at=lease_until, claim=claim)
        )
    return views


def save_states_txn(
    connection: Connection, states: Sequence[RunState], now: dt.datetime, *, claim: str
) -> None:
    """Write where held runs stand; a run that goes on stays held, the others are let go.

    Raises LeaseLost, and nothing is written, when any of them is no longer held by ``claim``.
    """
    bulk = Bulk(connection)
    at = bulk.time(now)
    changed = 0
    for with_context in (False, True):
        chosen = [s for s in states if (s.context is not None) is with_context]
        extra: tuple[str, ...] = ("context",) if with_context else ()

        def more(s: RunState, with_context: bool = with_context) -> tuple[Any, ...]:
            return (bulk.json(s.context),) if with_context else ()

        going = [(s.step_id, s.seq, at, *more(s), s.run_id) for s in chosen if s.holding]
        stopped = [
            (s.status.value, s.step_id, s.seq, bulk.time(s.due_at), at, None, *more(s), s.run_id)
            for s in chosen
            if not s.holding
        ]
        changed += bulk.update(
            runs, ("step_id", "seq", "updated_at", *extra), going, guard=("claim", claim)
        ) + bulk.update(
            runs,
            ("status", "step_id", "seq", "due_at", "updated_at", "claim", *extra),
            stopped,
            guard=("claim", claim),
        )
    if changed != len(states):
        raise LeaseLost(f"{len(states) - changed} of {len(states)} runs are held elsewhere now")


LOG_COLUMNS = ("run_id", "seq", "step_id", "kind", "result", "branch", "reason", "at")


def append_log_txn(connection: Connection, entries: Sequence[LogEntry]) -> None:
    bulk = Bulk(connection)
    bulk.insert(
        run_log,
        LOG_COLUMNS,
        [
            (e.run_id, e.seq, e.step_id, e.kind, e.result, e.branch, e.reason, bulk.time(e.at))
            for e in entries
        ],
    )


def claims_txn(connection: Connection) -> list[str]:
    """The workers holding runs right now."""
    rows = connection.execute(sa.select(runs.c.claim).where(runs.c.claim.is_not(None)).distinct())
    return [r.claim for r in rows]


def release_claims_txn(connection: Connection, claims: Sequence[str], now: dt.datetime) -> int:
    """Make the runs of dead workers due at once (instead of when their lease ends)."""
    if not claims:
        return 0
    result = connection.execute(
        sa.update(runs).where(runs.c.claim.in_(list(claims))).values(due_at=now, claim=None)
    )
    return int(result.rowcount)


# Any constant: the key of PostgreSQL's advisory lock for enrolments.
_ENROLMENT_LOCK = 0x4A4D454E


def serialize_enrolments_txn(connection: Connection) -> None:
    """Enrol one transaction at a time, so that two workers cannot both find that a contact
    never entered a ``once`` workflow (PostgreSQL; SQLite has one writer anyway)."""
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_ENROLMENT_LOCK})")


def entered_txn(
    connection: Connection, workflow_ids: Iterable[int], contact_ids: Iterable[int]
) -> set[tuple[int, int]]:
    """(workflow id, contact id) pairs that already have a run."""
    wanted = sorted(set(workflow_ids))
    if not wanted:
        return set()
    rows = connection.execute(
        sa.select(runs.c.workflow_id, runs.c.contact_id)
        .where(runs.c.workflow_id.in_(wanted), one_of(connection, runs.c.contact_id, contact_ids))
        .distinct()
    )
    return {(r.workflow_id, r.contact_id) for r in rows}


def due_runs_count_txn(
    connection: Connection,
    now: dt.datetime,
    *,
    up_to: int | None = None,
    shard: Shard = EVERYONE,
) -> int:
    """How many runs of this shard are due by ``now``; counting stops at ``up_to`` (so that
    a large backlog costs no more than that). Nothing is held."""
    index, count = shard.index, shard.count
    statement = sa.select(runs.c.id).where(runs.c.due_at <= now)
    if count > 1:
        statement = statement.where(runs.c.contact_id % count == index)
    if up_to is not None:
        statement = statement.limit(up_to)
    found = sa.select(sa.func.count()).select_from(statement.subquery())
    return int(connection.execute(found).scalar_one())


def status_counts_txn(connection: Connection) -> dict[str, int]:
    rows = connection.execute(sa.select(runs.c.status, sa.func.count()).group_by(runs.c.status))
    return {r[0]: r[1] for r in rows}


def next_due_txn(connection: Connection) -> dt.datetime | None:
    """When the earliest run inside is due (a delay's end, a wait's timeout, a window)."""
    inside = (RunStatus.ACTIVE.value, RunStatus.WAITING.value)
    statement = sa.select(sa.func.min(runs.c.due_at)).where(runs.c.status.in_(inside))
    due: dt.datetime | None = connection.execute(statement).scalar()
    return due


def log_of_contact_txn(connection: Connection, contact_id: int) -> list[dict[str, Any]]:
    statement = (
        sa.select(
            run_log.c.run_id,
            runs.c.workflow_id,
            run_log.c.seq,
            run_log.c.step_id,
            run_log.c.kind,
            run_log.c.result,
            run_log.c.branch,
            run_log.c.reason,
            run_log.c.at,
        )
        .join(runs, runs.c.id == run_log.c.run_id)
        .where(runs.c.contact_id == contact_id)
        .order_by(run_log.c.run_id, run_log.c.seq)
    )
    return [dict(r._mapping) for r in connection.execute(statement)]


def in_flight_txn(
    connection: Connection, contact_ids: Iterable[int], now: dt.datetime
) -> list[InFlight]:
    """Runs of these contacts that are inside a workflow, with their trigger event's
    properties."""
    trigger = events.alias("trigger")
    statement = (
        sa.select(
            *_VIEW_COLUMNS,
            runs.c.status,
            sa.case((runs.c.claim.is_not(None), True), else_=False).label("held"),
            sa.case((runs.c.due_at <= now, True), else_=False).label("due"),
            trigger.c.properties,
        )
        .select_from(runs.outerjoin(trigger, trigger.c.id == runs.c.trigger_event_id))
        .where(
            one_of(connection, runs.c.contact_id, contact_ids),
            runs.c.status.in_([RunStatus.ACTIVE.value, RunStatus.WAITING.value]),
        )
    )
    return [
        InFlight(
            run_id=r.id,
            workflow_id=r.workflow_id,
            version_id=r.version_id,
            contact_id=r.contact_id,
            status=RunStatus(r.status),
            step_id=r.step_id,
            seq=r.seq,
            trigger_event_id=r.trigger_event_id,
            context=r.context or {},
            trigger_properties=r.properties or {},
            held=bool(r.held),
            due=bool(r.due),
        )
        for r in connection.execute(statement)
    ]


def last_entered_txn(
    connection: Connection, workflow_ids: Iterable[int], contact_ids: Iterable[int]
) -> dict[tuple[int, int], dt.datetime]:
    wanted = sorted(set(workflow_ids))
    if not wanted:
        return {}
    statement = (
        sa.select(runs.c.workflow_id, runs.c.contact_id, sa.func.max(runs.c.entered_at))
        .where(runs.c.workflow_id.in_(wanted), one_of(connection, runs.c.contact_id, contact_ids))
        .group_by(runs.c.workflow_id, runs.c.contact_id)
    )
    found: dict[tuple[int, int], dt.datetime] = {}
    for workflow_id, contact_id, entered in connection.execute(statement):
        if isinstance(entered, str):  # SQLite's max() returns the stored text
            entered = dt.datetime.fromisoformat(entered).replace(tzinfo=dt.UTC)
        elif entered.tzinfo is None:
            entered = entered.replace(tzinfo=dt.UTC)
        found[(workflow_id, contact_id)] = entered
    return found


def apply_reactions_txn(
    connection: Connection, changes: Sequence[RunChange], now: dt.datetime
) -> None:
    """What events did to runs inside: goals and exits end runs, restarts and wakes make
    them due now. Logged with kind ``lifecycle``."""
    if not changes:
        return
    bulk = Bulk(connection)
    at = bulk.time(now)
    # the claim is cleared: a worker holding one of these runs loses it (its save fails)
    ending = [
        (c.status.value, c.step_id, c.seq, None, at, None, c.run_id)
        for c in changes
        if c.context is None
    ]
    going = [
        (c.status.value, c.step_id, c.seq, at, bulk.json(c.context), at, None, c.run_id)
        for c in changes
        if c.context is not None
    ]
    bulk.update(runs, ("status", "step_id", "seq", "due_at", "updated_at", "claim"), ending)
    bulk.update(
        runs, ("status", "step_id", "seq", "due_at", "context", "updated_at", "claim"), going
    )
    append_log_txn(
        connection,
        [
            LogEntry(
                run_id=c.run_id,
                seq=c.seq,
                step_id=c.step_id or "",
                kind="lifecycle",
                result=c.result,
                branch=None,
                reason=c.reason,
                at=now,
            )
            for c in changes
        ],
    )


def held_txn(connection: Connection, run_ids: Iterable[int], claim: str) -> set[int]:
    """Which of these runs ``claim`` still holds."""
    statement = sa.select(runs.c.id).where(
        one_of(connection, runs.c.id, run_ids), runs.c.claim == claim
    )
    return {r[0] for r in connection.execute(statement)}


def exit_all_txn(connection: Connection, workflow_id: int, reason: str, now: dt.datetime) -> int:
    """Every run inside the workflow exits (the workflow was stopped), with the reason logged."""
    inside = connection.execute(
        sa.select(runs.c.id, runs.c.seq, runs.c.step_id).where(
            runs.c.workflow_id == workflow_id,
            runs.c.status.in_([RunStatus.ACTIVE.value, RunStatus.WAITING.value]),
        )
    ).all()
    apply_reactions_txn(
        connection,
        [
            RunChange(
                run_id=r.id,
                seq=r.seq + 1,
                status=RunStatus.EXITED,
                step_id=r.step_id,
                context=None,
                result="exited",
                reason=reason,
            )
            for r in inside
        ],
        now,
    )
    return len(inside)


def migrate_txn(
    connection: Connection,
    workflow_id: int,
    from_version_id: int,
    to_version_id: int,
    mapping: Mapping[str, str],
    now: dt.datetime,
) -> int:
    """Move the runs inside one version onto another, each step id through ``mapping``
    (unmapped ids are kept), in the run's context too (what a step waits for, webhook
    answers by step). Runs held by a worker right now are left alone."""
    inside = connection.execute(
        sa.select(runs.c.id, runs.c.step_id, runs.c.context).where(
            runs.c.workflow_id == workflow_id,
            runs.c.version_id == from_version_id,
            runs.c.status.in_([RunStatus.ACTIVE.value, RunStatus.WAITING.value]),
            runs.c.claim.is_(None),
        )
    ).all()
    bulk = Bulk(connection)
    at = bulk.time(now)
    return bulk.update(
        runs,
        ("version_id", "step_id", "context", "updated_at"),
        [
            (
                to_version_id,
                mapping.get(r.step_id, r.step_id),
                bulk.json(_renamed_steps(r.context or {}, mapping)),
                at,
                r.id,
            )
            for r in inside
        ],
    )


def _renamed_steps(context: Mapping[str, Any], mapping: Mapping[str, str]) -> dict[str, Any]:
    """A run's context with the step ids it holds renamed through ``mapping``."""
    renamed = dict(context)
    waiting = context.get("waiting")
    if isinstance(waiting, Mapping) and "step" in waiting:
        renamed["waiting"] = {**waiting, "step": mapping.get(waiting["step"], waiting["step"])}
    for by_step in ("waited", "webhook"):
        found = context.get(by_step)
        if isinstance(found, Mapping):
            renamed[by_step] = {mapping.get(k, k): v for k, v in found.items()}
    return renamed


def record_refusals_txn(
    connection: Connection, refusals: Sequence[Refusal], now: dt.datetime
) -> None:
    """Why contacts did not enter (their journeys show it)."""
    bulk = Bulk(connection)
    at = bulk.time(now)
    bulk.insert(
        entry_refusals,
        ("workflow_id", "contact_id", "event_id", "reason", "at"),
        [(r.workflow_id, r.contact_id, r.event_id, r.reason, at) for r in refusals],
    )


def refusals_of_contact_txn(connection: Connection, contact_id: int) -> list[dict[str, Any]]:
    statement = (
        sa.select(
            workflows.c.key.label("workflow"),
            entry_refusals.c.event_id,
            entry_refusals.c.reason,
            entry_refusals.c.at,
        )
        .join(workflows, workflows.c.id == entry_refusals.c.workflow_id)
        .where(entry_refusals.c.contact_id == contact_id)
        .order_by(entry_refusals.c.id)
    )
    return [dict(r._mapping) for r in connection.execute(statement)]
