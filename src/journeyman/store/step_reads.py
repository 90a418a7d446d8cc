"""Where runs stand and what they did, step by step: the graph's counts for one version and
the contacts on a step now or past it.

A run waiting on a delay (or another timing step) is stored on the step it will execute
next, with its ``due_at``; the step that made it wait is the one of its last run-log entry
(``run_log.seq = runs.seq``, read through the log's (run, seq) index). Counted there, a
delay shows the runs it holds, as a marketer expects. A run parked on its own step (a
webhook's answer, wait-for-event, quiet hours) stands on that step either way.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from journeyman.errors import NotFound
from journeyman.store.schema import contacts, run_log, runs, workflow_versions

INSIDE = ("active", "waiting")


def version_id_txn(connection: Connection, workflow_id: int, version: int) -> int:
    row = connection.execute(
        sa.select(workflow_versions.c.id).where(
            workflow_versions.c.workflow_id == workflow_id, workflow_versions.c.version == version
        )
    ).first()
    if row is None:
        raise NotFound(f"the workflow has no version {version}")
    return int(row[0])


def of_runs(workflow_id: int, version_id: int | None) -> list[sa.ColumnElement[bool]]:
    """The runs of a workflow, of one version or of all."""
    found = [runs.c.workflow_id == workflow_id]
    if version_id is not None:
        found.append(runs.c.version_id == version_id)
    return found


def _standing() -> tuple[Any, sa.ColumnElement[Any]]:
    """Runs inside joined to the log entry that made a waiting run wait; the step each
    stands on."""
    last = run_log.alias("last")
    joined = runs.outerjoin(
        last,
        sa.and_(last.c.run_id == runs.c.id, last.c.seq == runs.c.seq, runs.c.status == "waiting"),
    )
    return joined, sa.func.coalesce(last.c.step_id, runs.c.step_id)


def standing_txn(
    connection: Connection, workflow_id: int, version_id: int | None = None
) -> dict[str, int]:
    """Step id -> runs standing on it now (a delay holds the runs waiting on it)."""
    joined, step = _standing()
    statement = (
        sa.select(step, sa.func.count())
        .select_from(joined)
        .where(*of_runs(workflow_id, version_id), runs.c.status.in_(INSIDE))
        .group_by(step)
    )
    return {s: n for s, n in connection.execute(statement) if s is not None}


def held_txn(
    connection: Connection, workflow_id: int, version_id: int | None = None
) -> dict[tuple[str, str], int]:
    """(step, way out) -> runs that took the way out in the log but wait on the step still:
    a delay logs its way out when the wait begins, the run goes on when it ends."""
    last = run_log.alias("last")
    joined = runs.join(last, sa.and_(last.c.run_id == runs.c.id, last.c.seq == runs.c.seq))
    statement = (
        sa.select(last.c.step_id, last.c.branch, sa.func.count())
        .select_from(joined)
        .where(*of_runs(workflow_id, version_id), runs.c.status == "waiting")
        .where(last.c.branch.is_not(None), last.c.step_id != runs.c.step_id)
        .group_by(last.c.step_id, last.c.branch)
    )
    return {(s, b): n for s, b, n in connection.execute(statement)}


@dataclass(frozen=True, kw_only=True)
class StepCounts:
    runs: Mapping[str, int]  # run status -> runs
    entered: Mapping[str, int]  # step -> runs that executed it
    standing: Mapping[str, int]  # step -> runs on it now
    branches: Mapping[tuple[str, str], int]  # (step, way out) -> times taken
    held: Mapping[tuple[str, str], int]  # (step, way out) -> of those, runs waiting on the step


def step_counts_txn(
    connection: Connection, workflow_id: int, version_id: int | None = None
) -> StepCounts:
    """What the graph shows on its boxes and edges, for the runs of one version (or all)."""
    of = of_runs(workflow_id, version_id)
    log = run_log.join(runs, runs.c.id == run_log.c.run_id)
    entered = connection.execute(
        sa.select(run_log.c.step_id, sa.func.count(sa.distinct(run_log.c.run_id)))
        .select_from(log)
        .where(*of)
        .group_by(run_log.c.step_id)
    )
    branches = connection.execute(
        sa.select(run_log.c.step_id, run_log.c.branch, sa.func.count())
        .select_from(log)
        .where(*of, run_log.c.branch.is_not(None))
        .group_by(run_log.c.step_id, run_log.c.branch)
    )
    by_status = connection.execute(
        sa.select(runs.c.status, sa.func.count()).where(*of).group_by(runs.c.status)
    )
    return StepCounts(
        runs={s: n for s, n in by_status},
        entered={s: n for s, n in entered},
        standing=standing_txn(connection, workflow_id, version_id),
        branches={(s, b): n for s, b, n in branches},
        held=held_txn(connection, workflow_id, version_id),
    )


def contacts_on_step_txn(
    connection: Connection,
    workflow_id: int,
    step_id: str,
    *,
    passed: bool,
    version_id: int | None,
    limit: int,
    offset: int,
) -> tuple[list[dict[str, Any]], int]:
    """The runs standing on ``step_id`` now, or those that executed it (newest run first),
    with their contact; and how many there are. ``at``: when the run came to stand there
    (now), or when it executed the step (passed)."""
    of = of_runs(workflow_id, version_id)
    if passed:
        executed = sa.and_(run_log.c.run_id == runs.c.id, run_log.c.step_id == step_id)
        source: Any = runs
        conditions = [*of, sa.exists().where(executed)]
        at: Any = sa.select(sa.func.max(run_log.c.at)).where(executed).scalar_subquery()
    else:
        source, step = _standing()
        conditions = [*of, runs.c.status.in_(INSIDE), step == step_id]
        at = runs.c.updated_at
    total = connection.execute(
        sa.select(sa.func.count()).select_from(source).where(*conditions)
    ).scalar_one()
    statement = (
        sa.select(
            runs.c.id.label("run_id"),
            runs.c.contact_id,
            contacts.c.email,
            workflow_versions.c.version,
            runs.c.status,
            runs.c.step_id.label("current_step"),
            runs.c.due_at,
            at.label("at"),
        )
        .select_from(
            source.join(contacts, contacts.c.id == runs.c.contact_id).join(
                workflow_versions, workflow_versions.c.id == runs.c.version_id
            )
        )
        .where(*conditions)
        .order_by(runs.c.id.desc())
        .limit(limit)
        .offset(offset)
    )
    return [dict(r._mapping) for r in connection.execute(statement)], int(total)
