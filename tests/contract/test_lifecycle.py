"""Workflow settings and lifecycle on both databases, with the FakeClock and the stepper:
re-entry (once, after a gap, one run at a time, parallel runs), exit / restart / goal events,
wait for an event (in time, timeout, correlated), stop and pause, versions and migration."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

import pytest

from journeyman import App, EventInput
from journeyman.errors import InvalidInput
from journeyman.model.runs import RunState, RunStatus
from journeyman.store import runs, transaction
from journeyman.store.workflows import WorkflowStatus

from .support import (
    clock_of,
    contact_id,
    count,
    email_step,
    log_of,
    messages_to,
    rows,
    send,
    tick_until_idle,
    workflow,
)

JANE, JOHN = "jane@example.com", "john@example.com"
HOUR, DAY = dt.timedelta(hours=1), dt.timedelta(days=1)


def flow(*steps: dict[str, Any], **settings: Any) -> dict[str, Any]:
    """A workflow entered on ``signup`` with document settings (reentry, exit_when, ...)."""
    return {**workflow(*steps), **settings}


def delay(step_id: str, then: str, **length: int) -> dict[str, Any]:
    return {"id": step_id, "delay": length or {"days": 1}, "next": then}


def wait_for(
    event: str, then: str = "arrived", otherwise: str = "timed_out", **more: Any
) -> dict[str, Any]:
    return {
        "id": "wait",
        "wait_for_event": {"event": event, "timeout": {"hours": 1}, **more},
        "then": then,
        "else": otherwise,
    }


def later(app: App, step: dt.timedelta) -> None:
    clock_of(app).advance(step)
    tick_until_idle(app)


def event(name: str, email: str = JANE, **properties: Any) -> EventInput:
    return EventInput(name=name, email=email, properties=properties)


def runs_of(app: App, email: str = JANE) -> list[dict[str, Any]]:
    return rows(app, "runs", "id", contact_id=contact_id(app, email))


def statuses(app: App, email: str = JANE) -> list[str]:
    return [r["status"] for r in runs_of(app, email)]


def subjects(app: App, email: str = JANE) -> list[str]:
    return [m["subject"] for m in rows(app, "messages", "id", recipient=email)]


def lifecycle_log(app: App, email: str = JANE) -> list[tuple[str, str, str]]:
    return [
        (r["step_id"], r["result"], r["reason"])
        for r in log_of(app, email)
        if r["kind"] == "lifecycle"
    ]


def utc(when: dt.datetime) -> dt.datetime:
    """A stored time: naive UTC on SQLite, aware on PostgreSQL."""
    return when.replace(tzinfo=dt.UTC) if when.tzinfo is None else when.astimezone(dt.UTC)


def refusals(caplog: pytest.LogCaptureFixture) -> list[tuple[str, int]]:
    """(reason, event id) of each ``enrolment_refused`` log record."""
    return [
        (r.getMessage().removeprefix("enrolment refused: "), r.__dict__["event_id"])
        for r in caplog.records
        if r.__dict__.get("action") == "enrolment_refused"
    ]


# --- re-entry -----------------------------------------------------------------------------


def test_a_second_entry_with_reentry_once_is_refused_with_the_reason_logged(
    app: App, caplog: pytest.LogCaptureFixture
) -> None:
    app.apply_workflow(flow(email_step(), reentry="once"))
    send(app, ("signup", JANE))
    tick_until_idle(app)
    clock_of(app).advance(DAY)
    with caplog.at_level(logging.INFO, logger="journeyman"):
        (again,) = send(app, ("signup", JANE))
        tick_until_idle(app)

    assert statuses(app) == ["completed"]
    assert len(messages_to(app, JANE)) == 1
    assert refusals(caplog) == [
        ("re-entry is off and the contact already entered this workflow", again)
    ]
    # In the data, the refused event is kept and left the queue; no table records refusals.
    assert [e["id"] for e in rows(app, "events", contact_id=contact_id(app, JANE))][-1] == again
    assert count(app, "event_queue") == 0


def test_reentry_after_a_gap_is_refused_inside_the_gap_and_admitted_after_it(
    app: App, caplog: pytest.LogCaptureFixture
) -> None:
    app.apply_workflow(flow(email_step(), reentry={"after": {"days": 7}}))
    send(app, ("signup", JANE))
    tick_until_idle(app)
    with caplog.at_level(logging.INFO, logger="journeyman"):
        later(app, 3 * DAY)
        (early,) = send(app, ("signup", JANE))
        tick_until_idle(app)
        refused = statuses(app)
        later(app, 4 * DAY - dt.timedelta(minutes=1))
        (still_early,) = send(app, ("signup", JANE))
        tick_until_idle(app)
        later(app, dt.timedelta(minutes=1))  # exactly 7 days after the first entry
        send(app, ("signup", JANE))
        tick_until_idle(app)

    assert refused == ["completed"]
    assert refusals(caplog) == [
        ("entered 3 days ago; again after 7", early),
        ("entered 6 days ago; again after 7", still_early),
    ]
    assert statuses(app) == ["completed", "completed"]
    assert len(messages_to(app, JANE)) == 2


def test_one_run_at_a_time_refuses_an_event_while_the_first_run_waits(
    app: App, caplog: pytest.LogCaptureFixture
) -> None:
    app.apply_workflow(flow(delay("wait", "mail"), email_step(), reentry="every_time"))
    send(app, ("signup", JANE))
    tick_until_idle(app)
    (first,) = runs_of(app)
    with caplog.at_level(logging.INFO, logger="journeyman"):
        (refused,) = send(app, ("signup", JANE))
        tick_until_idle(app)
    later(app, DAY)  # the first run ends
    send(app, ("signup", JANE))
    tick_until_idle(app)

    assert refusals(caplog) == [(f"already inside this workflow (run {first['id']})", refused)]
    assert statuses(app) == ["completed", "waiting"]
    assert len(messages_to(app, JANE)) == 1


def test_two_events_in_one_batch_the_second_enrols_on_the_next_tick(app: App) -> None:
    app.apply_workflow(flow(email_step(), reentry="every_time"))
    first, second = send(app, ("signup", JANE), ("signup", JANE))
    stepper = app.stepper()

    one = stepper.tick()
    after_one = (statuses(app), count(app, "event_queue"))
    two = stepper.tick()

    assert (one.events, one.enrolled) == (1, 1)  # events decided
    assert after_one == (["completed"], 1)  # the second event went back to the queue
    assert (two.events, two.enrolled) == (1, 1)
    assert [(r["trigger_event_id"], r["status"]) for r in runs_of(app)] == [
        (first, "completed"),
        (second, "completed"),
    ]
    assert len(messages_to(app, JANE)) == 2


def test_parallel_runs_enter_beside_each_other(app: App) -> None:
    app.apply_workflow(
        flow(delay("wait", "mail"), email_step(), reentry="every_time", allow_parallel_runs=True)
    )
    send(app, ("signup", JANE), ("signup", JANE))  # one batch
    tick_until_idle(app)
    later(app, HOUR)
    send(app, ("signup", JANE))  # while both wait
    tick_until_idle(app)
    waiting = statuses(app)
    later(app, DAY - HOUR)  # the first two end

    assert waiting == ["waiting", "waiting", "waiting"]
    assert statuses(app) == ["completed", "completed", "waiting"]
    assert len(messages_to(app, JANE)) == 2


# --- exit, restart, goals -----------------------------------------------------------------


def test_an_exit_event_while_the_run_waits_in_a_delay_ends_it_there(app: App) -> None:
    app.apply_workflow(
        flow(delay("wait", "mail"), email_step(), exit_when=[{"event": "unsubscribed"}])
    )
    send(app, ("signup", JANE), ("signup", JOHN))
    tick_until_idle(app)
    later(app, HOUR)
    send(app, event("unsubscribed"))
    tick_until_idle(app)
    (run,) = runs_of(app)
    later(app, 2 * DAY)

    assert (run["status"], run["step_id"], run["due_at"]) == ("exited", "mail", None)
    assert lifecycle_log(app) == [("mail", "exited", "exit: unsubscribed")]
    assert [r["kind"] for r in log_of(app, JANE)] == ["delay", "lifecycle"]  # nothing after
    assert messages_to(app, JANE) == []
    assert statuses(app, JOHN) == ["completed"]  # another contact's run goes on
    assert len(messages_to(app, JOHN)) == 1


def test_an_exit_correlated_on_the_cart_ignores_an_order_for_another_cart(app: App) -> None:
    document = flow(
        delay("wait", "mail"),
        email_step(),
        exit_when=[{"event": "order_created", "same": "cart_id"}],
    )
    app.apply_workflow({**document, "entry_points": [{"event": "cart_updated"}]})
    send(app, event("cart_updated", cart_id="A"))
    tick_until_idle(app)
    later(app, HOUR)
    send(app, event("order_created", cart_id="B"), event("order_created"))
    tick_until_idle(app)
    other_carts = statuses(app)
    later(app, HOUR)
    send(app, event("order_created", cart_id="A"))
    tick_until_idle(app)

    assert other_carts == ["waiting"]
    assert statuses(app) == ["exited"]
    assert lifecycle_log(app) == [("mail", "exited", "exit: order_created")]


def test_a_restart_event_sends_the_run_back_to_the_first_step(app: App) -> None:
    app.apply_workflow(
        flow(
            email_step("first", subject="first", next="wait"),
            delay("wait", "second"),
            email_step("second", subject="second"),
            restart_when=[{"event": "browsed"}],
        )
    )
    send(app, ("signup", JANE))
    tick_until_idle(app)
    later(app, 2 * HOUR)
    send(app, event("browsed"))
    tick_until_idle(app)
    (run,) = runs_of(app)
    later(app, DAY - HOUR)  # a day after the start: the first wait would have ended
    before = subjects(app)
    later(app, HOUR)  # a day after the restart

    assert (run["status"], run["step_id"]) == ("waiting", "second")
    assert utc(run["due_at"]) == clock_of(app).now()  # a day after the restart
    # Logged on the step the run goes back to.
    assert lifecycle_log(app) == [("first", "restarted", "restart: browsed")]
    assert [(r["step_id"], r["result"]) for r in log_of(app, JANE)][2:5] == [
        ("first", "restarted"),
        ("first", "queued"),
        ("wait", "waiting"),
    ]
    assert before == ["first", "first"]
    assert subjects(app) == ["first", "first", "second"]
    assert statuses(app) == ["completed"]


def test_a_goal_ends_the_run_as_converted(app: App) -> None:
    app.apply_workflow(
        flow(
            delay("wait", "mail", days=3),
            email_step(),
            goals=[{"event": "purchase", "where": {"amount": {"gte": 50}}}],
        )
    )
    send(app, ("signup", JANE))
    tick_until_idle(app)
    later(app, DAY)
    send(app, event("purchase", amount=10))  # not the goal
    tick_until_idle(app)
    small = statuses(app)
    send(app, event("purchase", amount=80))
    tick_until_idle(app)
    later(app, 3 * DAY)

    assert small == ["waiting"]
    assert statuses(app) == ["completed"]
    assert lifecycle_log(app) == [("mail", "converted", "goal reached: purchase")]
    assert messages_to(app, JANE) == []


# --- wait for an event --------------------------------------------------------------------


def test_wait_for_event_then_when_it_arrives_in_time_else_at_the_timeout(app: App) -> None:
    app.apply_workflow(
        flow(
            wait_for("purchase"),
            email_step("arrived", subject="thanks"),
            email_step("timed_out", subject="nudge"),
        )
    )
    send(app, ("signup", JANE), ("signup", JOHN))
    tick_until_idle(app)
    later(app, dt.timedelta(minutes=30))
    send(app, event("purchase"))
    tick_until_idle(app)
    later(app, dt.timedelta(minutes=29))  # a minute before John's timeout
    john_waits = (statuses(app, JOHN), subjects(app, JOHN))
    later(app, dt.timedelta(minutes=1))

    assert (subjects(app, JANE), statuses(app, JANE)) == (["thanks"], ["completed"])
    assert john_waits == (["waiting"], [])
    assert (subjects(app, JOHN), statuses(app, JOHN)) == (["nudge"], ["completed"])
    jane = [(r["step_id"], r["result"], r["branch"]) for r in log_of(app, JANE)]
    assert jane == [
        ("wait", "waiting", None),
        ("wait", "woken", None),
        ("wait", "arrived", "then"),
        ("arrived", "queued", "next"),
    ]
    assert [(r["result"], r["branch"]) for r in log_of(app, JOHN)][1] == ("timed out", "else")


def test_a_correlated_wait_sleeps_through_an_uncorrelated_event(app: App) -> None:
    document = flow(
        wait_for("order_created", same="cart_id"),
        email_step("arrived", subject="thanks"),
        email_step("timed_out", subject="nudge"),
    )
    app.apply_workflow({**document, "entry_points": [{"event": "cart_updated"}]})
    send(app, event("cart_updated", cart_id="A"))
    tick_until_idle(app)
    later(app, dt.timedelta(minutes=10))
    send(app, event("order_created", cart_id="B"))
    tick_until_idle(app)
    (after_other,) = runs_of(app)
    later(app, dt.timedelta(minutes=10))
    send(app, event("order_created", cart_id="A"))
    tick_until_idle(app)

    assert (after_other["status"], after_other["step_id"]) == ("waiting", "wait")
    assert len(log_of(app, JANE)) > 1 and log_of(app, JANE)[1]["reason"] == (
        "order_created arrived"
    )
    assert subjects(app) == ["thanks"]
    assert statuses(app) == ["completed"]


# --- status: stop and pause ---------------------------------------------------------------


def test_stopping_a_workflow_exits_the_runs_inside_and_lets_nobody_in(app: App) -> None:
    app.apply_workflow(flow(delay("wait", "mail"), email_step(), reentry="every_time"))
    send(app, ("signup", JANE), ("signup", JOHN))
    tick_until_idle(app)

    exited = app.set_workflow_status("flow", WorkflowStatus.STOPPED)
    send(app, ("signup", "late@example.com"), ("signup", JANE))
    tick_until_idle(app)
    later(app, 2 * DAY)

    assert exited == 2
    assert statuses(app, JANE) == statuses(app, JOHN) == ["exited"]
    assert lifecycle_log(app) == [("mail", "exited", "workflow stopped")]
    assert count(app, "runs") == 2
    assert count(app, "messages") == 0
    assert [w["status"] for w in rows(app, "workflows")] == ["stopped"]


def test_a_run_a_worker_holds_when_the_workflow_stops_does_not_go_on(app: App) -> None:
    app.apply_workflow(flow(delay("wait", "mail"), email_step()))
    send(app, ("signup", JANE))
    tick_until_idle(app)
    clock_of(app).advance(DAY)
    now, claim = clock_of(app).now(), "worker-1"
    with transaction(app.engine) as connection:  # a worker takes the due run...
        (held,) = runs.claim_due_runs_txn(connection, 10, now, lease_until=now + HOUR, claim=claim)

    app.set_workflow_status("flow", WorkflowStatus.STOPPED)  # ...the workflow stops...
    # ...and the worker's save is refused: the run is no longer its own (the stepper then
    # writes again for the runs it still holds)
    with pytest.raises(runs.LeaseLost), transaction(app.engine) as connection:
        runs.save_states_txn(
            connection,
            [
                RunState(
                    run_id=held.run_id, status=RunStatus.COMPLETED, step_id=None, seq=held.seq + 1
                )
            ],
            now,
            claim=claim,
        )

    assert statuses(app) == ["exited"]


def test_a_paused_workflow_lets_nobody_in_but_its_runs_go_on(app: App) -> None:
    app.apply_workflow(flow(delay("wait", "mail"), email_step()))
    send(app, ("signup", JANE))
    tick_until_idle(app)

    assert app.set_workflow_status("flow", WorkflowStatus.PAUSED) == 0
    send(app, ("signup", JOHN))
    tick_until_idle(app)
    later(app, DAY)

    assert statuses(app) == ["completed"] and len(messages_to(app, JANE)) == 1
    assert count(app, "runs") == 1  # John did not enter


# --- versions -----------------------------------------------------------------------------


def versioned(subject: str, mail_id: str = "mail") -> dict[str, Any]:
    return flow(delay("wait", mail_id), email_step(mail_id, subject=subject), reentry="every_time")


def test_a_run_stays_on_its_version_when_a_new_one_is_applied(app: App) -> None:
    first = app.apply_workflow(versioned("v1"))
    send(app, ("signup", JANE))
    tick_until_idle(app)
    second = app.apply_workflow(versioned("v2"))
    send(app, ("signup", JOHN))
    tick_until_idle(app)
    later(app, DAY)

    assert (first.version, second.version, second.created) == (1, 2, True)
    assert subjects(app, JANE) == ["v1"] and subjects(app, JOHN) == ["v2"]
    history = app.workflow_history("flow")
    assert [(v["version"], v["runs"], bool(v["current"])) for v in history] == [
        (1, 1, False),
        (2, 1, True),
    ]
    assert app.apply_workflow(versioned("v2")).created is False  # same document: no version


def test_rollback_publishes_the_old_document_as_the_newest_version(app: App) -> None:
    app.apply_workflow(versioned("v1"))
    app.apply_workflow(versioned("v2"))

    report = app.rollback_workflow("flow", 1)
    send(app, ("signup", JANE))
    tick_until_idle(app)
    later(app, DAY)

    assert (report.version, report.created, report.status) == (3, True, "active")
    assert app.workflow_document("flow", 3) == app.workflow_document("flow", 1)
    assert [bool(v["current"]) for v in app.workflow_history("flow")] == [False, False, True]
    assert subjects(app) == ["v1"]


def test_migrate_moves_waiting_runs_onto_the_current_version_through_a_step_map(
    app: App,
) -> None:
    app.apply_workflow(versioned("v1", mail_id="mail"))
    send(app, ("signup", JANE))
    tick_until_idle(app)
    app.apply_workflow(versioned("v2", mail_id="welcome"))
    versions = {v["version"]: v["id"] for v in app.workflow_history("flow")}

    with pytest.raises(InvalidInput) as refused:
        app.migrate_runs("flow", 1, {})
    unmoved = runs_of(app)
    moved = app.migrate_runs("flow", 1, {"mail": "welcome"})
    (run,) = runs_of(app)
    later(app, DAY)

    assert "steps mail do not exist in version 2" in str(refused.value)
    assert [(r["version_id"], r["step_id"]) for r in unmoved] == [(versions[1], "mail")]
    assert moved == 1
    assert (run["version_id"], run["step_id"], run["status"]) == (versions[2], "welcome", "waiting")
    assert subjects(app) == ["v2"]
    assert statuses(app) == ["completed"]
    with pytest.raises(InvalidInput, match="has no version 7"):
        app.migrate_runs("flow", 7, {})


def test_a_run_migrated_while_waiting_for_an_event_still_wakes_on_it(app: App) -> None:
    steps = (email_step("arrived", subject="thanks"), email_step("timed_out", subject="nudge"))
    app.apply_workflow(flow(wait_for("purchase"), *steps))
    send(app, ("signup", JANE))
    tick_until_idle(app)
    renamed = {**wait_for("purchase"), "id": "await_purchase"}
    app.apply_workflow(flow(renamed, *steps))

    moved = app.migrate_runs("flow", 1, {"wait": "await_purchase"})
    later(app, dt.timedelta(minutes=30))
    send(app, event("purchase"))
    tick_until_idle(app)
    later(app, 2 * HOUR)

    assert moved == 1
    assert subjects(app) == ["thanks"]
    assert statuses(app) == ["completed"]
