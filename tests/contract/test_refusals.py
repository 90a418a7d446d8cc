"""A contact who would enter but may not: the reason is kept in the data (entry_refusals)."""

from __future__ import annotations

from journeyman.app import App

from .support import contact_id, email_step, rows, send, tick_until_idle, workflow

JANE = "jane@example.com"


def test_a_second_entry_with_reentry_off_is_refused_and_the_reason_recorded(app: App) -> None:
    app.apply_workflow(workflow(email_step(), reentry="once"))
    send(app, ("signup", JANE))
    tick_until_idle(app)
    second = send(app, ("signup", JANE))

    tick_until_idle(app)

    assert len(rows(app, "runs")) == 1
    (refusal,) = rows(app, "entry_refusals")
    assert refusal["contact_id"] == contact_id(app, JANE)
    assert refusal["event_id"] == second[0]
    assert "re-entry is off" in refusal["reason"]


def test_an_entry_while_a_run_is_inside_is_refused_with_the_run_named(app: App) -> None:
    document = workflow(
        {"id": "wait", "delay": {"days": 1}, "next": "mail"}, email_step(), reentry="every_time"
    )
    app.apply_workflow(document)
    send(app, ("signup", JANE))
    tick_until_idle(app)
    send(app, ("signup", JANE))

    tick_until_idle(app)

    (run,) = rows(app, "runs")
    (refusal,) = rows(app, "entry_refusals")
    assert f"already inside this workflow (run {run['id']})" in refusal["reason"]
