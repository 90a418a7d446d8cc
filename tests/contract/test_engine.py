"""The engine's step kinds and rules on both databases: entry, timing, branching, lists,
suppression, loops and workflow status."""

from __future__ import annotations

import datetime as dt
from collections import Counter

from journeyman import App, EventInput
from journeyman.model.contacts import AttributeDefinition, AttributeType
from journeyman.store.contacts import ContactInput
from journeyman.store.workflows import WorkflowStatus

from .support import (
    clock_of,
    contact_id,
    count,
    email_step,
    execute,
    log_of,
    members,
    messages_to,
    rows,
    send,
    steps_taken,
    tick_until_idle,
    workflow,
)

JANE = "jane@example.com"


def test_reentry_once_refuses_a_second_entry(app: App) -> None:
    app.apply_workflow(workflow(email_step(), reentry="once"))
    send(app, ("signup", JANE), ("signup", JANE))  # twice in one batch
    tick_until_idle(app)
    send(app, ("signup", JANE))  # and again later
    tick_until_idle(app)

    assert count(app, "runs") == 1
    assert len(messages_to(app, JANE)) == 1


def test_reentry_every_time_enters_again(app: App) -> None:
    app.apply_workflow(workflow(email_step(), reentry="every_time"))
    send(app, ("signup", JANE), ("signup", JANE))
    tick_until_idle(app)

    assert count(app, "runs") == 2
    assert len(messages_to(app, JANE)) == 2
    assert len({m["idempotency_key"] for m in messages_to(app, JANE)}) == 2


def test_entry_property_filters(app: App) -> None:
    app.apply_workflow(
        workflow(
            {"id": "vip", "add_to_list": {"lists": "Big spenders"}},
            event="purchase",
            where={"amount": {"gte": 100}, "shop.country": {"in": ["DE", "AT"]}},
            reentry="every_time",
        )
    )

    def buy(email: str, **properties: object) -> EventInput:
        return EventInput(name="purchase", email=email, properties=properties)

    app.record_events(
        [
            buy("small@example.com", amount=20, shop={"country": "DE"}),
            buy("abroad@example.com", amount=500, shop={"country": "FR"}),
            buy("nothing@example.com"),
            buy("big@example.com", amount=150, shop={"country": "AT"}),
            buy("text@example.com", amount="120.5", shop={"country": "de"}),
        ]
    )
    tick_until_idle(app)

    assert members(app, "Big spenders") == ["big@example.com", "text@example.com"]
    assert count(app, "runs") == 2


def test_a_delay_waits_until_the_clock_passes_the_wake_time(app: App) -> None:
    app.apply_workflow(workflow({"id": "wait", "delay": {"days": 3}, "next": "mail"}, email_step()))
    start = app.clock.now()
    send(app, ("signup", JANE))

    tick_until_idle(app)

    (run,) = rows(app, "runs")
    assert (run["status"], run["step_id"], run["due_at"]) == (
        "waiting",
        "mail",
        start + dt.timedelta(days=3),
    )
    (waited,) = log_of(app, JANE)
    assert waited["result"] == "waiting"
    assert waited["reason"] == f"wait 3 days until {(start + dt.timedelta(days=3)).isoformat()}"

    clock_of(app).advance(dt.timedelta(days=3) - dt.timedelta(seconds=1))
    reports = tick_until_idle(app)

    assert sum(r.claimed for r in reports) == 0
    assert messages_to(app, JANE) == []
    assert rows(app, "runs")[0]["status"] == "waiting"

    clock_of(app).advance(dt.timedelta(seconds=1))
    reports = tick_until_idle(app)

    assert sum(r.claimed for r in reports) == 1
    assert len(messages_to(app, JANE)) == 1
    assert rows(app, "runs")[0]["status"] == "completed"
    assert [s for s, _ in steps_taken(app, JANE)] == ["wait", "mail"]
    assert [r["seq"] for r in log_of(app, JANE)] == [1, 2]


def test_a_delay_in_months_clamps_to_the_month_end(app: App) -> None:
    clock_of(app).set(dt.datetime(2027, 1, 31, 18, 0, tzinfo=dt.UTC))
    app.apply_workflow(
        workflow({"id": "wait", "delay": {"months": 1}, "next": "mail"}, email_step())
    )
    send(app, ("signup", JANE))

    tick_until_idle(app)

    assert rows(app, "runs")[0]["due_at"] == dt.datetime(2027, 2, 28, 18, 0, tzinfo=dt.UTC)


def test_if_on_list_membership(app: App) -> None:
    app.apply_workflow(
        workflow(
            {"id": "vip", "if": {"in_list": "VIP"}, "then": "gold", "else": "standard"},
            {"id": "gold", "add_to_list": {"lists": "Gold offers"}},
            {"id": "standard", "add_to_list": {"lists": "Standard offers"}},
        )
    )
    app.import_contacts_csv(["EMAIL\n", f"{JANE}\n"])
    (vip,) = rows(app, "lists", name="VIP")
    execute(
        app,
        "INSERT INTO list_members (list_id, contact_id, added_at) VALUES (:l, :c, :t)",
        l=vip["id"],
        c=contact_id(app, JANE),
        t=app.clock.now(),
    )
    send(app, ("signup", JANE), ("signup", "max@example.com"))

    tick_until_idle(app)

    assert members(app, "Gold offers") == [JANE]
    assert members(app, "Standard offers") == ["max@example.com"]
    assert log_of(app, JANE)[0]["reason"] == "in list 'VIP'"
    assert log_of(app, "max@example.com")[0]["reason"] == "not in list 'VIP'"


def test_if_on_attributes(app: App) -> None:
    app.define_attribute(AttributeDefinition(name="SCORE", type=AttributeType.NUMBER))
    app.define_attribute(
        AttributeDefinition(
            name="PLAN", type=AttributeType.CATEGORY, allowed_values=("free", "pro")
        )
    )
    app.import_contacts_csv(
        [
            "EMAIL,FIRSTNAME,SCORE,PLAN\n",
            "jane@example.com,Jane,80,pro\n",
            "max@example.com,Max,20,pro\n",
            "ann@example.com,Ann,95,free\n",
            "bob@example.com,,,\n",
        ]
    )
    app.apply_workflow(
        workflow(
            {
                "id": "hot",
                "if": {
                    "all": [
                        {"attribute": {"name": "SCORE", "gte": 50}},
                        {"attribute": {"name": "PLAN", "equals": "pro"}},
                    ]
                },
                "then": "sales",
                "else": "end",
            },
            {"id": "sales", "add_to_list": {"lists": "Hot leads"}},
        )
    )
    send(
        app,
        *[("signup", e) for e in (JANE, "max@example.com", "ann@example.com", "bob@example.com")],
    )

    tick_until_idle(app)

    assert members(app, "Hot leads") == [JANE]
    assert log_of(app, "max@example.com")[0]["reason"] == "SCORE = 20, does not match gte 50.0"
    assert (
        log_of(app, "ann@example.com")[0]["reason"] == "PLAN = 'free', does not match equals 'pro'"
    )
    assert log_of(app, "bob@example.com")[0]["reason"] == "SCORE = unset, does not match gte 50.0"
    assert {r["status"] for r in rows(app, "runs")} == {"completed"}


def test_add_to_list_for_a_member_is_recorded_as_already_in(app: App) -> None:
    app.apply_workflow(
        workflow({"id": "join", "add_to_list": {"lists": "Newsletter"}}, reentry="every_time")
    )
    send(app, ("signup", JANE))
    tick_until_idle(app)
    (before,) = rows(app, "list_members")

    clock_of(app).advance(dt.timedelta(hours=1))
    send(app, ("signup", JANE))
    tick_until_idle(app)

    assert rows(app, "list_members") == [before]  # added_at unchanged
    first, second = log_of(app, JANE)
    assert (first["result"], first["reason"]) == ("changed", "added to Newsletter")
    assert (second["result"], second["reason"]) == ("unchanged", "already in Newsletter")


def test_remove_from_list(app: App) -> None:
    app.apply_workflow(
        workflow(
            {"id": "join", "add_to_list": {"lists": "Trial"}, "next": "check"},
            {"id": "check", "if": {"in_list": "Trial"}, "then": "leave", "else": "end"},
            {"id": "leave", "remove_from_list": {"lists": ["Trial", "Never joined"]}},
        )
    )
    send(app, ("signup", JANE))

    tick_until_idle(app)

    assert members(app, "Trial") == []
    assert steps_taken(app, JANE) == [("join", "changed"), ("check", "yes"), ("leave", "changed")]
    assert log_of(app, JANE)[2]["reason"] == "removed from Trial; not in Never joined"


def test_a_disabled_step_is_passed_through(app: App) -> None:
    app.apply_workflow(
        workflow(
            email_step("mail", disabled=True, next="join"),
            {"id": "join", "add_to_list": {"lists": "Reached"}},
        )
    )
    send(app, ("signup", JANE))

    tick_until_idle(app)

    assert messages_to(app, JANE) == []
    assert members(app, "Reached") == [JANE]
    skipped, joined = log_of(app, JANE)
    assert (skipped["step_id"], skipped["result"], skipped["reason"]) == (
        "mail",
        "skipped",
        "step disabled",
    )
    assert joined["step_id"] == "join"


def test_a_loop_without_waiting_is_stopped_and_the_run_failed(app: App) -> None:
    app.apply_workflow(
        workflow(
            {"id": "a", "add_to_list": {"lists": "Ping"}, "next": "b"},
            {"id": "b", "remove_from_list": {"lists": "Ping"}, "next": "a"},
        )
    )
    send(app, ("signup", JANE), ("signup", "max@example.com"))

    tick_until_idle(app)

    assert {r["status"] for r in rows(app, "runs")} == {"failed"}
    log = log_of(app, JANE)
    assert "loop" in log[-1]["reason"]
    assert log[-1]["result"] == "failed"
    seqs = Counter((r["run_id"], r["seq"]) for r in rows(app, "run_log"))
    assert [key for key, n in seqs.items() if n > 1] == []  # (run, seq) logged twice


def test_a_loop_that_waits_is_fine(app: App) -> None:
    app.apply_workflow(
        workflow(
            {
                "id": "mail",
                "send_email": {"subject": "Reminder", "html": "<p>Hi</p>"},
                "next": "wait",
            },
            {"id": "wait", "delay": {"days": 7}, "next": "mail"},
        )
    )
    send(app, ("signup", JANE))

    for _ in range(3):
        tick_until_idle(app)
        clock_of(app).advance(dt.timedelta(days=7))

    assert len(messages_to(app, JANE)) == 3  # one per visit of the step, distinct keys
    assert len({m["idempotency_key"] for m in messages_to(app, JANE)}) == 3
    assert rows(app, "runs")[0]["status"] == "waiting"


def test_a_blocklisted_contact_gets_a_suppressed_message_with_the_reason(app: App) -> None:
    app.apply_workflow(workflow(email_step()))
    app.import_contacts_csv(["EMAIL\n", f"{JANE}\n"])
    execute(app, "UPDATE contacts SET email_blocklisted = :yes WHERE email = :e", yes=True, e=JANE)
    send(app, ("signup", JANE))

    tick_until_idle(app)

    (message,) = messages_to(app, JANE)
    assert (message["status"], message["reason"]) == (
        "suppressed",
        "contact is blocklisted for email",
    )
    assert message["next_attempt_at"] is None
    (step,) = log_of(app, JANE)
    assert (step["result"], step["reason"]) == ("suppressed", "contact is blocklisted for email")
    assert rows(app, "runs")[0]["status"] == "completed"


def test_paused_and_draft_workflows_enrol_nobody(app: App) -> None:
    app.apply_workflow(workflow(email_step(), key="draft"), activate=False)
    app.apply_workflow(workflow(email_step(), key="paused"))
    app.set_workflow_status("paused", WorkflowStatus.PAUSED)
    send(app, ("signup", JANE))

    tick_until_idle(app)

    assert count(app, "runs") == 0 and count(app, "messages") == 0
    assert count(app, "event_queue") == 0  # consumed: activating later does not act on the past

    app.set_workflow_status("paused", WorkflowStatus.ACTIVE)
    send(app, ("signup", "max@example.com"))
    tick_until_idle(app)

    assert [m["recipient"] for m in rows(app, "messages")] == ["max@example.com"]


def test_a_paused_workflow_lets_running_contacts_finish(app: App) -> None:
    app.apply_workflow(
        workflow({"id": "wait", "delay": {"hours": 1}, "next": "mail"}, email_step())
    )
    send(app, ("signup", JANE))
    tick_until_idle(app)
    app.set_workflow_status("flow", WorkflowStatus.PAUSED)

    clock_of(app).advance(dt.timedelta(hours=1))
    tick_until_idle(app)

    assert len(messages_to(app, JANE)) == 1


def test_every_step_is_logged_in_order_with_the_branch(app: App) -> None:
    app.apply_workflow(
        workflow(
            {"id": "check", "if": {"in_list": "Nope"}, "then": "end", "else": "join"},
            {"id": "join", "add_to_list": {"lists": "Yes"}, "next": "mail"},
            email_step("mail"),
        )
    )
    send(app, ("signup", JANE))

    tick_until_idle(app)

    log = log_of(app, JANE)
    assert [(r["seq"], r["step_id"], r["kind"], r["branch"]) for r in log] == [
        (1, "check", "if", "else"),
        (2, "join", "add_to_list", "next"),
        (3, "mail", "send_email", "next"),
    ]
    assert {r["at"] for r in log} == {app.clock.now()}
    assert rows(app, "runs")[0]["seq"] == 3


def test_one_contacts_data_cannot_stop_the_engine_for_the_others(app: App) -> None:
    """A record separator in a name (it separates the parts of a combined render)."""
    app.upsert_contacts(
        [
            ContactInput(email=JANE, attributes={"FIRSTNAME": "Ja\x1ene"}),
            ContactInput(email="max@example.com", attributes={"FIRSTNAME": "Max"}),
        ]
    )
    app.apply_workflow(workflow(email_step(subject="Hello {{ contact.FIRSTNAME }}")))
    send(app, ("signup", JANE), ("signup", "max@example.com"))

    tick_until_idle(app)

    assert [m["subject"] for m in messages_to(app, "max@example.com")] == ["Hello Max"]
    jane = messages_to(app, JANE)
    assert [m["subject"] for m in jane] == ["Hello Jane"]  # the separator is dropped
    assert {r["status"] for r in rows(app, "runs")} <= {"completed", "failed"}
