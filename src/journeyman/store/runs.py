"""Runs and the run log: creating, claiming due runs, saving their new state in bulk."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from journeyman.model.runs import RunStatus, RunView
from journeyman.store.bulk import Bulk
from journeyman.store.dialects import one_of
from journeyman.store.schema import run_log, runs

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


@dataclass(frozen=True, kw_only=True)
class NewRun:
    workflow_id: int
    version_id: int
    contact_id: int
    step_id: str
    trigger_event_id: int | None


# RunState and LogEntry are NamedTuples, not frozen dataclasses: the engine builds one of
# each per run and step on its hot path, and a NamedTuple costs a third as much to build.
class RunState(NamedTuple):
    """Where a run stands after the engine moved it."""

    run_id: int
    status: RunStatus
    step_id: str | None
    seq: int
    due_at: dt.datetime | None


class LogEntry(NamedTuple):
    run_id: int
    seq: int
    step_id: str
    kind: str
    result: str
    branch: str | None
    reason: str
    at: dt.datetime


def allocate_runs_txn(connection: Connection, new: Sequence[NewRun]) -> list[RunView]:
    """Ids for runs that the caller executes right away and then inserts with
    ``insert_runs_txn`` in the same transaction (one write per run, not insert + update)."""
    ids = Bulk(connection).allocate_ids(runs, len(new))
    return [
        RunView(
            run_id=run_id,
            workflow_id=n.workflow_id,
            version_id=n.version_id,
            contact_id=n.contact_id,
            step_id=n.step_id,
            seq=0,
            trigger_event_id=n.trigger_event_id,
        )
        for run_id, n in zip(ids, new, strict=True)
    ]


_INSERT_COLUMNS = (
    "id",
    "workflow_id",
    "version_id",
    "contact_id",
    "status",
    "step_id",
    "seq",
    "due_at",
    "trigger_event_id",
    "context",
    "entered_at",
    "updated_at",
)


def insert_runs_txn(
    connection: Connection,
    new: Sequence[RunView],
    states: Mapping[int, RunState],
    now: dt.datetime,
) -> None:
    """Insert runs allocated by ``allocate_runs_txn``, each in its state after this tick."""
    bulk = Bulk(connection)
    at, empty = bulk.time(now), bulk.json({})
    rows = []
    for run in new:
        state = states[run.run_id]
        rows.append(
            (
                run.run_id,
                run.workflow_id,
                run.version_id,
                run.contact_id,
                state.status.value,
                state.step_id,
                state.seq,
                bulk.time(state.due_at),
                run.trigger_event_id,
                empty,
                at,
                at,
            )
        )
    bulk.insert(runs, _INSERT_COLUMNS, rows)


def claim_due_runs_txn(connection: Connection, limit: int, now: dt.datetime) -> list[RunView]:
    """Due runs, oldest first, locked for the caller's transaction (SKIP LOCKED elsewhere)."""
    statement = (
        sa.select(*_VIEW_COLUMNS)
        .where(runs.c.due_at <= now)
        .order_by(runs.c.due_at, runs.c.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return [
        RunView(
            run_id=r.id,
            workflow_id=r.workflow_id,
            version_id=r.version_id,
            contact_id=r.contact_id,
            step_id=r.step_id,
            seq=r.seq,
            trigger_event_id=r.trigger_event_id,
            context=r.context,
        )
        for r in connection.execute(statement)
    ]


def save_states_txn(connection: Connection, states: Sequence[RunState], now: dt.datetime) -> None:
    """The new state of runs that were claimed (they exist already)."""
    bulk = Bulk(connection)
    at = bulk.time(now)
    bulk.update_by_id(
        runs,
        ("status", "step_id", "seq", "due_at", "updated_at"),
        [(s.status.value, s.step_id, s.seq, bulk.time(s.due_at), at, s.run_id) for s in states],
    )


_LOG_COLUMNS = ("run_id", "seq", "step_id", "kind", "result", "branch", "reason", "at")


def append_log_txn(connection: Connection, entries: Sequence[LogEntry]) -> None:
    bulk = Bulk(connection)
    bulk.insert(
        run_log,
        _LOG_COLUMNS,
        [
            (e.run_id, e.seq, e.step_id, e.kind, e.result, e.branch, e.reason, bulk.time(e.at))
            for e in entries
        ],
    )


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


def due_runs_count_txn(connection: Connection, now: dt.datetime) -> int:
    statement = sa.select(sa.func.count()).select_from(runs).where(runs.c.due_at <= now)
    return int(connection.execute(statement).scalar_one())


def status_counts_txn(connection: Connection) -> dict[str, int]:
    rows = connection.execute(sa.select(runs.c.status, sa.func.count()).group_by(runs.c.status))
    return {r[0]: r[1] for r in rows}


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
