"""Runs and the run log: creating, claiming due runs, saving their new state in bulk."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from journeyman.model.runs import RunStatus, RunView
from journeyman.store.dialects import chunks
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
    context: dict[str, Any]


@dataclass(frozen=True, kw_only=True)
class RunState:
    """Where a run stands after the engine moved it."""

    run_id: int
    status: RunStatus
    step_id: str | None
    seq: int
    due_at: dt.datetime | None


@dataclass(frozen=True, kw_only=True)
class LogEntry:
    run_id: int
    seq: int
    step_id: str
    kind: str
    result: str
    branch: str | None
    reason: str
    at: dt.datetime


def create_runs_txn(
    connection: Connection, new: Sequence[NewRun], now: dt.datetime
) -> list[RunView]:
    """Insert runs that the caller executes right away in this transaction (not due yet)."""
    if not new:
        return []
    rows = [
        {
            "workflow_id": n.workflow_id,
            "version_id": n.version_id,
            "contact_id": n.contact_id,
            "status": RunStatus.ACTIVE.value,
            "step_id": n.step_id,
            "seq": 0,
            "due_at": None,
            "trigger_event_id": n.trigger_event_id,
            "context": n.context,
            "entered_at": now,
            "updated_at": now,
        }
        for n in new
    ]
    statement = sa.insert(runs).returning(runs.c.id, sort_by_parameter_order=True)
    ids = [r.id for r in connection.execute(statement, rows)]
    return [
        RunView(
            run_id=run_id,
            workflow_id=n.workflow_id,
            version_id=n.version_id,
            contact_id=n.contact_id,
            step_id=n.step_id,
            seq=0,
            trigger_event_id=n.trigger_event_id,
            context=n.context,
        )
        for run_id, n in zip(ids, new, strict=True)
    ]


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
    if not states:
        return
    statement = (
        sa.update(runs)
        .where(runs.c.id == sa.bindparam("b_id"))
        .values(
            status=sa.bindparam("b_status"),
            step_id=sa.bindparam("b_step"),
            seq=sa.bindparam("b_seq"),
            due_at=sa.bindparam("b_due", type_=runs.c.due_at.type),
            updated_at=now,
        )
    )
    connection.execute(
        statement,
        [
            {
                "b_id": s.run_id,
                "b_status": s.status.value,
                "b_step": s.step_id,
                "b_seq": s.seq,
                "b_due": s.due_at,
            }
            for s in states
        ],
    )


def append_log_txn(connection: Connection, entries: Sequence[LogEntry]) -> None:
    if entries:
        connection.execute(
            sa.insert(run_log),
            [
                {
                    "run_id": e.run_id,
                    "seq": e.seq,
                    "step_id": e.step_id,
                    "kind": e.kind,
                    "result": e.result,
                    "branch": e.branch,
                    "reason": e.reason,
                    "at": e.at,
                }
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
    found: set[tuple[int, int]] = set()
    for part in chunks(sorted(set(contact_ids))):
        rows = connection.execute(
            sa.select(runs.c.workflow_id, runs.c.contact_id)
            .where(runs.c.workflow_id.in_(wanted), runs.c.contact_id.in_(part))
            .distinct()
        )
        found.update((r.workflow_id, r.contact_id) for r in rows)
    return found


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
