"""Workflow-wide quiet hours: a message due inside them waits for the next allowed time, in
the contact's own time zone."""

from __future__ import annotations

import datetime as dt

from journeyman.app import App
from journeyman.store.contacts import ContactInput

from .support import clock_of, email_step, rows, send, tick_until_idle, workflow

JANE = "jane@example.com"


def test_a_message_due_in_quiet_hours_waits_for_the_morning(app: App) -> None:
    clock = clock_of(app)
    clock.set(dt.datetime(2027, 1, 4, 21, 30, tzinfo=dt.UTC))  # 22:30 in Berlin
    app.upsert_contacts([ContactInput(email=JANE, timezone="Europe/Berlin")])
    document = workflow(email_step("mail"), reentry="every_time")
    app.apply_workflow({**document, "quiet_hours": {"from": "21:00", "to": "08:00"}})
    send(app, ("signup", JANE))

    tick_until_idle(app)

    assert rows(app, "messages") == []
    (run,) = rows(app, "runs")
    assert (run["status"], run["step_id"]) == ("waiting", "mail")
    assert run["due_at"] == dt.datetime(2027, 1, 5, 7, 0, tzinfo=dt.UTC)  # 08:00 Berlin
    log = rows(app, "run_log")
    assert "quiet hours" in log[-1]["reason"]

    clock.set(dt.datetime(2027, 1, 5, 6, 59, tzinfo=dt.UTC))
    tick_until_idle(app)
    assert rows(app, "messages") == []

    clock.set(dt.datetime(2027, 1, 5, 7, 0, tzinfo=dt.UTC))
    tick_until_idle(app)
    assert [m["recipient"] for m in rows(app, "messages")] == [JANE]
    assert rows(app, "runs")[0]["status"] == "completed"


def test_outside_quiet_hours_the_message_goes_at_once(app: App) -> None:
    clock_of(app).set(dt.datetime(2027, 1, 4, 15, 0, tzinfo=dt.UTC))  # 10:00 in New York
    app.upsert_contacts([ContactInput(email=JANE, timezone="America/New_York")])
    document = workflow(email_step("mail"), reentry="every_time")
    app.apply_workflow({**document, "quiet_hours": {"from": "21:00", "to": "08:00"}})
    send(app, ("signup", JANE))

    tick_until_idle(app)

    assert [m["recipient"] for m in rows(app, "messages")] == [JANE]
