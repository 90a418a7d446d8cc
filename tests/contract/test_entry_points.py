"""Entry points on both databases, driven the way users drive them: events through
App.record_events, contacts through App.upsert_contacts, and the actions of other workflows.
System events (contact created, list and attribute changes, deals) are written by the store
in the transaction of the change, while a workflow listens."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import sqlalchemy as sa

from journeyman import App, EventInput
from journeyman.engine import triggers
from journeyman.errors import InvalidInput
from journeyman.model.contacts import AttributeDefinition, AttributeType
from journeyman.model.events import AnniversaryScan
from journeyman.store import schema, system_events, transaction
from journeyman.store.contacts import ContactInput
from journeyman.workflow.document import parse_workflow

from .support import clock_of, members, rows, send, tick_until_idle

JANE, MAX, ANN = "jane@example.com", "max@example.com", "ann@example.com"
PRO = {"attribute": {"name": "PLAN", "equals": "pro"}}


def tagging(
    key: str, *entries: dict[str, Any], into: str | None = None, reentry: str = "once"
) -> dict[str, Any]:
    """A workflow ``key`` entered by ``entries`` that adds the contact to list ``into``."""
    return {
        "key": key,
        "name": f"Workflow {key}",
        "entry_points": list(entries),
        "reentry": reentry,
        "steps": [{"id": "tag", "add_to_list": {"lists": into or key}}],
    }


def acting(key: str, event: str, *steps: dict[str, Any]) -> dict[str, Any]:
    """A workflow entered by ``event`` whose steps run one after the other."""
    linked = [
        {**s, "next": steps[i + 1]["id"]} if i + 1 < len(steps) else s for i, s in enumerate(steps)
    ]
    return {
        "key": key,
        "name": f"Workflow {key}",
        "entry_points": [{"event": event}],
        "reentry": "every_time",
        "steps": linked,
    }


def entered(app: App, key: str) -> list[str]:
    """Emails of the contacts with a run in workflow ``key``, one per run, sorted."""
    runs, flows, people = schema.runs, schema.workflows, schema.contacts
    statement = (
        sa.select(people.c.email)
        .select_from(runs.join(flows, flows.c.id == runs.c.workflow_id).join(people))
        .where(flows.c.key == key)
        .order_by(people.c.email)
    )
    with app.engine.connect() as connection:
        return [r.email for r in connection.execute(statement)]


def system(app: App, name: str) -> list[tuple[int, dict[str, Any]]]:
    return [(e["contact_id"], e["properties"]) for e in rows(app, "events", "id", name=name)]


def define(app: App, **types: AttributeType) -> None:
    for name, kind in types.items():
        app.define_attribute(AttributeDefinition(name=name, type=kind))


def upsert(app: App, email: str, timezone: str | None = None, **attributes: Any) -> None:
    app.upsert_contacts([ContactInput(email=email, attributes=attributes, timezone=timezone)])


# --- contact created, lists, attributes, deals --------------------------------------------


def test_contact_created_by_an_upsert_or_by_an_event_for_a_new_contact(app: App) -> None:
    app.apply_workflow(tagging("welcome", {"contact_created": {}}))
    upsert(app, JANE, FIRSTNAME="Jane")
    upsert(app, JANE, LASTNAME="Doe")  # an update: not created again
    send(app, ("visit", MAX), ("visit", JANE))

    tick_until_idle(app)

    assert members(app, "welcome") == [JANE, MAX]
    created = rows(app, "events", "id", name="contact_created")
    assert [(e["source"], e["historical"], e["properties"]) for e in created] == [
        ("system", False, {}),
        ("system", False, {}),
    ]


def test_no_system_event_is_written_while_no_workflow_listens(app: App) -> None:
    app.apply_workflow(tagging("buyers", {"event": "purchase"}))
    upsert(app, JANE, FIRSTNAME="Jane")
    upsert(app, JANE, FIRSTNAME="Janet")
    send(app, ("purchase", JANE), ("purchase", MAX))

    tick_until_idle(app)

    assert [e["name"] for e in rows(app, "events")] == ["purchase", "purchase"]
    assert members(app, "buyers") == [JANE, MAX]


def test_list_changes_by_another_workflows_actions(app: App) -> None:
    app.apply_workflow(
        acting(
            "tagger",
            "signup",
            {"id": "prospect", "add_to_list": {"lists": "Prospects"}},
            {"id": "customer", "add_to_list": {"lists": ["Customers", "Prospects"]}},
            {"id": "graduate", "remove_from_list": {"lists": ["Prospects", "Never joined"]}},
        )
    )
    app.apply_workflow(tagging("joined", {"list_added": "Customers"}, reentry="every_time"))
    app.apply_workflow(tagging("left", {"list_removed": ["Prospects", "Other"]}))

    send(app, ("signup", JANE), ("signup", MAX))
    tick_until_idle(app)
    send(app, ("signup", MAX))  # already a customer: joining again changes nothing
    tick_until_idle(app)

    assert entered(app, "joined") == [JANE, MAX]
    assert entered(app, "left") == [JANE, MAX]
    added = [p["list"] for _, p in system(app, "list_added") if p["list"] not in ("joined", "left")]
    assert sorted(added) == ["Customers", "Customers", "Prospects", "Prospects", "Prospects"]
    assert [props for _, props in system(app, "list_removed")][:1] == [{"list": "Prospects"}]
    assert len(system(app, "list_removed")) == 3  # leaving a list one is not in is no change


def test_attribute_changed_by_an_upsert_and_by_update_attribute(app: App) -> None:
    define(app, PLAN=AttributeType.TEXT, SCORE=AttributeType.NUMBER)
    app.apply_workflow(
        tagging("upgrade", {"attribute_changed": {"name": "PLAN", "from": "free", "to": "pro"}})
    )
    app.apply_workflow(tagging("hot", {"attribute_changed": {"name": "SCORE", "to": {"gte": 10}}}))
    app.apply_workflow(
        acting("scorer", "visit", {"id": "add", "update_attribute": {"name": "SCORE", "add": 5}})
    )
    upsert(app, JANE, PLAN="free")
    upsert(app, MAX, PLAN="trial")
    upsert(app, JANE, PLAN="pro")
    app.import_contacts_csv(["EMAIL,PLAN\n", f"{MAX},pro\n"])  # from trial: not the change
    upsert(app, JANE, PLAN="pro")  # no change at all

    send(app, ("visit", JANE))
    tick_until_idle(app)
    send(app, ("visit", JANE))
    tick_until_idle(app)

    assert entered(app, "upgrade") == [JANE]
    assert entered(app, "hot") == [JANE]
    changes = [(p["name"], p["old"], p["new"]) for _, p in system(app, "attribute_changed")]
    assert changes == [
        ("PLAN", "free", "pro"),
        ("PLAN", "trial", "pro"),
        ("SCORE", None, 5),
        ("SCORE", 5, 10),
    ]


def test_deal_created_by_another_workflows_action(app: App) -> None:
    app.apply_workflow(
        acting(
            "seller",
            "trial_started",
            {"id": "deal", "create_deal": {"name": "Trial", "pipeline": "sales", "stage": "new"}},
        )
    )
    app.apply_workflow(tagging("deals", {"deal_created": {"pipeline": "sales", "stage": "new"}}))
    app.apply_workflow(tagging("support", {"deal_created": {"pipeline": "support"}}))

    send(app, ("trial_started", JANE))
    tick_until_idle(app)

    assert entered(app, "deals") == [JANE] and entered(app, "support") == []
    ((_, properties),) = system(app, "deal_created")
    (deal,) = rows(app, "deals")
    assert properties == {
        "deal_id": deal["id"],
        "name": "Trial",
        "pipeline": "sales",
        "stage": "new",
        "amount": None,
    }


# --- events from outside: e-commerce, activity, CRM ---------------------------------------

OUTSIDE: list[tuple[dict[str, Any], str, dict[str, Any], dict[str, Any] | None]] = [
    ({"order_created": {"total": {"gt": 50}}}, "order_created", {"total": 80}, {"total": 20}),
    ({"cart_updated": {"cart_id": "c1"}}, "cart_updated", {"cart_id": "c1"}, {"cart_id": "c2"}),
    ({"cart_deleted": {}}, "cart_deleted", {}, None),
    (
        {"page_visited": {"url": {"contains": "/pricing"}}},
        "page_visited",
        {"url": "https://shop.test/en/pricing"},
        {"url": "https://shop.test/blog"},
    ),
    ({"form_submitted": {"form": "demo"}}, "form_submitted", {"form": "demo"}, {"form": "news"}),
    ({"email_opened": {"step": "welcome"}}, "email_opened", {"step": "welcome"}, {"step": "x"}),
    ({"email_clicked": {"url": {"contains": "/a"}}}, "email_clicked", {"url": "/a"}, {"url": "/b"}),
    ({"email_unsubscribed": {}}, "email_unsubscribed", {}, None),
    ({"deal_stage_changed": {"to": "won"}}, "deal_stage_changed", {"to": "won"}, {"to": "lost"}),
    ({"task_completed": {"type": "call"}}, "task_completed", {"type": "call"}, {"type": "todo"}),
]


def test_activity_ecommerce_and_crm_events_sent_through_the_api(app: App) -> None:
    for index, (entry, *_) in enumerate(OUTSIDE):
        app.apply_workflow(tagging(f"kind-{index}", entry))
    inputs = []
    for _, name, matching, other in OUTSIDE:
        inputs.append(EventInput(name=name, email=JANE, properties=matching))
        if other is not None:
            inputs.append(EventInput(name=name, email=MAX, properties=other))
        inputs.append(EventInput(name=name, email=ANN, properties=matching, historical=True))
    assert app.record_events(inputs).rejected == ()

    tick_until_idle(app)

    assert {f"kind-{i}": entered(app, f"kind-{i}") for i in range(len(OUTSIDE))} == {
        f"kind-{i}": [JANE] for i in range(len(OUTSIDE))
    }  # MAX's events fail the filters; ANN's are historical and never trigger


# --- contact filters and segments ---------------------------------------------------------


def test_every_entry_point_takes_a_contact_filter(app: App) -> None:
    define(app, PLAN=AttributeType.TEXT)
    app.apply_workflow(
        tagging(
            "pros",
            {"event": "visit", "contacts": PRO},
            {"contact_created": {}, "contacts": {"attribute": {"name": "PLAN", "is_set": True}}},
        )
    )
    upsert(app, JANE, PLAN="pro")
    upsert(app, MAX, PLAN="free")
    send(app, ("visit", JANE), ("visit", MAX), ("visit", ANN))

    tick_until_idle(app)

    assert entered(app, "pros") == [JANE, MAX]  # MAX by being created with a PLAN


def test_a_segment_enrols_on_the_change_that_makes_the_contact_match(app: App) -> None:
    define(app, PLAN=AttributeType.TEXT)
    app.apply_workflow(tagging("pro", {"segment": PRO}, reentry="every_time"))

    upsert(app, JANE, PLAN="free")
    tick_until_idle(app)
    assert entered(app, "pro") == []

    upsert(app, JANE, PLAN="pro")
    upsert(app, MAX, PLAN="pro")  # created matching
    tick_until_idle(app)
    upsert(app, JANE, FIRSTNAME="Jane")  # matched before this change already
    tick_until_idle(app)
    assert entered(app, "pro") == [JANE, MAX]

    upsert(app, JANE, PLAN="free")
    upsert(app, JANE, PLAN="pro")  # starts matching again
    tick_until_idle(app)
    assert entered(app, "pro") == [JANE, JANE, MAX]


def test_enrol_everyone_who_already_matches_on_activation_throttled(app: App) -> None:
    define(app, PLAN=AttributeType.TEXT)
    for index, plan in enumerate(["pro", "free", "pro", "pro", "free"]):
        upsert(app, f"c{index}@example.com", PLAN=plan)
    document = tagging("pro", {"segment": PRO, "enrol_existing": True, "per_minute": 2})
    report = app.apply_workflow(document)
    rate = triggers.backfill_rate(parse_workflow(document))
    clock = clock_of(app)
    with transaction(app.engine) as connection:
        system_events.start_backfill_txn(connection, "pro", rate or 0, clock.now())

    def minute() -> int:
        with transaction(app.engine) as connection:
            examined = system_events.run_backfills_txn(connection, clock.now())
        tick_until_idle(app)
        return examined

    first, too_soon = minute(), minute()
    assert (report.status, first, too_soon) == ("active", 2, 0)
    assert entered(app, "pro") == ["c0@example.com"]
    clock.advance(dt.timedelta(minutes=1))
    second = minute()
    clock.advance(dt.timedelta(minutes=1))
    last = minute()
    clock.advance(dt.timedelta(minutes=1))

    assert (second, last, minute()) == (2, 1, 0)
    assert entered(app, "pro") == ["c0@example.com", "c2@example.com", "c3@example.com"]


# --- anniversaries ------------------------------------------------------------------------


def test_anniversaries_in_each_contacts_timezone_once_per_date(app: App) -> None:
    define(app, BIRTHDAY=AttributeType.DATE)
    app.apply_workflow(tagging("birthday", {"anniversary": {"attribute": "BIRTHDAY"}}))
    app.apply_workflow(
        tagging("soon", {"anniversary": {"attribute": "BIRTHDAY", "days_before": 3}})
    )
    upsert(app, JANE, "Europe/Berlin", BIRTHDAY="1990-03-10")
    upsert(app, MAX, "America/Los_Angeles", BIRTHDAY="1985-03-10")
    upsert(app, ANN, None, BIRTHDAY="2000-03-13")
    clock = clock_of(app)
    specs = {
        AnniversaryScan(attribute="BIRTHDAY", days_before=0),
        AnniversaryScan(attribute="BIRTHDAY", days_before=3),
    }

    def scan() -> int:
        with transaction(app.engine) as connection:
            found = system_events.record_due_anniversaries_txn(connection, specs, clock.now())
        tick_until_idle(app)
        return found

    clock.set(dt.datetime(2027, 3, 9, 23, 30, tzinfo=dt.UTC))  # Berlin: 10 March already
    assert (scan(), scan()) == (1, 0)
    assert entered(app, "birthday") == [JANE]
    clock.set(dt.datetime(2027, 3, 10, 9, 0, tzinfo=dt.UTC))  # Los Angeles: 10 March, 1:00
    assert scan() == 2  # MAX's birthday, and ANN's in 3 days (UTC, the default)

    assert entered(app, "birthday") == [JANE, MAX]
    assert entered(app, "soon") == [ANN]
    years = sorted(p["years"] for _, p in system(app, "anniversary"))
    assert years == [27, 37, 42]


def test_29_february_birthdays_fall_on_28_february_in_other_years(app: App) -> None:
    define(app, BIRTHDAY=AttributeType.DATE)
    app.apply_workflow(tagging("birthday", {"anniversary": {"attribute": "BIRTHDAY"}}))
    upsert(app, JANE, BIRTHDAY="2000-02-29")
    upsert(app, MAX, BIRTHDAY="2000-02-28")
    clock = clock_of(app)

    clock.set(dt.datetime(2027, 2, 28, 12, 0, tzinfo=dt.UTC))
    with transaction(app.engine) as connection:
        found = system_events.record_due_anniversaries_txn(
            connection, {AnniversaryScan(attribute="BIRTHDAY", days_before=0)}, clock.now()
        )
    tick_until_idle(app)

    assert found == 2
    assert entered(app, "birthday") == [JANE, MAX]
    assert {p["date"] for _, p in system(app, "anniversary")} == {"2027-02-28"}


# --- manual enrolment ---------------------------------------------------------------------


def test_manual_enrolment_of_contacts_and_of_a_lists_members(app: App) -> None:
    app.apply_workflow(
        acting("tagger", "signup", {"id": "lead", "add_to_list": {"lists": "Leads"}})
    )
    app.apply_workflow(tagging("manual", {"event": "never_sent"}))
    send(app, ("signup", JANE), ("signup", MAX))
    upsert(app, ANN)
    tick_until_idle(app)

    queued = app.enrol("manual", emails=["Ann@Example.com", JANE], lists=["Leads"])
    tick_until_idle(app)
    again = app.enrol("manual", emails=[JANE])  # re-entry is off: refused by the engine
    tick_until_idle(app)

    assert (queued, again) == (3, 1)
    assert entered(app, "manual") == [ANN, JANE, MAX]
    assert entered(app, "tagger") == [JANE, MAX]  # the manual events are for "manual" only


def test_manual_enrolment_refuses_unknown_names_and_inactive_workflows(app: App) -> None:
    app.apply_workflow(tagging("manual", {"event": "never_sent"}))
    app.apply_workflow(tagging("drafted", {"event": "never_sent"}), activate=False)
    upsert(app, JANE)

    with pytest.raises(InvalidInput) as unknown:
        app.enrol("manual", emails=[JANE, MAX], lists=["Nowhere"])
    with pytest.raises(InvalidInput) as draft:
        app.enrol("drafted", emails=[JANE])
    with pytest.raises(InvalidInput) as missing:
        app.enrol("nothing", emails=[JANE])

    assert str(unknown.value) == (
        "no contact with email 'max@example.com'; list 'Nowhere' does not exist"
    )
    assert "workflow 'drafted' is draft" in str(draft.value)
    assert str(missing.value) == "workflow 'nothing' does not exist"
    assert rows(app, "events") == []
