"""Schedule arithmetic: calendar months with clamped month ends, and the delay step."""

from __future__ import annotations

import calendar
import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from journeyman.clock import UTC
from journeyman.conditions import Facts
from journeyman.model.runs import RunView
from journeyman.schedule import add_months
from journeyman.steps.base import StepEnv, StepItem
from journeyman.steps.timing import MAX_MONTHS, Delay, DelayParams

times = st.datetimes(
    min_value=dt.datetime(1990, 1, 1), max_value=dt.datetime(2100, 12, 31), timezones=st.just(UTC)
)
month_counts = st.integers(0, MAX_MONTHS)


def months_between(earlier: dt.datetime, later: dt.datetime) -> int:
    return (later.year - earlier.year) * 12 + later.month - earlier.month


@given(times, month_counts)
def test_the_month_moves_by_exactly_n(when: dt.datetime, months: int) -> None:
    assert months_between(when, add_months(when, months)) == months


@given(times, month_counts)
def test_the_day_is_kept_or_clamped_to_the_month_end(when: dt.datetime, months: int) -> None:
    result = add_months(when, months)
    last_day = calendar.monthrange(result.year, result.month)[1]

    assert result.day <= when.day
    assert result.day == min(when.day, last_day)


@given(times, month_counts)
def test_the_time_of_day_and_zone_are_kept(when: dt.datetime, months: int) -> None:
    result = add_months(when, months)

    assert (result.time(), result.tzinfo) == (when.time(), when.tzinfo)
    assert result >= when


@given(st.integers(1990, 2100))
def test_january_31_plus_one_month_is_the_end_of_february(year: int) -> None:
    result = add_months(dt.datetime(year, 1, 31, 12, 0, tzinfo=UTC), 1)

    assert (result.month, result.day) == (2, 29 if calendar.isleap(year) else 28)


@pytest.mark.parametrize(
    ("start", "months", "expected"),
    [
        (dt.date(2027, 1, 31), 1, dt.date(2027, 2, 28)),
        (dt.date(2028, 1, 31), 1, dt.date(2028, 2, 29)),
        (dt.date(2027, 3, 31), 1, dt.date(2027, 4, 30)),
        (dt.date(2027, 11, 30), 3, dt.date(2028, 2, 29)),
        (dt.date(2027, 12, 15), 1, dt.date(2028, 1, 15)),
        (dt.date(2027, 5, 31), 12, dt.date(2028, 5, 31)),
        (dt.date(2028, 2, 29), 12, dt.date(2029, 2, 28)),
        (dt.date(2027, 1, 1), 60, dt.date(2032, 1, 1)),
    ],
)
def test_known_month_ends(start: dt.date, months: int, expected: dt.date) -> None:
    when = dt.datetime.combine(start, dt.time(8, 30), tzinfo=UTC)

    assert add_months(when, months) == dt.datetime.combine(expected, dt.time(8, 30), tzinfo=UTC)


def test_add_months_keeps_the_wall_clock_in_a_local_zone() -> None:
    berlin = ZoneInfo("Europe/Berlin")
    winter = dt.datetime(2027, 2, 28, 9, 0, tzinfo=berlin)

    summer = add_months(winter, 2)  # across the switch to summer time

    assert (summer.month, summer.day, summer.hour) == (4, 28, 9)
    assert summer.utcoffset() == dt.timedelta(hours=2)


@given(
    st.integers(0, MAX_MONTHS),
    st.integers(0, 500),
    st.integers(0, 500),
    st.integers(0, 500),
    st.integers(0, 300),
)
def test_a_delay_is_accepted_exactly_when_within_one_minute_and_60_months(
    months: int, weeks: int, days: int, hours: int, minutes: int
) -> None:
    start = dt.datetime(2000, 1, 1, tzinfo=UTC)
    fixed = dt.timedelta(weeks=weeks, days=days, hours=hours, minutes=minutes)
    end = add_months(start, months) + fixed
    valid = (months > 0 or fixed >= dt.timedelta(minutes=1)) and end <= add_months(start, 60)
    fields = {"months": months, "weeks": weeks, "days": days, "hours": hours, "minutes": minutes}

    try:
        params = DelayParams(**fields)
    except ValueError:
        assert not valid
    else:
        assert valid
        assert params.add_to(start) == end


def test_the_delay_step_parks_every_run_until_the_same_wake_time() -> None:
    now = dt.datetime(2027, 1, 31, 10, 0, tzinfo=UTC)
    params = DelayParams(months=1, days=2, hours=3)
    items = [
        StepItem(
            run=RunView(
                run_id=run_id, workflow_id=1, version_id=1, contact_id=run_id, step_id="w", seq=0
            ),
            contact=None,
            facts=Facts(),
        )
        for run_id in (7, 8)
    ]
    env = StepEnv(now=now, workflow_key="k", step_id="w", list_ids={}, secret=b"s")

    outcomes = Delay().run(params, items, env)

    wake = dt.datetime(2027, 3, 2, 13, 0, tzinfo=UTC)  # Feb 28 + 2 days + 3 hours
    assert [o.run_id for o in outcomes] == [7, 8]
    assert {o.wait_until for o in outcomes} == {wake}
    assert {o.branch for o in outcomes} == {"next"}
    assert outcomes[0].reason == f"wait 1 months 2 days 3 hours until {wake.isoformat()}"
