"""The email funnel of each workflow per day: sent -> opened -> clicked -> converted.

Counted by the day (UTC) each email was sent: of the emails sent that day, how many were
opened, clicked and followed by a conversion at least once (whenever that happened), so each
stage is a share of the one before. Opens and clicks are the tracking events naming the
message (as the per-step statistics count them); a conversion counts for the last email its
run had sent (``conversions.message_id``). One grouped query per stage.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from journeyman.store.schema import conversions, events, messages

OPENED, CLICKED = "email_opened", "email_clicked"


@dataclass
class FunnelDay:
    workflow_id: int
    day: dt.date
    sent: int = 0
    opened: int = 0
    clicked: int = 0
    converted: int = 0


@dataclass
class _Days:
    found: dict[tuple[int, dt.date], FunnelDay] = field(default_factory=dict)

    def at(self, workflow_id: int, day: Any) -> FunnelDay:
        when = day if isinstance(day, dt.date) else dt.date.fromisoformat(str(day))
        key = (workflow_id, when)
        if key not in self.found:
            self.found[key] = FunnelDay(workflow_id=workflow_id, day=when)
        return self.found[key]


def _day(connection: Connection) -> sa.ColumnElement[Any]:
    if connection.dialect.name == "postgresql":
        return sa.func.date(sa.func.timezone(sa.literal_column("'UTC'"), messages.c.sent_at))
    return sa.func.date(messages.c.sent_at)  # stored as UTC text


def funnel_txn(
    connection: Connection, workflow_id: int | None, since: dt.datetime, until: dt.datetime
) -> list[FunnelDay]:
    """Per workflow and day of sending in ``[since, until)``, oldest first."""
    day = _day(connection)
    where = [
        messages.c.channel == "email",
        messages.c.status == "sent",
        messages.c.sent_at >= since,
        messages.c.sent_at < until,
        messages.c.workflow_id.is_not(None)
        if workflow_id is None
        else messages.c.workflow_id == workflow_id,
    ]
    days = _Days()
    grouped = (messages.c.workflow_id, day)
    for workflow, when, count in _rows(connection, sa.select(*grouped, sa.func.count()), where):
        days.at(workflow, when).sent = count
    tracked = messages.join(
        events,
        sa.and_(
            events.c.contact_id == messages.c.contact_id,
            events.c.name.in_((OPENED, CLICKED)),
            events.c.properties["message_key"].as_string() == messages.c.idempotency_key,
        ),
    )
    distinct = sa.func.count(sa.distinct(messages.c.id))
    statement = sa.select(*grouped, events.c.name, distinct).select_from(tracked)
    for workflow, when, name, count in _rows(connection, statement, where, events.c.name):
        setattr(days.at(workflow, when), "opened" if name == OPENED else "clicked", count)
    converted = messages.join(conversions, conversions.c.message_id == messages.c.id)
    statement = sa.select(*grouped, distinct).select_from(converted)
    for workflow, when, count in _rows(connection, statement, where):
        days.at(workflow, when).converted = count
    return sorted(days.found.values(), key=lambda d: (d.workflow_id, d.day))


def _rows(
    connection: Connection, statement: sa.Select[Any], where: list[Any], *more: Any
) -> Iterator[Any]:
    day = _day(connection)
    yield from connection.execute(
        statement.where(*where).group_by(messages.c.workflow_id, day, *more)
    )
