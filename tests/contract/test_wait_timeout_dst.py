"""A wait for an event with a timeout in days ends on the contact's own wall clock, across a
daylight-saving change."""

from __future__ import annotations

import datetime as dt

from journeyman.app import App
from journeyman.store.contacts import ContactInput

from .support import clock_of, email_step, rows, send, tick_until_idle, workflow

JANE = "jane@example.com"


def test_a_one_day_timeout_across_spring_forward_ends_at_the_same_local_time(app: App) -> None:
    clock = clock_of(app)
    clock.set(dt.datetime(2027, 3, 27, 8, 0, tzinfo=dt.UTC))  # 09:00 CET, the day before DST
    app.upsert_contacts([ContactInput(email=JANE, timezone="Europe/Berlin")])
    wait = {
        "id": "wait",
        "wait_for_event": {"event": "order_created", "timeout": {"days": 1}},
        "then": "end",
        "else": "mail",
    }
    app.apply_workflow(workflow(wait, email_step("mail"), reentry="every_time"))
    send(app, ("signup", JANE))

    tick_until_idle(app)

    (run,) = rows(app, "runs")
    # 09:00 CEST on 28 March is 07:00 UTC: 23 hours later, not 24
    assert run["due_at"] == dt.datetime(2027, 3, 28, 7, 0, tzinfo=dt.UTC)
    clock.set(dt.datetime(2027, 3, 28, 7, 0, tzinfo=dt.UTC))
    tick_until_idle(app)
    assert [m["recipient"] for m in rows(app, "messages")] == [JANE]
