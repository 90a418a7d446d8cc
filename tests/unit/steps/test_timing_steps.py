"""The timing step kinds as pure batch functions: wait_until, wait_window, delay in a
contact's time zone, and the quiet-hours helper for message steps; their documents."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any, ClassVar

import pytest
import yaml

from journeyman.conditions import Facts
from journeyman.conditions.rules import Needs
from journeyman.errors import InvalidWorkflow
from journeyman.model.contacts import AttributeDefinition, AttributeType, ContactView
from journeyman.model.runs import Outcome, RunView
from journeyman.steps.base import StepEnv, StepItem, StepKind
from journeyman.steps.timing import (
    Delay,
    DelayParams,
    QuietHoursParams,
    WaitUntil,
    WaitUntilParams,
    WaitWindow,
    WaitWindowParams,
    run_outside_quiet_hours,
)
from journeyman.workflow.document import parse_workflow

UTC = dt.UTC
MONDAY_9_UTC = dt.datetime(2027, 1, 4, 9, 0, tzinfo=UTC)


def item(run_id: int, *, tz: str | None = None, **attributes: Any) -> StepItem:
    return StepItem(
        run=RunView(
            run_id=run_id, workflow_id=1, version_id=1, contact_id=run_id, step_id="s", seq=0
        ),
        contact=ContactView(
            id=run_id, email=f"c{run_id}@example.com", attributes=attributes, timezone=tz
        ),
        facts=Facts(attributes=attributes),
    )


def env(now: dt.datetime = MONDAY_9_UTC, *, default: str = "UTC", **more: Any) -> StepEnv:
    return StepEnv(
        now=now,
        workflow_key="k",
        step_id="s",
        list_ids={},
        secret=b"s",
        default_timezone=default,
        **more,
    )


def document(step: dict[str, Any]) -> dict[str, Any]:
    return {"key": "k", "name": "K", "entry_points": [{"event": "e"}], "steps": [step]}


def problems(step: dict[str, Any]) -> list[tuple[str | None, str]]:
    with pytest.raises(InvalidWorkflow) as raised:
        parse_workflow(document({"id": "s", **step}))
    return [(p.field, p.message) for p in raised.value.problems]


# --- delay ---------------------------------------------------------------------------------


def test_a_delay_in_days_wakes_at_the_same_local_time_in_each_contacts_zone() -> None:
    now = dt.datetime(2027, 3, 27, 8, 0, tzinfo=UTC)  # 09:00 in Berlin, 04:00 in New York
    items = [item(1, tz="Europe/Berlin"), item(2, tz="America/New_York"), item(3)]

    outcomes = Delay().run(DelayParams(days=1), items, env(now))

    assert [o.wait_until for o in outcomes] == [
        dt.datetime(2027, 3, 28, 7, 0, tzinfo=UTC),  # 09:00 CEST: 23 hours later
        dt.datetime(2027, 3, 28, 8, 0, tzinfo=UTC),  # no change in New York that night
        dt.datetime(2027, 3, 28, 8, 0, tzinfo=UTC),  # UTC, the default
    ]
    assert outcomes[0].reason == "wait 1 days until 2027-03-28T09:00:00+02:00"
    assert outcomes[1].reason == "wait 1 days until 2027-03-28T04:00:00-04:00"


def test_hours_are_elapsed_time_even_across_a_dst_change() -> None:
    now = dt.datetime(2027, 3, 27, 8, 0, tzinfo=UTC)

    (outcome,) = Delay().run(DelayParams(hours=24), [item(1, tz="Europe/Berlin")], env(now))

    assert outcome.wait_until == now + dt.timedelta(hours=24)
    assert outcome.reason == "wait 24 hours until 2027-03-28T10:00:00+02:00"


def test_only_calendar_delays_need_the_contact() -> None:
    assert Delay().needs(DelayParams(hours=5)) == Needs()
    assert Delay().needs(DelayParams(weeks=1)) == Needs(contact=True)
    assert Delay().needs(DelayParams(months=1)) == Needs(contact=True)


def test_the_default_time_zone_is_for_contacts_without_one() -> None:
    now = dt.datetime(2027, 3, 27, 8, 0, tzinfo=UTC)

    (outcome,) = Delay().run(DelayParams(days=1), [item(1)], env(now, default="Europe/Berlin"))

    assert outcome.wait_until == dt.datetime(2027, 3, 28, 7, 0, tzinfo=UTC)


# --- wait_until ----------------------------------------------------------------------------


def test_a_date_without_offset_is_the_contacts_local_time() -> None:
    params = WaitUntilParams(date="2027-03-01T09:00")
    items = [item(1, tz="Europe/Berlin"), item(2, tz="America/New_York")]

    berlin, new_york = WaitUntil().run(params, items, env())

    assert berlin.wait_until == dt.datetime(2027, 3, 1, 8, 0, tzinfo=UTC)
    assert new_york.wait_until == dt.datetime(2027, 3, 1, 14, 0, tzinfo=UTC)
    assert berlin.reason == (
        "wait until 2027-03-01T09:00:00+01:00 (date 2027-03-01T09:00 in Europe/Berlin)"
    )
    assert (berlin.result, berlin.branch) == ("waiting", "next")
    assert WaitUntil().needs(params) == Needs(contact=True)


def test_a_date_with_an_offset_is_one_instant_for_everyone() -> None:
    params = WaitUntilParams(date="2027-03-01T09:00:00+01:00")
    items = [item(1, tz="Europe/Berlin"), item(2, tz="America/New_York")]

    outcomes = WaitUntil().run(params, items, env())

    assert {o.wait_until for o in outcomes} == {dt.datetime(2027, 3, 1, 8, 0, tzinfo=UTC)}
    assert WaitUntil().needs(params) == Needs()


def test_a_date_alone_waits_until_at_or_midnight() -> None:
    (midnight,) = WaitUntil().run(WaitUntilParams(date="2027-03-01"), [item(1)], env())
    (nine,) = WaitUntil().run(WaitUntilParams(date="2027-03-01", at="9:00"), [item(1)], env())

    assert midnight.wait_until == dt.datetime(2027, 3, 1, 0, 0, tzinfo=UTC)
    assert nine.wait_until == dt.datetime(2027, 3, 1, 9, 0, tzinfo=UTC)


def test_a_date_that_has_passed_goes_on_at_once_and_says_so() -> None:
    (outcome,) = WaitUntil().run(WaitUntilParams(date="2026-12-24T18:00"), [item(1)], env())

    assert (outcome.result, outcome.branch, outcome.wait_until) == ("no_wait", "next", None)
    assert outcome.reason == (
        "go on: 2026-12-24T18:00:00+00:00 (date 2026-12-24T18:00 in UTC) has passed"
    )


BIRTHDAY = {"BIRTHDAY": AttributeDefinition(name="BIRTHDAY", type=AttributeType.DATE)}


def test_three_days_before_a_date_attribute_at_nine() -> None:
    params = WaitUntilParams(attribute="birthday", days=-3, at="09:00")
    contact = item(1, tz="Europe/Berlin", BIRTHDAY="2027-03-04")

    (outcome,) = WaitUntil().run(params, [contact], env(attributes=BIRTHDAY))

    assert outcome.wait_until == dt.datetime(2027, 3, 1, 8, 0, tzinfo=UTC)
    assert outcome.reason == (
        "wait until 2027-03-01T09:00:00+01:00 (3 days before BIRTHDAY 2027-03-04)"
    )
    assert WaitUntil().references(params) == {"attributes": {"BIRTHDAY"}}


def test_an_unset_past_or_wrong_attribute_goes_on_at_once_with_the_reason() -> None:
    params = WaitUntilParams(attribute="BIRTHDAY", days=1)
    items = [item(1), item(2, BIRTHDAY="1990-05-10"), item(3, BIRTHDAY="soon")]

    outcomes = WaitUntil().run(params, items, env(attributes=BIRTHDAY))
    texts = WaitUntil().run(
        params,
        [item(4, BIRTHDAY="x")],
        env(attributes={"BIRTHDAY": AttributeDefinition(name="BIRTHDAY", type=AttributeType.TEXT)}),
    )

    assert {o.result for o in [*outcomes, *texts]} == {"no_wait"}
    assert [o.reason for o in [*outcomes, *texts]] == [
        "go on: BIRTHDAY is not set",
        "go on: 1990-05-11T00:00:00+00:00 (1 day after BIRTHDAY 1990-05-10) has passed",
        "go on: BIRTHDAY 'soon' is not a date",
        "go on: BIRTHDAY is a text attribute, not a date",
    ]


def test_a_yearly_wait_takes_the_next_anniversary() -> None:
    params = WaitUntilParams(attribute="BIRTHDAY", days=-3, at="09:00", yearly=True)
    items = [
        item(1, tz="Europe/Berlin", BIRTHDAY="1990-03-04"),
        item(2, tz="Europe/Berlin", BIRTHDAY="1996-02-29"),
        item(3, tz="Europe/Berlin", BIRTHDAY="1990-01-05"),  # the 2nd was three days ago
        item(4, tz="Europe/Berlin", BIRTHDAY="1990-01-07"),  # today is three days before
    ]
    now = dt.datetime(2027, 1, 4, 9, 30, tzinfo=UTC)  # 10:30 in Berlin

    outcomes = WaitUntil().run(params, items, env(now, attributes=BIRTHDAY))

    assert [o.reason for o in outcomes] == [
        "wait until 2027-03-01T09:00:00+01:00 (3 days before BIRTHDAY 2027-03-04)",
        "wait until 2027-02-25T09:00:00+01:00 "
        "(3 days before BIRTHDAY 2027-02-28, anniversary of 1996-02-29)",
        "wait until 2028-01-02T09:00:00+01:00 (3 days before BIRTHDAY 2028-01-05)",
        "go on: 2027-01-04T09:00:00+01:00 (3 days before BIRTHDAY 2027-01-07) has passed",
    ]
    assert outcomes[3].result == "no_wait"


@pytest.mark.parametrize(
    ("params", "field", "words"),
    [
        ({}, "wait_until", "either date or attribute"),
        ({"date": "2027-03-01", "attribute": "B"}, "wait_until", "either date or attribute"),
        ({"date": "2027-03-01", "days": 3}, "wait_until", "go with attribute"),
        ({"date": "2027-03-01T10:00", "at": "09:00"}, "wait_until", "not in both"),
        ({"date": "next tuesday"}, "wait_until.date", "not an ISO 8601 date"),
        ({"attribute": "B", "at": 540}, "wait_until.at", "quote it"),
        ({"attribute": "B", "at": "25:00"}, "wait_until.at", '"HH:MM"'),
        ({"attribute": "B", "days": 400}, "wait_until.days", "366"),
        ({"attribute": "B", "every": 1}, "wait_until.every", "unknown field"),
    ],
)
def test_bad_wait_until_documents_name_the_field(
    params: dict[str, Any], field: str, words: str
) -> None:
    ((where, message),) = problems({"wait_until": params})
    assert where == field
    assert words in message


def test_yaml_dates_and_times_are_read_as_written() -> None:
    step = yaml.safe_load(
        "id: s\nwait_until: {date: 2027-03-01, at: '09:00'}\n"
    )  # an unquoted date is a date
    workflow = parse_workflow(document(step))

    params = workflow.steps["s"].params
    assert (params.date, params.at) == ("2027-03-01", dt.time(9))
    assert workflow.document["steps"][0]["wait_until"]["date"] == dt.date(2027, 3, 1)


# --- wait_window ---------------------------------------------------------------------------


def test_a_window_in_each_contacts_own_zone() -> None:
    params = WaitWindowParams.model_validate(
        {"days": ["mon", "tue", "wed", "thu", "fri"], "from": "09:00", "to": "18:00"}
    )
    items = [item(1, tz="Europe/Berlin"), item(2, tz="America/New_York"), item(3, tz="Asia/Tokyo")]

    berlin, new_york, tokyo = WaitWindow().run(params, items, env())  # Monday 09:00 UTC

    assert (berlin.result, berlin.wait_until) == ("no_wait", None)
    assert berlin.reason == "inside Mon-Fri 09:00-18:00 in Europe/Berlin: go on"
    assert new_york.wait_until == dt.datetime(2027, 1, 4, 14, 0, tzinfo=UTC)
    assert new_york.reason == (
        "outside Mon-Fri 09:00-18:00 in America/New_York: wait until 2027-01-04T09:00:00-05:00"
    )
    assert tokyo.wait_until == dt.datetime(2027, 1, 5, 0, 0, tzinfo=UTC)  # 18:00 there: closed
    assert WaitWindow().needs(params) == Needs(contact=True)


def test_window_days_accept_full_names_and_default_to_every_day() -> None:
    named = WaitWindowParams.model_validate(
        {"days": ["Monday", "SAT"], "from": "9:00", "to": "12:00"}
    )
    every = WaitWindowParams.model_validate({"from": "09:00", "to": "12:00"})

    assert named.window().days == frozenset({0, 5})
    assert every.window().days == frozenset(range(7))


@pytest.mark.parametrize(
    ("params", "field", "words"),
    [
        ({"from": "09:00"}, "wait_window.to", "required"),
        ({"from": "09:00", "to": "18:00", "days": []}, "wait_window.days", "at least 1"),
        (
            {"from": "09:00", "to": "18:00", "days": ["mon", "x"]},
            "wait_window.days",
            "'x' is not a day",
        ),
        ({"from": 900, "to": "18:00"}, "wait_window.from", '"HH:MM"'),
    ],
)
def test_bad_windows_name_the_field(params: dict[str, Any], field: str, words: str) -> None:
    ((where, message),) = problems({"wait_window": params})
    assert where == field
    assert words in message


# --- quiet hours ---------------------------------------------------------------------------


class Sends(StepKind):
    """A message step stand-in: records what it was given."""

    kind = "sends"
    params: ClassVar[Any] = None

    def __init__(self) -> None:
        self.given: list[int] = []

    def run(self, params: Any, items: Sequence[StepItem], env: StepEnv) -> list[Outcome]:
        self.given.extend(i.run.run_id for i in items)
        return [Outcome(run_id=i.run.run_id, result="sent") for i in items]


def test_messages_inside_quiet_hours_wait_on_their_step_until_they_end() -> None:
    quiet = QuietHoursParams.model_validate({"from": "21:00", "to": "08:00"}).window()
    now = dt.datetime(2027, 1, 4, 21, 30, tzinfo=UTC)  # 22:30 Berlin, 16:30 New York
    items = [item(1, tz="Europe/Berlin"), item(2, tz="America/New_York"), item(3, tz="Asia/Tokyo")]
    step = Sends()

    berlin, new_york, tokyo = run_outside_quiet_hours(step, None, items, env(now), quiet)

    assert step.given == [2]
    assert new_york.result == "sent"
    assert (berlin.result, berlin.park, berlin.branch) == ("deferred", True, None)
    assert berlin.wait_until == dt.datetime(2027, 1, 5, 7, 0, tzinfo=UTC)
    assert berlin.reason == (
        "quiet hours (send every day 08:00-21:00 in Europe/Berlin): "
        "wait until 2027-01-05T08:00:00+01:00"
    )
    assert tokyo.wait_until == dt.datetime(2027, 1, 4, 23, 0, tzinfo=UTC)  # 08:00 in Tokyo


def test_without_quiet_hours_or_outside_them_every_message_goes() -> None:
    quiet = QuietHoursParams.model_validate({"from": "21:00", "to": "08:00"}).window()
    step = Sends()

    none = run_outside_quiet_hours(step, None, [item(1)], env(), None)
    day = run_outside_quiet_hours(step, None, [item(2, tz="Europe/Berlin")], env(), quiet)

    assert [o.result for o in [*none, *day]] == ["sent", "sent"]
    assert step.given == [1, 2]


def test_quiet_hours_need_two_different_times() -> None:
    with pytest.raises(ValueError, match="different"):
        QuietHoursParams.model_validate({"from": "21:00", "to": "21:00"})
