"""The operators added for the catalogue: between, dates (absolute and relative to today),
within the last N days, yearly anniversaries (Feb 29), and property paths."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from journeyman.conditions.operators import (
    Comparison,
    anniversary,
    compare,
    date_operand,
    matches_where,
    value_at,
)

TODAY = dt.date(2027, 2, 25)  # 2027 is a common year, 2028 a leap year


def check(value: Any, today: dt.date | None = TODAY, **test: Any) -> bool:
    return compare(value, Comparison.model_validate(test), today)


@pytest.mark.parametrize(
    ("value", "test", "expected"),
    [
        (5, {"between": [1, 10]}, True),
        (1, {"between": [1, 10]}, True),  # both ends included
        (10, {"between": [1, 10]}, True),
        (10.5, {"between": [1, 10]}, False),
        ("7", {"between": [1, 10]}, True),  # numeric text compares as a number
        ("2027-03-01", {"between": ["2027-01-01", "2027-12-31"]}, True),
        ("2026-12-31", {"between": ["2027-01-01", "2027-12-31"]}, False),
        ("2027-02-20", {"between": ["today-7", "today"]}, True),
        ("2027-02-17", {"between": ["today-7", "today"]}, False),
        ("2027-03-01", {"between": [1, 10]}, False),  # a date is not a number
        (True, {"between": [0, 1]}, False),  # booleans have no order
        (None, {"between": [0, 1]}, False),
        ("2027-01-15", {"before": "2027-02-01"}, True),
        ("2027-02-01", {"before": "2027-02-01"}, False),  # strictly before
        ("2027-02-02", {"after": "2027-02-01"}, True),
        ("2027-02-01T23:59:00+00:00", {"after": "2027-02-01"}, False),  # its date counts
        ("2027-02-17", {"before": "today-7"}, True),
        ("2027-02-18", {"before": "today-7"}, False),
        ("2027-03-05", {"after": "today + 8"}, False),  # Feb 25 + 8 days: Mar 5
        ("2027-03-05", {"after": "today+7"}, True),
        ("2027-02-26", {"after": "today"}, True),
        ("not a date", {"before": "today"}, False),
        (20270101, {"before": "today"}, False),
        ("2027-02-25", {"within_last_days": 0}, True),  # today is within the last 0 days
        ("2027-02-15", {"within_last_days": 10}, True),
        ("2027-02-14", {"within_last_days": 10}, False),
        ("2027-02-26", {"within_last_days": 10}, False),  # the future is not the past
        ("1990-02-25", {"anniversary_in_days": 0}, True),
        ("1990-02-27", {"anniversary_in_days": 2}, True),
        ("1990-03-01", {"anniversary_in_days": 4}, True),
        ("1990-02-24", {"anniversary_in_days": -1}, True),  # was yesterday
        ("1992-02-29", {"anniversary_in_days": 3}, True),  # Feb 28 in a common year
        ("1992-02-29", {"anniversary_in_days": 4}, False),  # not Mar 1
        ("1990-02-28", {"anniversary_in_days": 3}, True),
        ("2026-12-31", {"anniversary_in_days": 309}, True),  # across New Year
        (None, {"anniversary_in_days": 0}, False),
    ],
)
def test_between_and_date_operators(value: Any, test: dict[str, Any], expected: bool) -> None:
    assert check(value, **test) is expected


def test_feb_29_falls_on_feb_29_in_leap_years() -> None:
    leap_today = dt.date(2028, 2, 26)
    assert check("1992-02-29", leap_today, anniversary_in_days=3) is True
    assert check("1992-02-29", leap_today, anniversary_in_days=2) is False
    assert anniversary(dt.date(1992, 2, 29), 2027) == dt.date(2027, 2, 28)
    assert anniversary(dt.date(1992, 2, 29), 2028) == dt.date(2028, 2, 29)


@pytest.mark.parametrize(
    "test",
    [
        {"before": "today"},
        {"after": "2027-01-01"},
        {"within_last_days": 3},
        {"anniversary_in_days": 0},
        {"between": ["today-1", "today"]},
    ],
)
def test_operators_relative_to_today_fail_without_a_date(test: dict[str, Any]) -> None:
    comparison = Comparison.model_validate(test)

    assert comparison.relative
    assert compare("2027-02-25", comparison) is False


def test_absolute_operators_are_not_relative() -> None:
    assert not Comparison.model_validate({"between": [1, 2]}).relative
    assert not Comparison.model_validate({"gt": "2027-01-01"}).relative


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"between": [1]}, "between.1\n  Field required"),
        ({"between": [1, 2, 3]}, "between\n  Tuple should have at most 2 items"),
        ({"between": [10, 1]}, "low 10.0 is above high 1.0"),
        ({"between": [1, "2027-01-01"]}, "two numbers or two dates"),
        ({"between": ["a", "b"]}, "two numbers or two dates"),
        ({"before": "yesterday"}, "expected a date as YYYY-MM-DD or today±N"),
        ({"after": "2027-13-01"}, "expected a date"),
        ({"after": "2027-1-1"}, "expected a date"),
        ({"within_last_days": -1}, "greater than or equal to 0"),
        ({"anniversary_in_days": 400}, "less than or equal to 366"),
        ({"before": "today", "after": "today"}, "exactly one operator"),
    ],
)
def test_malformed_operands_are_refused_with_what_was_expected(
    raw: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValidationError, match=message):
        Comparison.model_validate(raw)


def test_date_operands() -> None:
    assert date_operand("today", TODAY) == TODAY
    assert date_operand("TODAY-30", TODAY) == dt.date(2027, 1, 26)
    assert date_operand("today+1", TODAY) == dt.date(2027, 2, 26)
    assert date_operand("2027-05-01", TODAY) == dt.date(2027, 5, 1)
    assert date_operand("tomorrow", TODAY) is None


def test_property_paths_reach_into_objects_and_lists() -> None:
    values = {"cart": {"items": [{"sku": "A"}, {"sku": "B"}], "total": 12}}

    assert value_at(values, "cart.total") == 12
    assert value_at(values, "cart.items.1.sku") == "B"
    assert value_at(values, "cart.items.2.sku") is None
    assert value_at(values, "cart.total.x") is None
    assert value_at(values, "missing") is None


def test_property_filters_must_all_hold() -> None:
    where = {
        "amount": Comparison.model_validate({"gte": 50}),
        "shop.country": Comparison.model_validate({"in": ["DE", "AT"]}),
    }

    assert matches_where({"amount": 60, "shop": {"country": "de"}}, where, TODAY)
    assert not matches_where({"amount": 40, "shop": {"country": "DE"}}, where, TODAY)
    assert not matches_where({"amount": 60}, where, TODAY)
    assert matches_where({}, {}, None)


# --- properties ---------------------------------------------------------------------------

dates = st.dates(dt.date(1900, 1, 1), dt.date(2100, 12, 31))
numbers = st.one_of(st.integers(-1000, 1000), st.floats(-1e3, 1e3, allow_nan=False))


@given(numbers, numbers, numbers)
def test_between_is_gte_low_and_lte_high(value: float, a: float, b: float) -> None:
    low, high = min(a, b), max(a, b)

    assert check(value, between=[low, high]) is (check(value, gte=low) and check(value, lte=high))


@given(dates, dates, st.integers(-400, 400))
def test_date_operators_agree_with_date_arithmetic(
    value: dt.date, today: dt.date, shift: int
) -> None:
    limit = today + dt.timedelta(days=shift)
    relative = f"today{shift:+d}"
    text = value.isoformat()

    assert check(text, today, before=relative) is (value < limit)
    assert check(text, today, after=relative) is (value > limit)
    assert check(text, today, before=limit.isoformat()) is (value < limit)
    if shift >= 0:
        assert check(text, today, within_last_days=shift) is (
            today - dt.timedelta(days=shift) <= value <= today
        )


@given(dates, st.integers(1901, 2099))
def test_an_anniversary_falls_on_exactly_one_day_a_year(birthday: dt.date, year: int) -> None:
    """Scanning every day of a year with ``anniversary_in_days: 0`` finds one match: the
    same month and day, or Feb 28 for a Feb 29 date in a common year."""
    text = birthday.isoformat()
    first = dt.date(year, 1, 1)
    days = (dt.date(year + 1, 1, 1) - first).days
    found = [
        first + dt.timedelta(days=i)
        for i in range(days)
        if check(text, first + dt.timedelta(days=i), anniversary_in_days=0)
    ]

    assert len(found) == 1
    (day,) = found
    if (birthday.month, birthday.day) == (2, 29) and day.month == 2 and day.day == 28:
        assert not (year % 4 == 0 and (year % 100 != 0 or year % 400 == 0))
    else:
        assert (day.month, day.day) == (birthday.month, birthday.day)


@given(dates, dates, st.integers(-366, 366))
def test_anniversary_in_n_days_is_the_anniversary_of_today_plus_n(
    birthday: dt.date, today: dt.date, days: int
) -> None:
    target = today + dt.timedelta(days=days)

    assert check(birthday.isoformat(), today, anniversary_in_days=days) is (
        check(birthday.isoformat(), target, anniversary_in_days=0)
    )
