"""Workflow actions on both databases: go_to, start_workflow (recursion stopped) and
record_conversion (attribution, report, replays)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from journeyman import App, EventInput
from journeyman.errors import InvalidWorkflow
from journeyman.model.contacts import AttributeDefinition, AttributeType
from journeyman.model.effects import RecordConversion
from journeyman.store import conversions, transaction
from journeyman.store.workflows import WorkflowStatus

from .support import (
    clock_of,
    contact_id,
    count,
    email_step,
    execute,
    log_of,
    members,
    rows,
    send,
    steps_taken,
    tick_until_idle,
    workflow,
)

JANE = "jane@example.com"
MAX = "max@example.com"


def runs_of(app: App, key: str) -> list[dict[str, Any]]:
    (found,) = rows(app, "workflows", key=key)
    return rows(app, "runs", workflow_id=found["id"])


def join(step_id: str, list_name: str, then: str | None = None) -> dict[str, Any]:
    step: dict[str, Any] = {"id": step_id, "add_to_list": {"lists": list_name}}
    return {**step, "next": then} if then else step


def start(step_id: str, key: str, then: str | None = None, **more: Any) -> dict[str, Any]:
    step: dict[str, Any] = {"id": step_id, "start_workflow": {"workflow": key, **more}}
    return {**step, "next": then} if then else step


def problems_of(app: App, document: dict[str, Any]) -> list[tuple[str | None, str | None, str]]:
    with pytest.raises(InvalidWorkflow) as caught:
        app.apply_workflow(document)
    return [(p.step, p.field, p.message) for p in caught.value.problems]


# --- go_to --------------------------------------------------------------------------------


def test_a_go_to_back_over_a_delay_loops_across_ticks(app: App) -> None:
    app.define_attribute(AttributeDefinition(name="VISITS", type=AttributeType.NUMBER))
    app.apply_workflow(
        workflow(
            {"id": "count", "update_attribute": {"name": "VISITS", "add": 1}, "next": "check"},
            {
                "id": "check",
                "if": {"attribute": {"name": "VISITS", "lt": 3}},
                "then": "wait",
                "else": "end",
            },
            {"id": "wait", "delay": {"days": 1}, "next": "again"},
            {"id": "again", "go_to": "count"},
        )
    )
    send(app, ("signup", JANE))
    waits = []

    for _ in range(4):
        tick_until_idle(app)
        (run,) = rows(app, "runs")
        waits.append((run["status"], run["step_id"]))
        clock_of(app).advance(dt.timedelta(days=1))

    assert waits == [
        ("waiting", "again"),  # went round once, waits before the jump back
        ("waiting", "again"),
        ("completed", None),  # the third visit ends it
        ("completed", None),
    ]
    (contact,) = rows(app, "contacts", email=JANE)
    assert contact["attributes"] == {"VISITS": 3}
    assert [s for s, _ in steps_taken(app, JANE)] == [
        *("count", "check", "wait"),
        *("again", "count", "check", "wait"),
        *("again", "count", "check"),
    ]
    jumps = [r for r in log_of(app, JANE) if r["kind"] == "go_to"]
    assert [(r["result"], r["branch"], r["reason"]) for r in jumps] == [
        ("jumped", "go_to", "go to count")
    ] * 2
    assert [r["seq"] for r in log_of(app, JANE)] == list(range(1, 11))


def test_a_go_to_an_unknown_step_is_refused_at_apply(app: App) -> None:
    found = problems_of(
        app, workflow(join("join", "L", then="back"), {"id": "back", "go_to": "nowhere"})
    )

    assert [(step, field) for step, field, _ in found] == [("back", "go_to")]
    assert "'nowhere' is not a step" in found[0][2]
    assert count(app, "workflows") == 0


# --- start_workflow -----------------------------------------------------------------------


def test_start_workflow_enrols_the_contact_in_the_same_transaction(app: App) -> None:
    app.apply_workflow(workflow(join("hello", "In B"), key="b", event="never"))
    app.apply_workflow(workflow(start("go", "b", then="mark"), join("mark", "A done"), key="a"))
    (event_id,) = send(app, ("signup", JANE))
    stepper = app.stepper()

    stepper.tick()  # runs A: the B run is written with the step that started it

    (a_run,) = runs_of(app, "a")
    (b_run,) = runs_of(app, "b")
    assert a_run["status"] == "completed"
    assert (b_run["status"], b_run["step_id"], b_run["seq"]) == ("active", "hello", 0)
    assert (b_run["contact_id"], b_run["trigger_event_id"]) == (a_run["contact_id"], event_id)
    assert b_run["context"] == {"chain": ["a", "b"]}
    assert members(app, "In B") == []
    started = log_of(app, JANE)[0]
    assert (started["step_id"], started["result"], started["reason"]) == (
        "go",
        "started",
        "started workflow b",
    )

    report = stepper.tick()  # B's run is due at once

    assert report.claimed == 1
    assert runs_of(app, "b")[0]["status"] == "completed"
    assert members(app, "In B") == members(app, "A done") == [JANE]
    assert stepper.tick().idle


def test_start_workflow_at_a_chosen_step(app: App) -> None:
    app.apply_workflow(
        workflow(join("first", "First", then="second"), join("second", "Second"), key="b")
    )
    app.apply_workflow(workflow(start("go", "b", step="second"), key="a", event="purchase"))
    send(app, ("purchase", JANE))

    tick_until_idle(app)

    assert members(app, "Second") == [JANE]
    assert members(app, "First") == []
    assert log_of(app, JANE)[0]["reason"] == "started workflow b at second"
    assert [r["status"] for r in runs_of(app, "b")] == ["completed"]


@pytest.mark.parametrize("status", [WorkflowStatus.PAUSED, WorkflowStatus.DRAFT])
def test_a_target_that_is_not_active_is_refused_and_the_run_goes_on(
    app: App, status: WorkflowStatus
) -> None:
    app.apply_workflow(workflow(join("hello", "In B"), key="b", event="never"))
    app.set_workflow_status("b", status)
    app.apply_workflow(workflow(start("go", "b", then="mark"), join("mark", "A done"), key="a"))
    send(app, ("signup", JANE))

    tick_until_idle(app)

    assert runs_of(app, "b") == []
    assert [(r["step_id"], r["result"], r["reason"]) for r in log_of(app, JANE)] == [
        ("go", "refused", f"workflow b is {status.value}, not active"),
        ("mark", "changed", "added to A done"),
    ]
    assert runs_of(app, "a")[0]["status"] == "completed"


def test_mutual_recursion_is_stopped_at_the_second_start(app: App) -> None:
    # Each names the other: a first version of a without the start, so b can name it.
    app.apply_workflow(workflow(join("mark", "A"), key="a"))
    app.apply_workflow(workflow(start("to_a", "a"), key="b", event="never"))
    app.apply_workflow(workflow(start("to_b", "b", then="mark"), join("mark", "A"), key="a"))
    send(app, ("signup", JANE))

    reports = tick_until_idle(app)

    assert len(reports) <= 3
    assert [r["status"] for r in rows(app, "runs")] == ["completed", "completed"]
    refused = [r for r in log_of(app, JANE) if r["result"] == "refused"]
    assert [(r["step_id"], r["reason"]) for r in refused] == [
        ("to_a", "not started: endless recursion stopped (a -> b -> a)")
    ]
    assert members(app, "A") == [JANE]


def test_a_workflow_may_name_itself_but_not_recurse(app: App) -> None:
    app.apply_workflow(workflow(start("again", "loop"), key="loop"))  # not refused at apply
    send(app, ("signup", JANE))

    tick_until_idle(app)

    assert count(app, "runs") == 1
    (entry,) = log_of(app, JANE)
    assert (entry["result"], entry["reason"]) == (
        "refused",
        "not started: endless recursion stopped (loop -> loop)",
    )


def test_an_unknown_workflow_is_refused_at_apply(app: App) -> None:
    found = problems_of(app, workflow(start("go", "ghost", then="also"), start("also", "ghost")))

    assert [(step, field) for step, field, _ in found] == [
        ("go", "start_workflow.workflow"),
        ("also", "start_workflow.workflow"),
    ]
    assert "'ghost' does not exist" in found[0][2]
    assert count(app, "workflows") == 0


# --- record_conversion --------------------------------------------------------------------


def conversion(step_id: str, then: str | None = None, **params: Any) -> dict[str, Any]:
    step: dict[str, Any] = {"id": step_id, "record_conversion": {"name": "purchase", **params}}
    return {**step, "next": then} if then else step


def purchase(email: str, **properties: Any) -> EventInput:
    return EventInput(name="purchase", email=email, properties=properties)


def test_a_conversion_is_attributed_to_workflow_step_and_last_message(app: App) -> None:
    app.apply_workflow(
        workflow(
            email_step("first", next="second"),
            email_step("second", next="won"),
            conversion("won", value=25, currency="USD"),
            key="promo",
        )
    )
    send(app, ("signup", JANE))

    tick_until_idle(app)

    (promo,) = rows(app, "workflows", key="promo")
    first, second = rows(app, "messages", "id")
    assert (first["step_id"], second["step_id"]) == ("first", "second")
    (won,) = rows(app, "conversions")
    assert {k: won[k] for k in ("name", "value", "currency", "workflow_id", "step_id")} == {
        "name": "purchase",
        "value": 25.0,
        "currency": "USD",
        "workflow_id": promo["id"],
        "step_id": "won",
    }
    assert (won["contact_id"], won["message_id"]) == (contact_id(app, JANE), second["id"])
    assert won["at"] == app.clock.now()
    assert steps_taken(app, JANE)[-1] == ("won", "converted")
    assert log_of(app, JANE)[-1]["reason"] == "conversion purchase: 25 USD"


def test_only_messages_of_the_same_run_and_not_suppressed_count(app: App) -> None:
    app.apply_workflow(
        workflow(email_step("hello"), key="other")  # Jane's message from another workflow
    )
    app.apply_workflow(
        workflow(
            {"id": "block", "blocklist": {"channels": "email"}, "next": "mail"},
            email_step("mail", next="won"),  # suppressed: never sent
            conversion("won", value=1),
            key="promo",
        )
    )
    send(app, ("signup", JANE))

    tick_until_idle(app)

    assert sorted(m["status"] for m in rows(app, "messages")) == ["queued", "suppressed"]
    (won,) = rows(app, "conversions")
    assert won["message_id"] is None


def test_a_conversion_value_from_the_event(app: App) -> None:
    app.apply_workflow(
        workflow(
            conversion("won", value={"from_event": "order.total"}),
            event="purchase",
            reentry="every_time",
        )
    )
    app.record_events(
        [
            purchase(JANE, order={"total": 19.5}),
            purchase(MAX, order={"total": "40"}),
            purchase("nothing@example.com", order={}),
        ]
    )

    tick_until_idle(app)

    values = {r["contact_id"]: r["value"] for r in rows(app, "conversions")}
    assert values == {contact_id(app, JANE): 19.5, contact_id(app, MAX): 40.0}
    (failed,) = log_of(app, "nothing@example.com")
    assert (failed["result"], failed["reason"]) == (
        "failed",
        "event property order.total = None: not a number",
    )
    assert sorted(r["status"] for r in rows(app, "runs")) == ["completed", "completed", "failed"]


def test_the_report_counts_and_sums_per_workflow_and_step(app: App) -> None:
    app.apply_workflow(
        workflow(
            conversion("small", then="check", value=10),
            {
                "id": "check",
                "if": {"event_count": {"event": "purchase", "at_least": 2}},
                "then": "big",
                "else": "end",
            },
            conversion("big", value={"from_event": "amount"}),
            key="shop",
            event="purchase",
            reentry="every_time",
        )
    )
    app.apply_workflow(
        workflow(conversion("usd", value=5, currency="USD"), key="us", event="purchase")
    )
    app.record_events([purchase(JANE, amount=100)])
    tick_until_idle(app)
    app.record_events([purchase(JANE, amount=50), purchase(MAX, amount=7)])
    tick_until_idle(app)

    with transaction(app.engine) as connection:
        per_workflow = conversions.report_txn(connection, by_step=False)
        per_step = conversions.report_txn(connection, by_step=True)

    assert per_workflow == [
        {"workflow": "shop", "currency": "EUR", "conversions": 4, "revenue": 80.0},
        {"workflow": "us", "currency": "USD", "conversions": 2, "revenue": 10.0},
    ]
    assert per_step == [
        {"workflow": "shop", "step": "big", "currency": "EUR", "conversions": 1, "revenue": 50.0},
        {"workflow": "shop", "step": "small", "currency": "EUR", "conversions": 3, "revenue": 30.0},
        {"workflow": "us", "step": "usd", "currency": "USD", "conversions": 2, "revenue": 10.0},
    ]


def test_a_replayed_step_does_not_count_twice(app: App) -> None:
    app.apply_workflow(workflow(conversion("won", value=30), key="promo"))
    send(app, ("signup", JANE))
    tick_until_idle(app)
    (won,) = rows(app, "conversions")
    (run,) = rows(app, "runs")

    # A worker whose lease ran out redoes the pass: same run, step and seq, so the same key.
    execute(
        app,
        "UPDATE runs SET status = 'active', step_id = 'won', seq = 0, due_at = :now WHERE id = :id",
        now=app.clock.now(),
        id=run["id"],
    )
    tick_until_idle(app)

    assert [r["result"] for r in log_of(app, JANE)] == ["converted", "converted"]
    assert rows(app, "conversions") == [won]
    with transaction(app.engine) as connection:  # and through the store verb itself
        conversions.record_txn(
            connection,
            [
                RecordConversion(
                    key=won["source_key"],
                    run_id=run["id"],
                    contact_id=won["contact_id"],
                    workflow_id=won["workflow_id"],
                    step_id="won",
                    name="purchase",
                    value=999.0,
                    currency="EUR",
                )
            ]
            * 2,
            app.clock.now(),
        )
        assert conversions.report_txn(connection, by_step=False) == [
            {"workflow": "promo", "currency": "EUR", "conversions": 1, "revenue": 30.0}
        ]
