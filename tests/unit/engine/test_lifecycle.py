"""react and admit: how events change runs already inside, and who may enter (pure)."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import pytest

from journeyman.engine.lifecycle import admit, hold_back, react, rule_matches
from journeyman.engine.triggers import Candidate, Enrolment
from journeyman.errors import InvalidWorkflow
from journeyman.model.events import Event
from journeyman.model.runs import InFlight, RunStatus
from journeyman.workflow.document import EventRule, Workflow, parse_workflow

NOW = dt.datetime(2027, 1, 4, 9, 0, tzinfo=dt.UTC)
CART = {"cart_id": "A"}


def definition(steps: list[dict[str, Any]] | None = None, **settings: Any) -> Workflow:
    return parse_workflow(
        {
            "name": "Lifecycle",
            "entry_points": [{"event": "cart_updated"}],
            "steps": steps or [{"id": "tag", "add_to_list": {"lists": "Tagged"}}],
            **settings,
        }
    )


WAIT_FOR_ORDER = [
    {
        "id": "wait",
        "wait_for_event": {"event": "order_created", "same": "cart_id", "timeout": {"hours": 1}},
        "then": "end",
        "else": "tag",
    },
    {"id": "tag", "add_to_list": {"lists": "Tagged"}},
]


def event(event_id: int, name: str, contact_id: int = 7, **properties: Any) -> Event:
    return Event(id=event_id, name=name, contact_id=contact_id, properties=properties)


def in_flight(
    run_id: int = 1,
    *,
    contact_id: int = 7,
    status: RunStatus = RunStatus.WAITING,
    step_id: str = "tag",
    trigger_event_id: int = 1,
    context: dict[str, Any] | None = None,
    trigger_properties: dict[str, Any] | None = None,
    version_id: int = 10,
) -> InFlight:
    return InFlight(
        run_id=run_id,
        workflow_id=version_id // 10,
        version_id=version_id,
        contact_id=contact_id,
        status=status,
        step_id=step_id,
        seq=3,
        trigger_event_id=trigger_event_id,
        context=context or {},
        trigger_properties=CART if trigger_properties is None else trigger_properties,
    )


def waiting_for_order(same: Any = "A", **more: Any) -> InFlight:
    context = {"waiting": {"step": "wait", "event": "order_created", "same": same}}
    return in_flight(step_id="wait", context=context, **more)


def kinds(reactions: list[Any]) -> list[tuple[int, str, int, str]]:
    return [(r.run.run_id, r.kind, r.event.id, r.reason) for r in reactions]


# --- react --------------------------------------------------------------------------------


def test_a_goal_wins_over_an_exit_and_an_exit_over_a_restart() -> None:
    rule = [{"event": "order_created"}]
    every = definition(goals=rule, exit_when=rule, restart_when=rule)
    exits = definition(exit_when=rule, restart_when=rule)
    restarts = definition(restart_when=rule)
    runs = [in_flight(1, version_id=10), in_flight(2, version_id=20), in_flight(3, version_id=30)]

    found = react([event(5, "order_created")], runs, {10: every, 20: exits, 30: restarts})

    assert kinds(found) == [
        (1, "goal", 5, "goal reached: order_created"),
        (2, "exit", 5, "exit: order_created"),
        (3, "restart", 5, "restart: order_created"),
    ]


def test_an_exit_correlated_on_the_cart_ignores_orders_for_other_carts() -> None:
    flow = definition(exit_when=[{"event": "order_created", "same": "cart_id"}])
    batch = [
        event(5, "order_created", cart_id="B"),
        event(6, "order_created"),  # no cart at all
        event(7, "order_created", cart_id="A"),
    ]

    found = react(batch, [in_flight()], {10: flow})

    assert kinds(found) == [(1, "exit", 7, "exit: order_created")]


def test_a_missing_property_on_both_sides_is_not_the_same_cart() -> None:
    rule = EventRule(event="order_created", same="cart_id")

    assert rule_matches(rule, event(5, "order_created", cart_id="A"), CART)
    assert not rule_matches(rule, event(5, "order_created"), {})
    assert not rule_matches(rule, event(5, "order_created", cart_id=None), {"cart_id": None})


def test_where_filters_the_exit_event_by_its_properties() -> None:
    flow = definition(exit_when=[{"event": "order_created", "where": {"total": {"gte": 100}}}])

    small = react([event(5, "order_created", total=20)], [in_flight()], {10: flow})
    big = react([event(6, "order_created", total=120)], [in_flight()], {10: flow})

    assert small == []
    assert kinds(big) == [(1, "exit", 6, "exit: order_created")]


def test_one_reaction_per_run_and_batch_the_earliest_event_first() -> None:
    flow = definition(
        exit_when=[{"event": "cart_deleted"}], restart_when=[{"event": "cart_updated"}]
    )
    batch = [event(5, "cart_updated"), event(6, "cart_deleted")]

    found = react(batch, [in_flight()], {10: flow})

    assert kinds(found) == [(1, "restart", 5, "restart: cart_updated")]


def test_never_to_the_event_that_started_the_run_or_an_earlier_one() -> None:
    flow = definition(restart_when=[{"event": "cart_updated"}])
    run = in_flight(trigger_event_id=5)

    assert react([event(4, "cart_updated"), event(5, "cart_updated")], [run], {10: flow}) == []
    assert kinds(react([event(6, "cart_updated")], [run], {10: flow}))[0][:3] == (
        1,
        "restart",
        6,
    )


def test_only_the_runs_of_the_events_contact_react() -> None:
    flow = definition(exit_when=[{"event": "cart_deleted"}])
    mine, theirs = in_flight(1, contact_id=7), in_flight(2, contact_id=8)

    found = react([event(5, "cart_deleted", contact_id=8)], [mine, theirs], {10: flow})

    assert kinds(found) == [(2, "exit", 5, "exit: cart_deleted")]


def test_a_waiting_run_wakes_on_the_correlated_event_only() -> None:
    flow = definition(WAIT_FOR_ORDER)
    batch = [
        event(5, "order_created", cart_id="B"),
        event(6, "cart_deleted", cart_id="A"),
        event(7, "order_created", cart_id="A"),
    ]

    found = react(batch, [waiting_for_order()], {10: flow})

    assert kinds(found) == [(1, "wake", 7, "order_created arrived")]


def test_a_wait_whose_trigger_had_no_cart_is_not_woken_by_any_order_without_one() -> None:
    """``same`` with nothing to correlate with: an order without a cart is not "the same"."""
    flow = definition(WAIT_FOR_ORDER)

    found = react([event(5, "order_created")], [waiting_for_order(same=None)], {10: flow})

    assert found == []


def test_wait_for_event_where_filters_and_only_waiting_runs_wake() -> None:
    steps = [
        {
            "id": "wait",
            "wait_for_event": {
                "event": "order_created",
                "where": {"total": {"gt": 50}},
                "timeout": {"hours": 1},
            },
            "then": "end",
            "else": "tag",
        },
        {"id": "tag", "add_to_list": {"lists": "Tagged"}},
    ]
    flow = definition(steps)
    active = waiting_for_order(same=None, status=RunStatus.ACTIVE)

    small = react([event(5, "order_created", total=10)], [waiting_for_order()], {10: flow})
    big = react([event(6, "order_created", total=60)], [waiting_for_order()], {10: flow})
    not_waiting = react([event(6, "order_created", total=60)], [active], {10: flow})

    assert small == [] and not_waiting == []
    assert kinds(big) == [(1, "wake", 6, "order_created arrived")]


def test_a_run_waiting_on_a_delay_does_not_wake_on_events() -> None:
    flow = definition(WAIT_FOR_ORDER)

    assert react([event(5, "order_created", cart_id="A")], [in_flight()], {10: flow}) == []


# --- admit --------------------------------------------------------------------------------


def candidate(workflow_id: int = 1, **settings: Any) -> Candidate:
    return Candidate(
        workflow_id=workflow_id, version_id=workflow_id * 10, workflow=definition(**settings)
    )


def enrolments(*pairs: tuple[Candidate, Event]) -> list[Enrolment]:
    return [Enrolment(candidate=c, event=e) for c, e in pairs]


def ids(found: list[Enrolment]) -> list[tuple[int, int]]:
    return [(e.candidate.workflow_id, e.event.id) for e in found]


def test_a_run_already_inside_refuses_a_second_one_with_its_id() -> None:
    flow = candidate(reentry="every_time")

    decided = admit(enrolments((flow, event(5, "cart_updated"))), {(1, 7): 42}, {}, NOW)

    assert decided.admitted == [] and decided.deferred == []
    assert [(ids([e]), reason) for e, reason in decided.refused] == [
        ([(1, 5)], "already inside this workflow (run 42)")
    ]


def test_parallel_runs_enter_beside_the_run_inside_and_each_other() -> None:
    flow = candidate(reentry="every_time", allow_parallel_runs=True)
    batch = enrolments((flow, event(5, "cart_updated")), (flow, event(6, "cart_updated")))

    decided = admit(batch, {(1, 7): 42}, {}, NOW)

    assert ids(decided.admitted) == [(1, 5), (1, 6)]
    assert decided.refused == [] and decided.deferred == []


def test_a_second_event_of_the_batch_waits_for_the_next_tick_with_the_contacts_later_ones() -> None:
    flow, other = candidate(1, reentry="every_time"), candidate(2, reentry="every_time")
    first, second, third = (event(i, "cart_updated") for i in (5, 6, 7))
    someone_else = event(8, "cart_updated", contact_id=9)
    batch = enrolments(
        (flow, first),
        (flow, second),
        (other, second),  # deferred whole: not admitted into the other workflow either
        (other, third),  # a later event of the same contact waits too, to keep the order
        (flow, someone_else),
    )

    decided = admit(batch, {}, {}, NOW)

    assert ids(decided.admitted) == [(1, 5), (1, 8)]
    assert [e.id for e in decided.deferred] == [6, 7]
    assert decided.refused == []


def test_reentry_after_a_gap_refuses_inside_the_gap_and_admits_after_it() -> None:
    flow = candidate(reentry={"after": {"days": 7}})
    one = enrolments((flow, event(5, "cart_updated")))
    entered = {(1, 7): NOW - dt.timedelta(days=3)}

    early = admit(one, {}, entered, NOW)
    on_time = admit(one, {}, entered, NOW + dt.timedelta(days=4))
    never_entered = admit(one, {}, {}, NOW)

    assert early.admitted == []
    assert [reason for _, reason in early.refused] == ["entered 3 days ago; again after 7"]
    assert ids(on_time.admitted) == [(1, 5)] and on_time.refused == []
    assert ids(never_entered.admitted) == [(1, 5)]


def test_reentry_settings_are_validated() -> None:
    assert definition(reentry={"after": {"days": 30}}).reentry_gap == dt.timedelta(days=30)
    assert definition(reentry={"after": {"days": 30}}).reentry == "after"
    assert definition().reentry == "once" and not definition().allow_parallel_runs
    for wrong in ({"after": {"days": 0}}, {"after": {"hours": 5}}, "sometimes"):
        with pytest.raises(InvalidWorkflow) as raised:
            definition(reentry=wrong)
        field = raised.value.problems[0].field
        assert field is not None and field.startswith("reentry")


def test_reacts_to_events_names_the_settings_that_need_the_runs_of_an_events_contact() -> None:
    assert not definition().reacts_to_events
    assert definition(goals=[{"event": "order_created"}]).reacts_to_events
    assert definition(exit_when=[{"event": "x"}]).reacts_to_events
    assert definition(restart_when=[{"event": "x"}]).reacts_to_events
    assert definition(WAIT_FOR_ORDER).reacts_to_events


# --- hold_back ----------------------------------------------------------------------------


def split(
    batch: list[Event], runs: list[InFlight], *flows: Candidate
) -> tuple[list[int], list[int]]:
    definitions = {f.version_id: f.workflow for f in flows}
    now, later = hold_back(batch, runs, definitions, flows)
    return [e.id for e in now], [e.id for e in later]


CART_FLOW: dict[str, Any] = {
    "reentry": "every_time",
    "exit_when": [{"event": "order_created", "same": "cart_id"}],
    "restart_when": [{"event": "cart_updated", "same": "cart_id"}],
}


def test_an_event_that_would_be_a_runs_second_reaction_waits_with_the_contacts_later_ones() -> None:
    flow = candidate(**CART_FLOW)
    batch = [
        event(5, "cart_updated", cart_id="A"),  # restarts the run
        event(6, "order_created", cart_id="A"),  # would end it: next tick
        event(7, "page_visited"),  # after a held event: next tick too, in order
        event(8, "order_created", contact_id=9, cart_id="A"),  # another contact's
    ]

    assert split(batch, [in_flight(trigger_event_id=1)], flow) == ([5, 8], [6, 7])


def test_an_event_about_a_run_the_batch_may_start_waits_for_that_run() -> None:
    flow = candidate(**CART_FLOW)
    batch = [
        event(5, "cart_updated", cart_id="A"),  # may start a run
        event(6, "page_visited"),  # nothing to do with it
        event(7, "order_created", cart_id="A"),  # its exit event: after its first step
        event(8, "page_visited"),
    ]

    assert split(batch, [], flow) == ([5, 6], [7, 8])


def test_a_waited_for_event_waits_for_the_run_the_batch_may_start() -> None:
    flow = candidate(steps=WAIT_FOR_ORDER, reentry="every_time", allow_parallel_runs=True)
    batch = [event(5, "cart_updated", cart_id="A"), event(6, "order_created", cart_id="A")]

    assert split(batch, [], flow) == ([5], [6])


def test_one_run_at_a_time_holds_a_second_entry_parallel_runs_do_not() -> None:
    single = candidate(1, reentry="every_time")
    parallel = candidate(2, reentry="every_time", allow_parallel_runs=True)
    batch = [event(5, "cart_updated"), event(6, "cart_updated")]

    assert split(batch, [], single) == ([5], [6])
    assert split(batch, [], parallel) == ([5, 6], [])


def test_events_that_concern_no_workflow_all_go_on() -> None:
    flow = candidate(**CART_FLOW)
    batch = [event(i, "page_visited") for i in range(5, 9)]
    runs = [in_flight(trigger_event_id=1)]

    assert split(batch, runs, flow) == ([5, 6, 7, 8], [])


def test_a_manual_enrolment_opens_only_the_workflow_it_names() -> None:
    flow = candidate(**CART_FLOW)  # its key: "lifecycle", from the name
    mine = [event(5, "manual_enrolment", workflow="lifecycle"), event(6, "order_created")]
    other = [event(5, "manual_enrolment", workflow="other"), event(6, "order_created")]

    assert split(mine, [], flow) == ([5], [6])
    assert split(other, [], flow) == ([5, 6], [])


def test_each_contacts_first_event_is_always_decided() -> None:
    flow = candidate(**CART_FLOW)
    runs = [in_flight(run_id=c, contact_id=c) for c in range(1, 6)]
    batch = [event(10 + i, "cart_updated", contact_id=1 + i % 5, cart_id="A") for i in range(20)]

    now, later = split(batch, runs, flow)

    assert now == [10, 11, 12, 13, 14]
    assert later == list(range(15, 30))


# --- hold_back: runs the engine has yet to move --------------------------------------------


def pending(
    run_id: int = 1, *, held: bool = False, status: RunStatus = RunStatus.ACTIVE
) -> InFlight:
    run = in_flight(run_id, status=status, trigger_event_id=1)
    return dataclasses.replace(run, held=held, due=not held)


def test_an_entry_waits_for_a_due_run_it_would_be_refused_beside() -> None:
    single = candidate(**CART_FLOW)
    batch = [
        event(5, "cart_updated", cart_id="B"),  # "already inside" a run about to move on
        event(6, "page_visited"),  # the contact's later events keep their order
        event(7, "cart_updated", contact_id=9, cart_id="B"),  # another contact's
    ]

    assert split(batch, [pending()], single) == ([7], [5, 6])
    assert split(batch, [in_flight(trigger_event_id=1)], single) == ([5, 6, 7], [])  # waiting


def test_an_entry_refused_whatever_the_run_does_is_decided_at_once() -> None:
    once = candidate(reentry="once")
    parallel = candidate(reentry="every_time", allow_parallel_runs=True)
    batch = [event(5, "cart_updated")]

    assert split(batch, [pending()], once) == ([5], [])
    assert split(batch, [pending()], parallel) == ([5], [])


def test_what_would_change_a_run_a_worker_holds_waits_until_it_is_let_go() -> None:
    flow = candidate(**CART_FLOW)
    batch = [event(5, "order_created", cart_id="A"), event(6, "page_visited")]
    unrelated = [event(5, "page_visited"), event(6, "order_created", cart_id="Z")]

    assert split(batch, [pending(held=True, status=RunStatus.WAITING)], flow) == ([], [5, 6])
    assert split(unrelated, [pending(held=True, status=RunStatus.WAITING)], flow) == ([5, 6], [])


def test_a_due_run_still_reacts_in_the_batch() -> None:
    flow = candidate(**CART_FLOW)

    assert split([event(5, "order_created", cart_id="A")], [pending()], flow) == ([5], [])
