"""Reads of ``/api/v1`` and ``journeyman contacts show``: per-step statistics, pages of runs
and messages, a contact's journey, a message's tracking.

Each function reads one kind of record with one query (grouped or paged), never one query
per row, and works unchanged on SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from journeyman.errors import NotFound
from journeyman.store import outbox, step_reads
from journeyman.store import runs as run_store
from journeyman.store.schema import (
    contacts,
    conversions,
    events,
    messages,
    run_log,
    runs,
    workflow_versions,
    workflows,
)

# Events the tracking routes record for a message, with ``message_key`` = its idempotency key.
OPENED, CLICKED, UNSUBSCRIBED = "email_opened", "email_clicked", "email_unsubscribed"
TRACKING_EVENTS = (OPENED, CLICKED, UNSUBSCRIBED)


def workflow_id_txn(connection: Connection, key: str) -> int:
    row = connection.execute(sa.select(workflows.c.id).where(workflows.c.key == key)).first()
    if row is None:
        raise NotFound(f"no workflow with key {key!r}")
    return int(row[0])


def run_counts_txn(
    connection: Connection, workflow_id: int | None = None
) -> dict[int, dict[str, int]]:
    """Workflow id -> run status -> number of runs (of every workflow, or of one)."""
    statement = sa.select(runs.c.workflow_id, runs.c.status, sa.func.count()).group_by(
        runs.c.workflow_id, runs.c.status
    )
    if workflow_id is not None:
        statement = statement.where(runs.c.workflow_id == workflow_id)
    rows = connection.execute(statement)
    found: dict[int, dict[str, int]] = defaultdict(dict)
    for workflow_id, status, count in rows:
        found[workflow_id][status] = count
    return dict(found)


@dataclass
class StepStats:
    """One step of a workflow, counted from the run log, the runs, the outbox, the tracking
    events and the conversions."""

    step_id: str
    kind: str | None = None  # None: the step is not in the current version any more
    entered: int = 0  # runs that executed the step (each run once)
    waiting_now: int = 0  # runs on the step now (a delay holds those waiting on it)
    branches: dict[str, int] = field(default_factory=dict)  # way out -> times taken
    messages: dict[str, int] = field(default_factory=dict)  # outbox status -> messages
    opened: int = 0  # messages of the step opened at least once
    clicked: int = 0  # messages of the step clicked at least once
    conversions: int = 0
    revenue: dict[str, float] = field(default_factory=dict)  # currency -> sum of values


@dataclass(frozen=True, kw_only=True)
class WorkflowStats:
    runs: Mapping[str, int]  # run status -> number of runs
    converted: int  # contacts with at least one conversion in the workflow
    steps: list[StepStats]


def workflow_stats_txn(
    connection: Connection,
    workflow_id: int,
    step_kinds: Mapping[str, str],
    version_id: int | None = None,
) -> WorkflowStats:
    """``step_kinds``: the counted version's steps in order (id -> kind); steps only other
    versions had come after them. ``version_id``: only the runs of that version, their
    messages, and the conversions of contacts who had such a run (a conversion names no
    run); None: every run."""
    steps = {s: StepStats(step_id=s, kind=k) for s, k in step_kinds.items()}

    def step(step_id: str | None) -> StepStats:
        key = step_id or ""
        if key not in steps:
            steps[key] = StepStats(step_id=key)
        return steps[key]

    of_workflow = sa.and_(*step_reads.of_runs(workflow_id, version_id))
    of_messages = _of_messages(workflow_id, version_id)
    of_conversions = _of_conversions(workflow_id, version_id)
    log = run_log.join(runs, runs.c.id == run_log.c.run_id)
    for step_id, entered in connection.execute(
        sa.select(run_log.c.step_id, sa.func.count(sa.distinct(run_log.c.run_id)))
        .select_from(log)
        .where(of_workflow)
        .group_by(run_log.c.step_id)
    ):
        step(step_id).entered = entered
    for step_id, branch, count in connection.execute(
        sa.select(run_log.c.step_id, run_log.c.branch, sa.func.count())
        .select_from(log)
        .where(of_workflow, run_log.c.branch.is_not(None))
        .group_by(run_log.c.step_id, run_log.c.branch)
    ):
        step(step_id).branches[branch] = count
    run_totals: dict[str, int] = {}
    for status, count in connection.execute(
        sa.select(runs.c.status, sa.func.count()).where(of_workflow).group_by(runs.c.status)
    ):
        run_totals[status] = count
    for step_id, count in step_reads.standing_txn(connection, workflow_id, version_id).items():
        step(step_id).waiting_now = count
    for step_id, status, count in connection.execute(
        sa.select(messages.c.step_id, messages.c.status, sa.func.count())
        .where(of_messages)
        .group_by(messages.c.step_id, messages.c.status)
    ):
        step(step_id).messages[status] = count
    for step_id, name, count in connection.execute(_tracked_statement(of_messages)):
        if name == OPENED:
            step(step_id).opened = count
        else:
            step(step_id).clicked = count
    for step_id, currency, count, revenue in connection.execute(
        sa.select(
            conversions.c.step_id,
            conversions.c.currency,
            sa.func.count(),
            sa.func.sum(conversions.c.value),
        )
        .where(of_conversions)
        .group_by(conversions.c.step_id, conversions.c.currency)
    ):
        found = step(step_id)
        found.conversions += count
        found.revenue[currency] = float(revenue or 0)
    converted = connection.execute(
        sa.select(sa.func.count(sa.distinct(conversions.c.contact_id))).where(of_conversions)
    ).scalar_one()
    return WorkflowStats(runs=run_totals, converted=int(converted), steps=list(steps.values()))


def _of_messages(workflow_id: int, version_id: int | None) -> sa.ColumnElement[bool]:
    found = messages.c.workflow_id == workflow_id
    if version_id is None:
        return found
    of_version = sa.select(runs.c.id).where(runs.c.version_id == version_id)
    return sa.and_(found, messages.c.run_id.in_(of_version))


def _of_conversions(workflow_id: int, version_id: int | None) -> sa.ColumnElement[bool]:
    found = conversions.c.workflow_id == workflow_id
    if version_id is None:
        return found
    had_run = sa.exists().where(
        runs.c.version_id == version_id, runs.c.contact_id == conversions.c.contact_id
    )
    return sa.and_(found, had_run)


def _tracked_statement(of_messages: sa.ColumnElement[bool]) -> sa.Select[Any]:
    """Per step and event name: the messages opened (clicked) at least once. The contact
    joins first, so the events' (contact, name, time) index finds the candidates."""
    joined = messages.join(
        events,
        sa.and_(
            events.c.contact_id == messages.c.contact_id,
            events.c.name.in_([OPENED, CLICKED]),
            events.c.properties["message_key"].as_string() == messages.c.idempotency_key,
        ),
    )
    return (
        sa.select(messages.c.step_id, events.c.name, sa.func.count(sa.distinct(messages.c.id)))
        .select_from(joined)
        .where(of_messages)
        .group_by(messages.c.step_id, events.c.name)
    )


@dataclass(frozen=True, kw_only=True)
class RunFilter:
    workflow_id: int | None = None
    contact_id: int | None = None
    status: str | None = None


_RUN_COLUMNS = (
    runs.c.id,
    workflows.c.key.label("workflow"),
    workflow_versions.c.version,
    runs.c.contact_id,
    contacts.c.email,
    runs.c.status,
    runs.c.step_id,
    runs.c.seq,
    runs.c.due_at,
    runs.c.trigger_event_id,
    events.c.name.label("trigger_event"),
    runs.c.entered_at,
    runs.c.updated_at,
)


def runs_page_txn(
    connection: Connection, where: RunFilter, *, limit: int, offset: int
) -> tuple[list[dict[str, Any]], int]:
    """Runs, newest first, with their workflow, version, contact and trigger event; and how
    many match."""
    conditions = _run_conditions(where)
    total = connection.execute(
        sa.select(sa.func.count()).select_from(runs).where(*conditions)
    ).scalar_one()
    statement = _runs_statement(conditions).order_by(runs.c.id.desc()).limit(limit).offset(offset)
    return [dict(r._mapping) for r in connection.execute(statement)], int(total)


def _run_conditions(where: RunFilter) -> list[sa.ColumnElement[bool]]:
    conditions = []
    if where.workflow_id is not None:
        conditions.append(runs.c.workflow_id == where.workflow_id)
    if where.contact_id is not None:
        conditions.append(runs.c.contact_id == where.contact_id)
    if where.status:
        conditions.append(runs.c.status == where.status)
    return conditions


def _runs_statement(conditions: list[sa.ColumnElement[bool]]) -> sa.Select[Any]:
    return (
        sa.select(*_RUN_COLUMNS)
        .select_from(
            runs.join(workflows, workflows.c.id == runs.c.workflow_id)
            .join(workflow_versions, workflow_versions.c.id == runs.c.version_id)
            .join(contacts, contacts.c.id == runs.c.contact_id)
            .outerjoin(events, events.c.id == runs.c.trigger_event_id)
        )
        .where(*conditions)
    )


@dataclass(frozen=True, kw_only=True)
class Journey:
    """A contact's way through the workflows: its runs (with the events that started them),
    every step each run executed with the reason, and the entries refused with why."""

    runs: list[dict[str, Any]]
    log: list[dict[str, Any]]
    refusals: list[dict[str, Any]]


def journey_txn(connection: Connection, contact_id: int) -> Journey:
    entered, _ = runs_page_txn(connection, RunFilter(contact_id=contact_id), limit=10_000, offset=0)
    keys = {r["id"]: r["workflow"] for r in entered}
    log = run_store.log_of_contact_txn(connection, contact_id)
    for entry in log:
        entry["workflow"] = keys.get(entry["run_id"])
    return Journey(
        runs=entered,
        log=log,
        refusals=run_store.refusals_of_contact_txn(connection, contact_id),
    )


@dataclass(frozen=True, kw_only=True)
class MessageFilter:
    status: str | None = None
    channel: str | None = None
    workflow_id: int | None = None
    contact_email: str | None = None


_MESSAGE_COLUMNS = (
    messages.c.id,
    messages.c.status,
    messages.c.channel,
    messages.c.sender,
    messages.c.recipient,
    messages.c.subject,
    workflows.c.key.label("workflow"),
    messages.c.step_id,
    messages.c.run_id,
    messages.c.contact_id,
    messages.c.reason,
    messages.c.attempts,
    messages.c.provider_id,
    messages.c.created_at,
    messages.c.sent_at,
)


def _message_source() -> Any:
    return messages.outerjoin(workflows, workflows.c.id == messages.c.workflow_id)


def messages_page_txn(
    connection: Connection, where: MessageFilter, *, limit: int, offset: int
) -> tuple[list[dict[str, Any]], int]:
    """Outbox rows, newest first (without their bodies), and how many match."""
    conditions: list[Any] = []
    if where.status:
        conditions.append(messages.c.status == where.status)
    if where.channel:
        conditions.append(messages.c.channel == where.channel)
    if where.workflow_id is not None:
        conditions.append(messages.c.workflow_id == where.workflow_id)
    if where.contact_email:
        contact = sa.select(contacts.c.id).where(contacts.c.email == where.contact_email)
        conditions.append(messages.c.contact_id.in_(contact.scalar_subquery()))
    total = connection.execute(
        sa.select(sa.func.count()).select_from(messages).where(*conditions)
    ).scalar_one()
    statement = (
        sa.select(*_MESSAGE_COLUMNS)
        .select_from(_message_source())
        .where(*conditions)
        .order_by(messages.c.id.desc())
        .limit(limit)
        .offset(offset)
    )
    return [dict(r._mapping) for r in connection.execute(statement)], int(total)


def message_txn(connection: Connection, message_id: int) -> dict[str, Any]:
    """One outbox row with its rendered content and workflow key, or :class:`NotFound`."""
    row = outbox.get_message_txn(connection, message_id)
    if row["workflow_id"] is not None:
        row["workflow"] = connection.execute(
            sa.select(workflows.c.key).where(workflows.c.id == row["workflow_id"])
        ).scalar_one_or_none()
    return row


def tracking_events_txn(
    connection: Connection, contact_id: int | None, message_key: str
) -> list[dict[str, Any]]:
    """The opens, clicks and unsubscribes recorded for one message, oldest first."""
    if contact_id is None:
        return []
    statement = (
        sa.select(events.c.id, events.c.name, events.c.occurred_at, events.c.properties)
        .where(
            events.c.contact_id == contact_id,
            events.c.name.in_(TRACKING_EVENTS),
            events.c.properties["message_key"].as_string() == message_key,
        )
        .order_by(events.c.occurred_at, events.c.id)
    )
    return [dict(r._mapping) for r in connection.execute(statement)]
