"""Contact actions on both databases: update_attribute (set, clear, add, subtract) and
blocklist, run by the engine and written in the pass that advances the run."""

from __future__ import annotations

from typing import Any

import pytest

from journeyman import App, EventInput
from journeyman.errors import InvalidWorkflow
from journeyman.model.contacts import AttributeDefinition, AttributeType
from journeyman.store.contacts import ContactInput

from .support import (
    count,
    email_step,
    log_of,
    messages_to,
    rows,
    send,
    steps_taken,
    tick_until_idle,
    workflow,
)

JANE = "jane@example.com"
MAX = "max@example.com"


def attributes_of(app: App, email: str) -> dict[str, Any]:
    (contact,) = rows(app, "contacts", email=email)
    return dict(contact["attributes"])


def define(app: App, **types: AttributeType) -> None:
    for name, kind in types.items():
        app.define_attribute(AttributeDefinition(name=name, type=kind))


def update(step_id: str, name: str, *, then: str | None = None, **change: Any) -> dict[str, Any]:
    step = {"id": step_id, "update_attribute": {"name": name, **change}}
    return {**step, "next": then} if then else step


def linked(*steps: dict[str, Any]) -> list[dict[str, Any]]:
    """The steps, each going on to the one after it."""
    return [
        {**s, "next": steps[i + 1]["id"]} if i + 1 < len(steps) else s for i, s in enumerate(steps)
    ]


def purchase(email: str, **properties: Any) -> EventInput:
    return EventInput(name="purchase", email=email, properties=properties)


# --- set and clear ------------------------------------------------------------------------


def test_set_renders_templates_from_the_contact_and_the_event(app: App) -> None:
    define(app, NICKNAME=AttributeType.TEXT, LAST_ORDER=AttributeType.NUMBER)
    define(app, VIP=AttributeType.BOOLEAN, ORDERED_ON=AttributeType.DATE)
    app.upsert_contacts([ContactInput(email=JANE, attributes={"FIRSTNAME": "Jane"})])
    app.apply_workflow(
        workflow(
            *linked(
                update("nick", "nickname", set="{{ contact.FIRSTNAME }} ({{ event.name }})"),
                update("amount", "LAST_ORDER", set="{{ event.properties.order.total }}"),
                update("vip", "VIP", set=True),
                update("day", "ORDERED_ON", set="{{ event.properties.day }}"),
            ),
            event="purchase",
        )
    )
    app.record_events([purchase(JANE, order={"total": "120.5"}, day="2027-01-03")])

    tick_until_idle(app)

    assert attributes_of(app, JANE) == {
        "FIRSTNAME": "Jane",
        "NICKNAME": "Jane (purchase)",
        "LAST_ORDER": 120.5,
        "VIP": True,
        "ORDERED_ON": "2027-01-03",
    }
    assert [(r["step_id"], r["result"], r["reason"]) for r in log_of(app, JANE)] == [
        ("nick", "changed", "set NICKNAME to 'Jane (purchase)'"),
        ("amount", "changed", "set LAST_ORDER to 120.5"),
        ("vip", "changed", "set VIP to True"),
        ("day", "changed", "set ORDERED_ON to '2027-01-03'"),
    ]
    assert rows(app, "runs")[0]["status"] == "completed"


def test_a_value_of_the_wrong_type_fails_the_run_naming_attribute_and_value(app: App) -> None:
    define(app, LAST_ORDER=AttributeType.NUMBER)
    app.upsert_contacts([ContactInput(email=JANE, attributes={"LAST_ORDER": 7})])
    app.apply_workflow(
        workflow(
            update("amount", "LAST_ORDER", set="{{ event.properties.total }}", then="after"),
            {"id": "after", "add_to_list": {"lists": "Reached"}},
            event="purchase",
            reentry="every_time",
        )
    )
    app.record_events([purchase(JANE, total="lots"), purchase(MAX, total="12")])

    tick_until_idle(app)

    (failed,) = log_of(app, JANE)
    assert (failed["step_id"], failed["result"]) == ("amount", "failed")
    assert failed["reason"] == "attribute LAST_ORDER: expected a number, got 'lots'"
    assert attributes_of(app, JANE) == {"LAST_ORDER": 7}  # unchanged
    assert attributes_of(app, MAX) == {"LAST_ORDER": 12}  # the other run of the batch went on
    statuses = {r["contact_id"]: r["status"] for r in rows(app, "runs")}
    assert sorted(statuses.values()) == ["completed", "failed"]
    assert steps_taken(app, MAX) == [("amount", "changed"), ("after", "changed")]


def test_clear_removes_the_attribute_and_leaves_the_others(app: App) -> None:
    define(app, NICKNAME=AttributeType.TEXT)
    app.upsert_contacts(
        [
            ContactInput(email=JANE, attributes={"FIRSTNAME": "Jane", "NICKNAME": "JJ"}),
            ContactInput(email=MAX, attributes={"FIRSTNAME": "Max"}),  # nothing to clear
        ]
    )
    app.apply_workflow(workflow(update("forget", "NICKNAME", clear=True)))
    send(app, ("signup", JANE), ("signup", MAX))

    tick_until_idle(app)

    assert attributes_of(app, JANE) == {"FIRSTNAME": "Jane"}
    assert attributes_of(app, MAX) == {"FIRSTNAME": "Max"}
    assert steps_taken(app, JANE) == [("forget", "changed")]
    assert log_of(app, JANE)[0]["reason"] == "cleared NICKNAME"


# --- add and subtract ---------------------------------------------------------------------


def test_add_and_subtract_on_a_number_unset_counting_as_zero(app: App) -> None:
    define(app, LEAD_SCORE=AttributeType.NUMBER)
    app.upsert_contacts(
        [
            ContactInput(email=JANE, attributes={"FIRSTNAME": "Jane"}),  # no score yet
            ContactInput(email=MAX, attributes={"LEAD_SCORE": 10}),
        ]
    )
    app.apply_workflow(
        workflow(
            *linked(
                update("plus", "LEAD_SCORE", add=5),
                update("minus", "lead_score", subtract=2),
                update("half", "LEAD_SCORE", add=0.5),
            )
        )
    )
    send(app, ("signup", JANE), ("signup", MAX))

    tick_until_idle(app)

    assert attributes_of(app, JANE) == {"FIRSTNAME": "Jane", "LEAD_SCORE": 3.5}
    assert attributes_of(app, MAX) == {"LEAD_SCORE": 13.5}
    assert [r["reason"] for r in log_of(app, JANE)] == [
        "added 5 to LEAD_SCORE",
        "subtracted 2 from LEAD_SCORE",
        "added 0.5 to LEAD_SCORE",
    ]


def test_two_runs_of_one_contact_adding_in_one_batch_both_count(app: App) -> None:
    define(app, LEAD_SCORE=AttributeType.NUMBER)
    app.upsert_contacts([ContactInput(email=MAX, attributes={"LEAD_SCORE": 1})])
    document = workflow(update("score", "LEAD_SCORE", add=5), reentry="every_time")
    app.apply_workflow({**document, "allow_parallel_runs": True})
    send(app, ("signup", JANE), ("signup", JANE), ("signup", MAX))

    first, *_ = tick_until_idle(app)

    assert (first.enrolled, first.steps) == (3, 3)  # all three runs in one batch, one pass
    assert attributes_of(app, JANE) == {"LEAD_SCORE": 10}
    assert attributes_of(app, MAX) == {"LEAD_SCORE": 6}
    assert [r["status"] for r in rows(app, "runs")] == ["completed"] * 3


def test_a_whole_number_stays_a_whole_number(app: App) -> None:
    define(app, LEAD_SCORE=AttributeType.NUMBER)
    app.apply_workflow(workflow(update("score", "LEAD_SCORE", add=5.0), reentry="every_time"))
    send(app, ("signup", JANE))
    tick_until_idle(app)

    score = attributes_of(app, JANE)["LEAD_SCORE"]
    assert (score, type(score)) == (5, int)


def test_add_on_a_text_attribute_fails_the_run(app: App) -> None:
    define(app, NICKNAME=AttributeType.TEXT)
    app.upsert_contacts([ContactInput(email=JANE, attributes={"NICKNAME": "JJ"})])
    app.apply_workflow(
        workflow(update("score", "NICKNAME", add=1, then="after"), email_step("after"))
    )
    send(app, ("signup", JANE))

    tick_until_idle(app)

    (entry,) = log_of(app, JANE)
    assert (entry["result"], entry["reason"]) == (
        "failed",
        "attribute NICKNAME is text, not a number",
    )
    assert rows(app, "runs")[0]["status"] == "failed"
    assert attributes_of(app, JANE) == {"NICKNAME": "JJ"}
    assert messages_to(app, JANE) == []


# --- apply time ---------------------------------------------------------------------------


def test_an_unknown_attribute_is_refused_at_apply_with_the_step_and_field(app: App) -> None:
    document = workflow(
        update("score", "lead_score", add=5, then="nick"), update("nick", "NICKNAME", clear=True)
    )

    with pytest.raises(InvalidWorkflow) as caught:
        app.apply_workflow(document)

    assert [(p.step, p.field) for p in caught.value.problems] == [
        ("score", "update_attribute.name"),
        ("nick", "update_attribute.name"),
    ]
    assert "LEAD_SCORE" in caught.value.problems[0].message
    assert count(app, "workflows") == 0

    define(app, LEAD_SCORE=AttributeType.NUMBER, NICKNAME=AttributeType.TEXT)
    assert app.apply_workflow(document).created


# --- blocklist ----------------------------------------------------------------------------


def test_blocklist_sets_the_flags_of_each_channel(app: App) -> None:
    for channels in ("email", "sms", "both"):
        app.apply_workflow(
            workflow(
                {"id": "block", "blocklist": {"channels": channels}},
                key=f"block-{channels}",
                event=f"block_{channels}",
            )
        )
    app.upsert_contacts([ContactInput(email="already@example.com")])
    send(
        app,
        ("block_email", "email@example.com"),
        ("block_sms", "sms@example.com"),
        ("block_both", "both@example.com"),
        ("block_sms", "already@example.com"),
        ("block_email", "already@example.com"),  # both in one batch: the flags add up
    )

    tick_until_idle(app)

    flags = {
        r["email"]: (r["email_blocklisted"], r["sms_blocklisted"]) for r in rows(app, "contacts")
    }
    assert flags == {
        "email@example.com": (True, False),
        "sms@example.com": (False, True),
        "both@example.com": (True, True),
        "already@example.com": (True, True),
    }
    assert log_of(app, "both@example.com")[0]["reason"] == "blocklisted for email and SMS"


def test_a_later_email_to_a_blocklisted_contact_is_suppressed(app: App) -> None:
    app.apply_workflow(
        workflow(
            {"id": "block", "blocklist": {"channels": "email"}, "next": "mail"}, email_step("mail")
        )
    )
    app.apply_workflow(
        workflow(
            {"id": "block", "blocklist": {"channels": "sms"}, "next": "mail"},
            email_step("mail"),
            key="sms-only",
            event="sms_optout",
        )
    )
    send(app, ("signup", JANE), ("sms_optout", MAX))

    tick_until_idle(app)

    (suppressed,) = messages_to(app, JANE)
    assert suppressed["status"] == "suppressed"
    assert "blocklisted" in suppressed["reason"]
    assert steps_taken(app, JANE) == [("block", "blocklisted"), ("mail", "suppressed")]
    (queued,) = messages_to(app, MAX)  # blocklisted for SMS only: the email goes out
    assert (queued["status"], queued["reason"]) == ("queued", None)
