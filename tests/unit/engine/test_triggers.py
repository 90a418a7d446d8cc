"""decide_enrolments: which events enrol which contacts (entry filters, re-entry)."""

from __future__ import annotations

from typing import Any

import pytest

from journeyman.engine.triggers import Candidate, decide_enrolments, entry_matches, event_names
from journeyman.model.events import Event, property_at
from journeyman.workflow.document import parse_workflow


def candidate(
    workflow_id: int, entry_points: list[dict[str, Any]], reentry: str = "once"
) -> Candidate:
    workflow = parse_workflow(
        {
            "name": f"Workflow {workflow_id}",
            "entry_points": entry_points,
            "reentry": reentry,
            "steps": [{"id": "tag", "add_to_list": {"lists": "Tagged"}}],
        }
    )
    return Candidate(workflow_id=workflow_id, version_id=workflow_id * 10, workflow=workflow)


def event(event_id: int, contact_id: int, name: str = "purchase", **properties: Any) -> Event:
    return Event(id=event_id, name=name, contact_id=contact_id, properties=properties)


def pairs(enrolments: list[Any]) -> list[tuple[int, int]]:
    return [(e.candidate.workflow_id, e.event.id) for e in enrolments]


def test_an_event_enrols_into_every_workflow_it_matches() -> None:
    purchase, visit = candidate(1, [{"event": "purchase"}]), candidate(2, [{"event": "visit"}])
    both = candidate(3, [{"event": "visit"}, {"event": "purchase"}])

    enrolled, refused = decide_enrolments([event(1, 7)], [purchase, visit, both], [])

    assert pairs(enrolled) == [(1, 1), (3, 1)]
    assert refused == []


@pytest.mark.parametrize(
    ("where", "properties", "matches"),
    [
        ({"amount": {"gte": 100}}, {"amount": 120}, True),
        ({"amount": {"gte": 100}}, {"amount": 99.5}, False),
        ({"amount": {"gte": 100}}, {}, False),  # a missing property does not match
        ({"currency": {"equals": "EUR"}}, {"currency": "eur"}, True),
        ({"cart.total": {"gt": 50}}, {"cart": {"total": 80}}, True),
        ({"cart.total": {"gt": 50}}, {"cart": 80}, False),
        ({"coupon": {"is_set": False}}, {}, True),
        (
            {"amount": {"gte": 100}, "currency": {"in": ["EUR", "CHF"]}},
            {"amount": 150, "currency": "USD"},
            False,
        ),
    ],
)
def test_property_filters(where: dict[str, Any], properties: dict[str, Any], matches: bool) -> None:
    entry = candidate(1, [{"event": "purchase", "where": where}])

    enrolled, _ = decide_enrolments([event(1, 7, **properties)], [entry], [])

    assert bool(enrolled) is matches
    assert entry_matches(entry.workflow.entry_points[0], event(1, 7, **properties)) is matches


def test_the_event_name_must_match_exactly() -> None:
    entry = candidate(1, [{"event": "purchase"}])

    enrolled, refused = decide_enrolments(
        [event(1, 7, name="Purchase"), event(2, 7, name="purchase_refund")], [entry], []
    )

    assert enrolled == [] and refused == []


def test_reentry_once_enrols_once_within_one_batch() -> None:
    once = candidate(1, [{"event": "purchase"}], reentry="once")
    events = [event(1, 7), event(2, 8), event(3, 7), event(4, 7)]

    enrolled, refused = decide_enrolments(events, [once], [])

    assert pairs(enrolled) == [(1, 1), (1, 2)]  # the first event of each contact
    assert [(r.workflow_id, r.event_id) for r in refused] == [(1, 3), (1, 4)]
    assert "already entered" in refused[0].reason


def test_reentry_once_refuses_contacts_that_already_entered() -> None:
    once, other = candidate(1, [{"event": "purchase"}]), candidate(2, [{"event": "purchase"}])

    enrolled, refused = decide_enrolments([event(1, 7), event(2, 8)], [once, other], [(1, 7)])

    assert pairs(enrolled) == [(2, 1), (1, 2), (2, 2)]  # event by event
    assert [(r.workflow_id, r.contact_id) for r in refused] == [(1, 7)]


def test_reentry_every_time_enrols_every_event() -> None:
    every = candidate(1, [{"event": "purchase"}], reentry="every_time")

    enrolled, refused = decide_enrolments([event(1, 7), event(2, 7)], [every], [(1, 7)])

    assert pairs(enrolled) == [(1, 1), (1, 2)]
    assert refused == []


def test_a_filtered_out_event_does_not_use_up_the_single_entry() -> None:
    big = candidate(1, [{"event": "purchase", "where": {"amount": {"gte": 100}}}])

    enrolled, refused = decide_enrolments(
        [event(1, 7, amount=5), event(2, 7, amount=500)], [big], []
    )

    assert pairs(enrolled) == [(1, 2)]
    assert refused == []


def test_event_names_and_property_paths() -> None:
    assert event_names(
        [candidate(1, [{"event": "a"}, {"event": "b"}]), candidate(2, [{"event": "a"}])]
    ) == {"a", "b"}
    assert property_at({"a": {"b": {"c": 3}}}, "a.b.c") == 3
    assert property_at({"a": {"b": None}}, "a.b.c") is None
    assert property_at({"a": [1, 2]}, "a.0") is None
