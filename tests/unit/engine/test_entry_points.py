"""Entry points, pure: the syntax users write, which events each kind takes, contact
filters and segments on given facts, manual enrolment, anniversary date arithmetic."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from journeyman.conditions import Facts
from journeyman.engine.triggers import (
    Candidate,
    backfill_rate,
    contact_needs,
    decide_enrolments,
    fact_subjects,
)
from journeyman.errors import InvalidWorkflow
from journeyman.model.events import Event
from journeyman.workflow.document import json_schema, parse_workflow
from journeyman.workflow.entry_points import (
    anniversary_in,
    due_anniversary,
    month_days_due,
    names_listened,
)

PRO = {"attribute": {"name": "PLAN", "equals": "pro"}}


def document(*entries: dict[str, Any], reentry: str = "every_time") -> dict[str, Any]:
    return {
        "key": "flow",
        "name": "Flow",
        "entry_points": list(entries),
        "reentry": reentry,
        "steps": [{"id": "tag", "add_to_list": {"lists": "Tagged"}}],
    }


def candidate(
    *entries: dict[str, Any], key: str = "flow", reentry: str = "every_time"
) -> Candidate:
    workflow = parse_workflow(document(*entries, reentry=reentry) | {"key": key})
    return Candidate(workflow_id=len(key), version_id=1, workflow=workflow)


def event(kind: str, event_id: int = 1, contact_id: int = 7, **properties: Any) -> Event:
    return Event(id=event_id, name=kind, contact_id=contact_id, properties=properties)


def moved(before: str, after: str) -> dict[str, Any]:
    """A deal stage change's properties (``from`` is a keyword: no keyword argument)."""
    return {"from": before, "to": after}


def enrols(entry: dict[str, Any], happened: Event, facts: Facts | None = None) -> bool:
    known = {happened.id: facts} if facts is not None else None
    enrolled, _ = decide_enrolments([happened], [candidate(entry)], [], known)
    return bool(enrolled)


def problems(*entries: Any) -> set[tuple[str | None, str]]:
    with pytest.raises(InvalidWorkflow) as caught:
        parse_workflow(document(*entries))
    return {(p.field, p.message) for p in caught.value.problems}


# --- each kind: its event and its filters -------------------------------------------------


@pytest.mark.parametrize(
    ("entry", "taken", "not_taken"),
    [
        (
            {"order_created": {"total": {"gt": 50}}},
            event("order_created", total=80),
            event("order_created", total=20),
        ),
        ({"order_created": None}, event("order_created"), event("purchase")),
        (
            {"cart_updated": {"cart_id": "c1"}},
            event("cart_updated", cart_id="c1"),
            event("cart_updated", cart_id="c2"),
        ),
        ({"cart_deleted": {}}, event("cart_deleted"), event("cart_updated")),
        ({"contact_created": {}}, event("contact_created"), event("list_added", list="A")),
        (
            {"list_added": "Customers"},
            event("list_added", list="customers"),
            event("list_removed", list="Customers"),
        ),
        (
            {"list_removed": ["A", "B"]},
            event("list_removed", list="B"),
            event("list_removed", list="C"),
        ),
        (
            {"attribute_changed": {"name": "PLAN", "from": "free", "to": {"in": ["pro", "team"]}}},
            event("attribute_changed", name="PLAN", old="free", new="team"),
            event("attribute_changed", name="PLAN", old="trial", new="pro"),
        ),
        (
            {"attribute_changed": {"name": "PLAN", "from": {"is_set": False}}},
            event("attribute_changed", name="PLAN", old=None, new="free"),
            event("attribute_changed", name="SCORE", old=None, new=3),
        ),
        (
            {"email_opened": {"step": "welcome"}},
            event("email_opened", workflow="onboarding", step="welcome"),
            event("email_opened", workflow="onboarding", step="reminder"),
        ),
        (
            {"email_clicked": {"url": {"contains": "/pricing"}}},
            event("email_clicked", url="https://x.test/pricing?a=1"),
            event("email_clicked", url="https://x.test/blog"),
        ),
        ({"email_unsubscribed": {}}, event("email_unsubscribed"), event("email_opened")),
        (
            {"page_visited": {"url": {"contains": "/pricing"}}},
            event("page_visited", url="/en/pricing"),
            event("page_visited", url="/en/blog"),
        ),
        (
            {"form_submitted": {"form": "demo-request"}},
            event("form_submitted", form="demo-request"),
            event("form_submitted", form="newsletter"),
        ),
        (
            {"deal_created": {"pipeline": "sales"}},
            event("deal_created", pipeline="sales", stage="new"),
            event("deal_created", pipeline="support", stage="new"),
        ),
        (
            {"deal_stage_changed": {"to": {"equals": "won"}}},
            event("deal_stage_changed", **moved("offer", "won")),
            event("deal_stage_changed", **moved("new", "offer")),
        ),
        (
            {"task_completed": {"type": "call"}},
            event("task_completed", type="call"),
            event("task_completed", type="email"),
        ),
        (
            {"anniversary": {"attribute": "BIRTHDAY", "days_before": 3}},
            event("anniversary", attribute="BIRTHDAY", days_before=3),
            event("anniversary", attribute="BIRTHDAY", days_before=0),
        ),
        (
            {"anniversary": {"attribute": "SIGNUP", "days_after": 7}},
            event("anniversary", attribute="SIGNUP", days_before=-7),
            event("anniversary", attribute="BIRTHDAY", days_before=-7),
        ),
    ],
)
def test_each_kind_takes_its_event_when_the_filters_pass(
    entry: dict[str, Any], taken: Event, not_taken: Event
) -> None:
    assert enrols(entry, taken)
    assert not enrols(entry, not_taken)


def test_the_event_entry_keeps_its_syntax_and_every_kind_is_in_the_schema() -> None:
    workflow = parse_workflow(document({"event": "purchase", "where": {"amount": {"gte": 10}}}))
    schema = json_schema()

    assert [e.event for e in workflow.entry_points] == ["purchase"]  # type: ignore[attr-defined]
    listed = str(schema["$defs"])
    for kind in ("ListAddedEntry", "AttributeChangedEntry", "SegmentEntry", "AnniversaryEntry"):
        assert kind in listed


def test_bad_entry_points_are_named_with_what_was_expected() -> None:
    found = problems(
        {"send_fax": {}},
        {"email_opened": {"stepp": "welcome"}},
        {"anniversary": {"attribute": "BIRTHDAY", "days_before": 1, "days_after": 1}},
        {"list_added": []},
    )
    fields = {field for field, _ in found}
    messages = " | ".join(message for _, message in found)

    assert {"entry_points.0", "entry_points.1", "entry_points.2.anniversary"} <= fields
    assert "exactly one of: event, order_created" in messages
    assert "email_opened events have no property 'stepp'" in messages
    assert "workflow, step, message_key" in messages
    assert "days_before or days_after, not both" in messages
    assert any(field and field.startswith("entry_points.3.list_added") for field in fields)


def test_stored_entry_points_say_which_events_they_listen_to() -> None:
    workflow = parse_workflow(
        document({"event": "purchase"}, {"list_added": "A"}, {"segment": PRO})
    )

    names = names_listened(workflow.document["entry_points"])

    assert {"purchase", "list_added", "attribute_changed", "contact_created"} <= names
    assert "segment_backfill" in names and "deal_created" not in names


# --- contact filters ----------------------------------------------------------------------


def test_a_contact_filter_admits_or_refuses_with_its_reason() -> None:
    flow = candidate({"event": "visit", "contacts": PRO})
    pro, free = Facts(attributes={"PLAN": "pro"}), Facts(attributes={"PLAN": "free"})
    visits = [event("visit", 1, contact_id=1), event("visit", 2, contact_id=2)]

    enrolled, refused = decide_enrolments(visits, [flow], [], {1: pro, 2: free})

    assert [e.event.contact_id for e in enrolled] == [1]
    (refusal,) = refused
    assert refusal.contact_id == 2
    assert refusal.reason == "contact filter: PLAN = 'free', does not match equals 'pro'"


def test_without_facts_a_contact_filter_refuses_rather_than_guessing() -> None:
    flow = candidate({"event": "visit", "contacts": PRO})

    enrolled, refused = decide_enrolments([event("visit")], [flow], [])

    assert enrolled == []
    assert "not evaluated" in refused[0].reason


def test_entry_points_are_or_ed_each_with_its_own_contact_filter() -> None:
    flow = candidate(
        {"event": "visit", "contacts": PRO},
        {"event": "visit", "contacts": {"in_list": "VIP"}},
    )

    enrolled, _ = decide_enrolments(
        [event("visit")], [flow], [], {1: Facts(attributes={}, lists=frozenset({"VIP"}))}
    )

    assert len(enrolled) == 1


def test_facts_are_asked_only_for_events_that_reach_a_contact_filter() -> None:
    plain = candidate({"event": "purchase"}, key="plain")
    filtered = candidate({"event": "visit", "contacts": {"in_list": "VIP"}}, key="filtered")
    batch = [event("purchase", 1, 1), event("visit", 2, 2), event("signup", 3, 3)]

    subjects = fact_subjects(batch, [plain, filtered])
    needs = contact_needs([plain, filtered])

    assert [(s.key, s.contact_id, s.anchor_event_id) for s in subjects] == [(2, 2, 2)]
    assert needs is not None and needs.lists and not needs.contact
    assert contact_needs([plain]) is None and fact_subjects(batch, [plain]) == []


# --- segments -----------------------------------------------------------------------------


def test_a_segment_takes_the_change_that_makes_the_contact_match() -> None:
    segment = {"segment": PRO}
    now_pro = Facts(attributes={"PLAN": "pro", "SCORE": 5})

    upgrade = event("attribute_changed", name="PLAN", old="free", new="pro")
    other = event("attribute_changed", name="SCORE", old=4, new=5)

    assert enrols(segment, upgrade, now_pro)
    assert not enrols(segment, other, now_pro)  # matched before that change already
    assert not enrols(segment, upgrade, Facts(attributes={"PLAN": "free"}))  # not any more
    assert enrols(segment, event("contact_created"), now_pro)


def test_a_list_segment_starts_on_joining_and_a_negated_one_on_leaving() -> None:
    in_vip = Facts(lists=frozenset({"VIP"}))
    out = Facts(lists=frozenset())

    assert enrols({"segment": {"in_list": "VIP"}}, event("list_added", list="VIP"), in_vip)
    assert not enrols({"segment": {"in_list": "VIP"}}, event("list_added", list="B"), in_vip)
    assert enrols({"segment": {"not": {"in_list": "VIP"}}}, event("list_removed", list="VIP"), out)


def test_several_changes_in_one_batch_start_a_segment_once() -> None:
    flow = candidate({"segment": {"all": [PRO, {"in_list": "VIP"}]}})
    facts = Facts(attributes={"PLAN": "pro"}, lists=frozenset({"VIP"}))
    batch = [
        event("attribute_changed", 1, name="PLAN", old="free", new="pro"),
        event("list_added", 2, list="VIP"),
    ]

    enrolled, refused = decide_enrolments(batch, [flow], [], {1: facts, 2: facts})

    assert [e.event.id for e in enrolled] == [1] and refused == []


def test_a_backfill_event_enrols_a_matching_contact_into_the_workflow_it_names() -> None:
    flow = candidate({"segment": PRO, "enrol_existing": True, "per_minute": 50}, key="flow")
    other = candidate({"segment": PRO}, key="other")
    backfill = event("segment_backfill", workflow="flow")
    pro = Facts(attributes={"PLAN": "pro"})

    enrolled, _ = decide_enrolments([backfill], [flow, other], [], {1: pro})
    nobody, _ = decide_enrolments([backfill], [flow], [], {1: Facts(attributes={})})

    assert [e.candidate.workflow.key for e in enrolled] == ["flow"]
    assert nobody == []
    assert backfill_rate(flow.workflow) == 50 and backfill_rate(other.workflow) is None


# --- manual enrolment ---------------------------------------------------------------------


def test_manual_enrolment_reaches_the_named_workflow_and_respects_reentry() -> None:
    flow = candidate({"event": "purchase"}, key="flow", reentry="once")
    other = candidate({"event": "purchase"}, key="other")
    manual = [
        event("manual_enrolment", 1, contact_id=1, workflow="flow"),
        event("manual_enrolment", 2, contact_id=2, workflow="flow"),
    ]

    enrolled, refused = decide_enrolments(manual, [flow, other], [(flow.workflow_id, 2)])

    assert [(e.candidate.workflow.key, e.event.contact_id) for e in enrolled] == [("flow", 1)]
    assert [(r.contact_id, r.reason) for r in refused] == [
        (2, "re-entry is off and the contact already entered this workflow")
    ]


# --- anniversaries ------------------------------------------------------------------------


def test_anniversaries_before_on_and_after_the_date_across_a_year_end() -> None:
    assert due_anniversary("1990-01-02", dt.date(2026, 12, 30), 3) == dt.date(2027, 1, 2)
    assert due_anniversary("1990-12-30", dt.date(2027, 1, 2), -3) == dt.date(2026, 12, 30)
    assert due_anniversary("1990-05-17", dt.date(2027, 5, 17), 0) == dt.date(2027, 5, 17)
    assert due_anniversary("1990-05-17", dt.date(2027, 5, 16), 0) is None
    assert due_anniversary("2030-05-17", dt.date(2027, 5, 17), 0) is None  # not born yet
    assert due_anniversary("not a date", dt.date(2027, 5, 17), 0) is None


def test_29_february_is_kept_on_28_february_in_other_years() -> None:
    assert anniversary_in(2027, 2, 29) == dt.date(2027, 2, 28)
    assert due_anniversary("2000-02-29", dt.date(2027, 2, 28), 0) == dt.date(2027, 2, 28)
    assert due_anniversary("2000-02-29", dt.date(2028, 2, 28), 0) is None
    assert due_anniversary("2000-02-29", dt.date(2028, 2, 29), 0) == dt.date(2028, 2, 29)
    assert "02-29" in month_days_due(dt.date(2027, 2, 28), 0)
    assert "02-29" not in month_days_due(dt.date(2028, 2, 28), -5)


dates = st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2060, 12, 31))


@given(birth=dates, year=st.integers(min_value=2000, max_value=2060))
def test_exactly_one_day_a_year_is_the_anniversary(birth: dt.date, year: int) -> None:
    days = [dt.date(year, 1, 1) + dt.timedelta(days=i) for i in range(366)]
    due = [d for d in days if d.year == year and due_anniversary(birth.isoformat(), d, 0)]

    expected = 0 if year < birth.year else 1
    assert len(due) == expected
    if due:
        leap_day_moved = (birth.month, birth.day) == (2, 29) and due[0].day == 28
        assert (due[0].month, due[0].day) == (birth.month, birth.day) or leap_day_moved


@given(birth=dates, today=dates, offset=st.integers(min_value=-365, max_value=365))
def test_an_offset_shifts_the_day_and_the_scan_finds_it(
    birth: dt.date, today: dt.date, offset: int
) -> None:
    shifted = today + dt.timedelta(days=offset)
    found = due_anniversary(birth.isoformat(), today, offset)

    assert found == due_anniversary(birth.isoformat(), shifted, 0)
    if found is not None:
        month_day = f"{birth.month:02d}-{birth.day:02d}"
        assert month_day in month_days_due(today, offset)
