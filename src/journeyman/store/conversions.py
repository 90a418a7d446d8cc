"""Conversions: recorded by workflows, attributed to workflow, step and last message."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from journeyman.model.effects import RecordConversion
from journeyman.store.schema import conversions, messages, workflows

# Inline constants, not an expanding IN parameter: that cannot go through executemany().
_SENT_OR_GOING: list[sa.ColumnClause[Any]] = [
    sa.literal_column(f"'{s}'") for s in ("queued", "sending", "sent")
]


def record_txn(connection: Connection, items: Sequence[RecordConversion], now: dt.datetime) -> None:
    """One row per conversion; its ``source_key`` makes a replay a no-op."""
    if not items:
        return
    dialect: Any = postgresql if connection.dialect.name == "postgresql" else sqlite
    # The contact's id is redundant with the run's, but messages has no index on run_id:
    # without it, each conversion would read the whole outbox.
    last_message = (
        sa.select(sa.func.max(messages.c.id))
        .where(
            messages.c.contact_id == sa.bindparam("b_contact"),
            messages.c.run_id == sa.bindparam("b_run"),
            messages.c.status.in_(_SENT_OR_GOING),
        )
        .scalar_subquery()
    )
    statement = (
        dialect.insert(conversions)
        .values(
            name=sa.bindparam("b_name"),
            value=sa.bindparam("b_value"),
            currency=sa.bindparam("b_currency"),
            contact_id=sa.bindparam("b_contact"),
            workflow_id=sa.bindparam("b_workflow"),
            step_id=sa.bindparam("b_step"),
            message_id=last_message,
            source_key=sa.bindparam("b_key"),
            at=sa.bindparam("b_at", type_=conversions.c.at.type),
        )
        .on_conflict_do_nothing()
    )
    connection.execute(
        statement,
        [
            {
                "b_run": c.run_id,
                "b_name": c.name,
                "b_value": c.value,
                "b_currency": c.currency,
                "b_contact": c.contact_id,
                "b_workflow": c.workflow_id,
                "b_step": c.step_id,
                "b_key": c.key,
                "b_at": now,
            }
            for c in items
        ],
    )


def report_txn(
    connection: Connection,
    *,
    by_step: bool,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
) -> list[dict[str, Any]]:
    """Count and revenue per workflow (and step), per currency; recorded in
    ``[since, until)`` when given."""
    within = []
    if since is not None:
        within.append(conversions.c.at >= since)
    if until is not None:
        within.append(conversions.c.at < until)
    keys = [workflows.c.key.label("workflow"), conversions.c.currency]
    if by_step:
        keys.insert(1, conversions.c.step_id.label("step"))
    statement = (
        sa.select(
            *keys,
            sa.func.count().label("conversions"),
            sa.func.sum(conversions.c.value).label("revenue"),
        )
        .select_from(conversions.join(workflows, workflows.c.id == conversions.c.workflow_id))
        .where(*within)
        .group_by(*keys)
        .order_by(*keys)
    )
    return [dict(r._mapping) for r in connection.execute(statement)]
