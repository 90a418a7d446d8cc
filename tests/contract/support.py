"""Helpers of the contract tier: workflow documents and reading the store with plain SQL."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import sqlalchemy as sa

import journeyman
from journeyman import App, EventInput, FakeClock
from journeyman.documents import load_document
from journeyman.engine.stepper import TickReport
from journeyman.store import schema

EXAMPLE = Path(journeyman.__file__).parent / "examples" / "first-purchase-coupon.yaml"


def clock_of(app: App) -> FakeClock:
    """The app's clock, which the ``app`` fixture makes a FakeClock."""
    assert isinstance(app.clock, FakeClock)
    return app.clock


def coupon_document() -> dict[str, Any]:
    """The source document's example, with its template file inlined."""
    return load_document(EXAMPLE)


def workflow(
    *steps: dict[str, Any],
    key: str = "flow",
    event: str = "signup",
    where: dict[str, Any] | None = None,
    reentry: str = "once",
) -> dict[str, Any]:
    entry: dict[str, Any] = {"event": event}
    if where:
        entry["where"] = where
    return {
        "key": key,
        "name": f"Workflow {key}",
        "entry_points": [entry],
        "reentry": reentry,
        "steps": list(steps),
    }


def email_step(
    step_id: str = "mail", *, subject: str = "Hello {{ contact.FIRSTNAME }}", **more: Any
) -> dict[str, Any]:
    return {"id": step_id, "send_email": {"subject": subject, "html": "<p>Hi</p>"}, **more}


def send(app: App, *events: tuple[str, str] | EventInput) -> tuple[int, ...]:
    """Record events given as (name, email) pairs or EventInputs; all must be accepted."""
    inputs = [e if isinstance(e, EventInput) else EventInput(name=e[0], email=e[1]) for e in events]
    report = app.record_events(inputs)
    assert report.rejected == ()
    return report.ids


def tick_until_idle(
    app: App, *, batch_size: int | None = None, limit: int = 1000
) -> list[TickReport]:
    stepper = app.stepper(batch_size=batch_size)
    reports = []
    for _ in range(limit):
        report = stepper.tick()
        reports.append(report)
        if report.idle:
            return reports
    raise AssertionError(f"the engine was not idle after {limit} ticks")


def dispatch_once(app: App, transport: Any) -> int:
    return asyncio.run(app.dispatcher(transport).dispatch_once())


def rows(app: App, table: str, *order_by: str, **where: Any) -> list[dict[str, Any]]:
    """The rows of a table as dicts, filtered by equality, in ``order_by`` (default: key)."""
    t = schema.metadata.tables[table]
    statement = sa.select(t).where(*(t.c[k] == v for k, v in where.items()))
    order = order_by or tuple(c.name for c in t.primary_key.columns)
    statement = statement.order_by(*(t.c[c] for c in order))
    with app.engine.connect() as connection:
        return [dict(r._mapping) for r in connection.execute(statement)]


def count(app: App, table: str, **where: Any) -> int:
    return len(rows(app, table, **where))


def execute(app: App, sql: str, **params: Any) -> None:
    with app.engine.begin() as connection:
        connection.execute(sa.text(sql), params)


def contact_id(app: App, email: str) -> int:
    (row,) = rows(app, "contacts", email=email)
    return int(row["id"])


def members(app: App, list_name: str) -> list[str]:
    """Emails of the members of a list, sorted."""
    lists, list_members, contacts = (
        schema.lists,
        schema.list_members,
        schema.contacts,
    )
    statement = (
        sa.select(contacts.c.email)
        .select_from(list_members.join(lists).join(contacts))
        .where(lists.c.name == list_name)
        .order_by(contacts.c.email)
    )
    with app.engine.connect() as connection:
        return [r.email for r in connection.execute(statement)]


def log_of(app: App, email: str) -> list[dict[str, Any]]:
    """The run log of a contact's runs, in order (run, seq)."""
    statement = (
        sa.select(schema.run_log)
        .join(schema.runs, schema.runs.c.id == schema.run_log.c.run_id)
        .where(schema.runs.c.contact_id == contact_id(app, email))
        .order_by(schema.run_log.c.run_id, schema.run_log.c.seq)
    )
    with app.engine.connect() as connection:
        return [dict(r._mapping) for r in connection.execute(statement)]


def steps_taken(app: App, email: str) -> list[tuple[str, str]]:
    return [(r["step_id"], r["result"]) for r in log_of(app, email)]


def messages_to(
    app: App, email: str, statuses: Sequence[str] | None = None
) -> list[dict[str, Any]]:
    found = rows(app, "messages", recipient=email)
    return [m for m in found if statuses is None or m["status"] in statuses]
