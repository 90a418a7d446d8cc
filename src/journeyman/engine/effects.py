"""Writing the effects that steps ask for, in bulk, one kind at a time.

Runs inside the pass's write transaction, so effects and the runs' progress commit
together."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy.engine import Connection

from journeyman.model.effects import (
    AddToAttribute,
    AssignOwner,
    Blocklist,
    CreateDeal,
    CreateTask,
    Effect,
    JoinList,
    LeaveList,
    QueueEmail,
    QueueMessage,
    RecordConversion,
    SetAttribute,
    StartRun,
)
from journeyman.model.runs import NewRun
from journeyman.store import contacts, conversions, crm, lists, outbox, runs
from journeyman.workflow.document import Workflow


def apply_effects_txn(
    connection: Connection,
    effects: Sequence[Effect],
    now: dt.datetime,
    live: Callable[[str], tuple[int, int, Workflow] | None],
) -> None:
    """``live(key)`` gives (workflow id, version id, definition) of an active workflow."""
    if not effects:
        return
    by_kind: dict[type, list[Any]] = {}
    for effect in effects:
        by_kind.setdefault(type(effect), []).append(effect)
    lists.join_lists_txn(connection, by_kind.get(JoinList, []), now)
    lists.leave_lists_txn(connection, by_kind.get(LeaveList, []), now)
    if QueueEmail in by_kind or QueueMessage in by_kind:
        outbox.enqueue_txn(
            connection, by_kind.get(QueueEmail, []), now, by_kind.get(QueueMessage, [])
        )
    if SetAttribute in by_kind or AddToAttribute in by_kind:
        contacts.change_attributes_txn(
            connection, by_kind.get(SetAttribute, []), by_kind.get(AddToAttribute, []), now
        )
    if Blocklist in by_kind:
        contacts.blocklist_txn(connection, by_kind[Blocklist], now)
    if RecordConversion in by_kind:
        conversions.record_txn(connection, by_kind[RecordConversion], now)
    if AssignOwner in by_kind or CreateDeal in by_kind or CreateTask in by_kind:
        crm.apply_txn(
            connection,
            by_kind.get(AssignOwner, []),
            by_kind.get(CreateDeal, []),
            by_kind.get(CreateTask, []),
            now,
        )
    if StartRun in by_kind:
        _start_runs_txn(connection, by_kind[StartRun], now, live)


def _start_runs_txn(
    connection: Connection,
    starts: Sequence[StartRun],
    now: dt.datetime,
    live: Callable[[str], tuple[int, int, Workflow] | None],
) -> None:
    new = []
    for start in starts:
        found = live(start.workflow_key)
        if found is None:  # stopped between the decision and this write: nothing to start
            continue
        workflow_id, version_id, workflow = found
        step = workflow.first_step
        if start.step_id is not None and start.step_id in workflow.steps:
            step = start.step_id
        new.append(
            NewRun(
                workflow_id=workflow_id,
                version_id=version_id,
                contact_id=start.contact_id,
                step_id=step,
                trigger_event_id=start.trigger_event_id,
                context={"chain": list(start.chain)},
            )
        )
    runs.start_runs_txn(connection, new, now)
