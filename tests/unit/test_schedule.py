"""Schedule arithmetic: local times across DST changes, calendar months, anniversaries and
weekly windows, as properties (hypothesis) and as the cases users hit."""

from __future__ import annotations

import calendar
import datetime as dt
from functools import cache
from zoneinfo import ZoneInfo

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from journeyman.schedule import (
    Window,
    add_months,
    anniversary,
    at_local,
    describe_days,
    inside,
    local_today,
    next_allowed,
    next_anniversary,
    resolve,
    shift,
    zone,
    zone_or,
)

UTC = dt.UTC
BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
# Berlin and New York as the issue asks; Lord Howe moves by 30 minutes; Kolkata and UTC never.
ZONES = ("Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "Asia/Kolkata", "UTC")
SECOND = dt.timedelta(seconds=1)
MICROSECOND = dt.timedelta(microseconds=1)


@cache
def transitions(name: str) -> tuple[dt.datetime, ...]:
    """The instants (UTC) a zone changed its offset, 2020-2052: the drawn instants reach 2046
    (within a day and a half of a change up to 2045), and shifts of up to 60 months and
    400 days from there land before 2052."""
    tz = ZoneInfo(name)
    found = []
    day = dt.datetime(2020, 1, 1, tzinfo=UTC)
    while day.year < 2052:
        after = day + dt.timedelta(days=1)
        if day.astimezone(tz).utcoffset() != after.astimezone(tz).utcoffset():
            low, high = day, after
            while high - low > SECOND:
                middle = low + (high - low) / 2
                same = middle.astimezone(tz).utcoffset() == low.astimezone(tz).utcoffset()
                low, high = (middle, high) if same else (low, middle)
            found.append(high.replace(microsecond=0))
        day = after
    return tuple(found)


def local(instant: dt.datetime, tz: dt.tzinfo) -> dt.datetime:
    return instant.astimezone(tz).replace(tzinfo=None)


zones = st.sampled_from(ZONES).map(ZoneInfo)


@st.composite
def zoned_walls(draw: st.DrawFn) -> tuple[ZoneInfo, dt.datetime]:
    """A zone and a local time in it, half of them within three hours of a DST change."""
    tz = draw(zones)
    changes = transitions(tz.key)
    if bool(changes) and draw(st.booleans()):
        change = draw(st.sampled_from(changes))
        offset = draw(st.integers(-180 * 60, 180 * 60))
        return tz, local(change, tz) + dt.timedelta(seconds=offset)
    return tz, draw(st.datetimes(dt.datetime(2020, 1, 1), dt.datetime(2035, 12, 31)))


@st.composite
def zoned_instants(draw: st.DrawFn) -> tuple[ZoneInfo, dt.datetime]:
    """A zone and an instant, half of them within a day of one of its DST changes."""
    tz = draw(zones)
    changes = transitions(tz.key)
    if bool(changes) and draw(st.booleans()):
        change = draw(st.sampled_from(changes))
        return tz, change + dt.timedelta(minutes=draw(st.integers(-36 * 60, 36 * 60)))
    return tz, draw(
        st.datetimes(dt.datetime(2020, 1, 1), dt.datetime(2035, 12, 31), timezones=st.just(UTC))
    )


# --- resolving local times ----------------------------------------------------------------


def test_the_property_tests_see_dst_changes_in_berlin_and_new_york() -> None:
    assert (
        len(transitions("Europe/Berlin")) == len(transitions("America/New_York")) == 64
    )  # two a year, 2020-2051
    assert transitions("Asia/Kolkata") == transitions("UTC") == ()
    assert dt.datetime(2027, 3, 28, 1, 0, tzinfo=UTC) in transitions("Europe/Berlin")


@given(zoned_walls())
def test_a_local_time_resolves_to_the_earliest_instant_showing_it_or_the_end_of_its_gap(
    case: tuple[ZoneInfo, dt.datetime],
) -> None:
    tz, wall = case
    result = resolve(wall, tz)
    # Python's own reading: fold 0 and fold 1, kept when they show the wall time again.
    readings = {
        wall.replace(tzinfo=tz, fold=fold).astimezone(UTC) for fold in (0, 1)
    }  # fmt: skip
    real = sorted(r for r in readings if local(r, tz) == wall)

    assert result.tzinfo is UTC
    assert local(result, tz) >= wall > local(result - MICROSECOND, tz)
    if real:  # exists, perhaps twice (clocks fell back): the first
        assert result == real[0]
    else:  # skipped (clocks sprang forward): the instant of the jump
        assert result in transitions(tz.key)
        after, before = (t.astimezone(tz).utcoffset() for t in (result, result - SECOND))
        assert after is not None and before is not None and after > before


@pytest.mark.parametrize(
    ("tz", "wall", "expected"),
    [
        (BERLIN, "2027-03-28T01:59", "2027-03-28T01:59:00+01:00"),
        (BERLIN, "2027-03-28T02:00", "2027-03-28T03:00:00+02:00"),  # skipped
        (BERLIN, "2027-03-28T02:30", "2027-03-28T03:00:00+02:00"),  # skipped
        (BERLIN, "2027-03-28T03:00", "2027-03-28T03:00:00+02:00"),
        (BERLIN, "2027-10-31T02:30", "2027-10-31T02:30:00+02:00"),  # twice: the first
        (BERLIN, "2027-10-31T03:00", "2027-10-31T03:00:00+01:00"),
        (NEW_YORK, "2027-03-14T02:15", "2027-03-14T03:00:00-04:00"),  # skipped
        (NEW_YORK, "2027-11-07T01:30", "2027-11-07T01:30:00-04:00"),  # twice: the first
        (NEW_YORK, "2027-11-07T02:00", "2027-11-07T02:00:00-05:00"),
    ],
)
def test_known_dst_edges(tz: ZoneInfo, wall: str, expected: str) -> None:
    result = resolve(dt.datetime.fromisoformat(wall), tz)

    assert result == dt.datetime.fromisoformat(expected)
    assert result.astimezone(tz).isoformat() == expected


def test_at_local_is_a_time_of_day_on_a_local_date() -> None:
    assert at_local(dt.date(2027, 3, 28), dt.time(9), BERLIN) == dt.datetime(
        2027, 3, 28, 7, 0, tzinfo=UTC
    )


# --- days, weeks and months move the wall clock --------------------------------------------


@settings(max_examples=300)
@given(zoned_instants(), st.integers(0, 60), st.integers(0, 400))
def test_days_and_months_keep_the_local_time_of_day(
    case: tuple[ZoneInfo, dt.datetime], months: int, days: int
) -> None:
    assume(months or days)  # nothing to move: the same instant (the next test)
    tz, start = case
    result = shift(start, tz, months=months, days=days)
    wanted = add_months(local(start, tz), months) + dt.timedelta(days=days)

    assert result == resolve(wanted, tz)
    assert local(result, tz).date() == wanted.date()
    if local(result, tz) != wanted:  # the wall time was skipped that day
        assert result in transitions(tz.key)
    elapsed = result - start
    nominal = local(result, tz) - local(start, tz)
    assert abs(elapsed - nominal) <= dt.timedelta(hours=1)  # one DST change's worth at most


@given(zoned_instants())
def test_no_calendar_part_is_the_same_instant(case: tuple[ZoneInfo, dt.datetime]) -> None:
    tz, start = case
    assert shift(start, tz) == start


@pytest.mark.parametrize(
    ("tz", "start", "days", "wake", "hours"),
    [
        (BERLIN, "2027-03-27T09:00+01:00", 1, "2027-03-28T09:00:00+02:00", 23),
        (BERLIN, "2027-10-30T09:00+02:00", 1, "2027-10-31T09:00:00+01:00", 25),
        (BERLIN, "2027-03-22T09:00+01:00", 7, "2027-03-29T09:00:00+02:00", 167),
        (NEW_YORK, "2027-03-13T09:00-05:00", 1, "2027-03-14T09:00:00-04:00", 23),
        (NEW_YORK, "2027-11-06T09:00-04:00", 1, "2027-11-07T09:00:00-05:00", 25),
        (BERLIN, "2027-03-27T02:30+01:00", 1, "2027-03-28T03:00:00+02:00", 23.5),  # skipped
    ],
)
def test_nine_local_stays_nine_local_across_a_dst_change(
    tz: ZoneInfo, start: str, days: int, wake: str, hours: float
) -> None:
    began = dt.datetime.fromisoformat(start)

    result = shift(began, tz, days=days)

    assert result.astimezone(tz).isoformat() == wake
    assert result - began == dt.timedelta(hours=hours)


def test_a_month_from_the_31st_in_new_york_is_the_end_of_the_next_month() -> None:
    start = dt.datetime(2027, 3, 31, 9, 0, tzinfo=NEW_YORK)
    assert shift(start, NEW_YORK, months=1).astimezone(NEW_YORK).isoformat() == (
        "2027-04-30T09:00:00-04:00"
    )


@given(st.dates(dt.date(1900, 1, 1), dt.date(2200, 12, 31)), st.integers(0, 60))
def test_months_on_dates_clamp_to_the_month_end(day: dt.date, months: int) -> None:
    result = add_months(day, months)
    last = calendar.monthrange(result.year, result.month)[1]

    assert (result.year - day.year) * 12 + result.month - day.month == months
    assert result.day == min(day.day, last)


@pytest.mark.parametrize(
    ("start", "months", "expected"),
    [
        ("2028-02-29", 12, "2029-02-28"),
        ("2028-02-29", 48, "2032-02-29"),
        ("2027-01-29", 1, "2027-02-28"),
        ("2028-01-30", 1, "2028-02-29"),
        ("2100-01-31", 1, "2100-02-28"),  # not a leap year
        ("2000-01-31", 1, "2000-02-29"),  # a leap year
    ],
)
def test_leap_years(start: str, months: int, expected: str) -> None:
    assert add_months(dt.date.fromisoformat(start), months) == dt.date.fromisoformat(expected)


# --- anniversaries -------------------------------------------------------------------------


@given(st.integers(1904, 2400))
def test_february_29_falls_on_february_28_in_common_years(year: int) -> None:
    expected = dt.date(year, 2, 29 if calendar.isleap(year) else 28)
    assert anniversary(dt.date(2000, 2, 29), year) == expected


@given(
    st.dates(dt.date(1900, 1, 1), dt.date(2100, 12, 31)),
    st.dates(dt.date(2000, 1, 1), dt.date(2100, 12, 31)),
    st.integers(-366, 366),
)
def test_the_next_anniversary_is_the_first_on_or_after_the_day(
    original: dt.date, today: dt.date, days: int
) -> None:
    result = next_anniversary(original, today, days=days)
    date = result - dt.timedelta(days=days)

    assert result >= today
    assert date == anniversary(original, date.year)
    assert anniversary(original, date.year - 1) + dt.timedelta(days=days) < today


@pytest.mark.parametrize(
    ("today", "days", "expected"),
    [
        ("2027-01-04", -3, "2027-02-25"),  # Feb 28 this year, three days before
        ("2027-02-25", -3, "2027-02-25"),  # today
        ("2027-02-26", -3, "2028-02-26"),  # passed: next year's, Feb 29 - 3
        ("2027-02-28", 0, "2027-02-28"),
        ("2027-03-01", 0, "2028-02-29"),
        ("2028-02-29", 1, "2028-03-01"),
    ],
)
def test_a_february_29_birthday(today: str, days: int, expected: str) -> None:
    result = next_anniversary(dt.date(1996, 2, 29), dt.date.fromisoformat(today), days=days)
    assert result == dt.date.fromisoformat(expected)


def test_an_anniversary_moves_by_at_most_366_days() -> None:
    with pytest.raises(ValueError, match="366"):
        next_anniversary(dt.date(2000, 1, 1), dt.date(2027, 1, 1), days=400)


# --- weekly windows ------------------------------------------------------------------------

# Window edges on the quarter hour and outside 01:00-04:00, where no zone here changes its
# clocks, so that "inside" can be read off the local wall clock alone.
quarter_hours = st.sampled_from(
    [dt.time(h, m) for h in (0, *range(4, 24)) for m in (0, 15, 30, 45)]
)
day_sets = st.frozensets(st.integers(0, 6), min_size=1)
QUARTER = dt.timedelta(minutes=15)


def allowed_by_the_wall_clock(instant: dt.datetime, tz: dt.tzinfo, window: Window) -> bool:
    here = instant.astimezone(tz)
    time, day, yesterday = here.time(), here.weekday(), (here.weekday() - 1) % 7
    if window.end > window.start:
        return day in window.days and window.start <= time < window.end
    return (day in window.days and time >= window.start) or (
        yesterday in window.days and time < window.end
    )


@settings(max_examples=200)
@given(zoned_instants(), quarter_hours, quarter_hours, day_sets)
def test_the_next_allowed_time_is_the_first_instant_the_wall_clock_allows(
    case: tuple[ZoneInfo, dt.datetime], start: dt.time, end: dt.time, days: frozenset[int]
) -> None:
    tz, now = case
    window = Window(start=start, end=end, days=days)

    result = next_allowed(now, tz, window)

    assert result >= now
    assert allowed_by_the_wall_clock(result, tz, window)
    assert inside(now, tz, window) == allowed_by_the_wall_clock(now, tz, window)
    assert (result == now) == allowed_by_the_wall_clock(now, tz, window)
    # Nothing allowed in between: edges are on the quarter hour, so a quarter-hour grid
    # of instants sees every opening.
    probe = now.replace(second=0, microsecond=0) + QUARTER - dt.timedelta(minutes=now.minute % 15)
    while probe < result:
        assert not allowed_by_the_wall_clock(probe, tz, window), probe
        probe += QUARTER


@given(zoned_instants(), st.times(), st.times(), day_sets)
def test_the_next_allowed_time_is_now_or_an_opening_around_dst_changes(
    case: tuple[ZoneInfo, dt.datetime], start: dt.time, end: dt.time, days: frozenset[int]
) -> None:
    tz, now = case
    window = Window(start=start, end=end, days=days)

    result = next_allowed(now, tz, window)

    assert result >= now
    assert next_allowed(result, tz, window) == result
    assert result == now or result in {opens for opens, _ in window.openings(now, tz)}
    assert result - now < dt.timedelta(days=7, hours=2)


WEEKDAYS_9_TO_6 = Window(start=dt.time(9), end=dt.time(18), days=frozenset(range(5)))


@pytest.mark.parametrize(
    ("tz", "now", "expected"),
    [
        (BERLIN, "2027-01-04T10:00+01:00", "2027-01-04T10:00:00+01:00"),  # Monday, inside
        (BERLIN, "2027-01-04T08:59+01:00", "2027-01-04T09:00:00+01:00"),
        (BERLIN, "2027-01-04T18:00+01:00", "2027-01-05T09:00:00+01:00"),  # "to" is excluded
        (BERLIN, "2027-01-08T17:59+01:00", "2027-01-08T17:59:00+01:00"),  # Friday
        (BERLIN, "2027-01-08T18:00+01:00", "2027-01-11T09:00:00+01:00"),  # to Monday
        (BERLIN, "2027-03-27T12:00+01:00", "2027-03-29T09:00:00+02:00"),  # over the change
        (NEW_YORK, "2027-01-04T04:00-05:00", "2027-01-04T09:00:00-05:00"),
        (NEW_YORK, "2027-11-06T20:00-04:00", "2027-11-08T09:00:00-05:00"),
    ],
)
def test_weekdays_from_9_to_6(tz: ZoneInfo, now: str, expected: str) -> None:
    result = next_allowed(dt.datetime.fromisoformat(now), tz, WEEKDAYS_9_TO_6)
    assert result.astimezone(tz).isoformat() == expected


def test_a_window_across_midnight_belongs_to_the_day_it_opens() -> None:
    friday_night = Window(start=dt.time(22), end=dt.time(2), days=frozenset({4}))
    saturday_1am = dt.datetime(2027, 1, 9, 1, 0, tzinfo=BERLIN)
    saturday_3am = dt.datetime(2027, 1, 9, 3, 0, tzinfo=BERLIN)

    assert inside(saturday_1am, BERLIN, friday_night)
    assert next_allowed(saturday_3am, BERLIN, friday_night) == dt.datetime(
        2027, 1, 15, 22, 0, tzinfo=BERLIN
    )


def test_a_window_that_opens_in_a_skipped_hour_opens_when_the_clocks_jump() -> None:
    early = Window(start=dt.time(2, 30), end=dt.time(5))
    before = dt.datetime(2027, 3, 28, 0, 0, tzinfo=BERLIN)

    opened = next_allowed(before, BERLIN, early)

    assert opened.astimezone(BERLIN).isoformat() == "2027-03-28T03:00:00+02:00"


def test_equal_start_and_end_is_the_whole_day() -> None:
    sundays = Window(start=dt.time(0), end=dt.time(0), days=frozenset({6}))
    sunday_noon = dt.datetime(2027, 1, 10, 12, 0, tzinfo=UTC)

    assert inside(sunday_noon, UTC, sundays)
    assert inside(dt.datetime(2027, 1, 10, 23, 59, tzinfo=UTC), UTC, sundays)
    assert not inside(dt.datetime(2027, 1, 11, 0, 0, tzinfo=UTC), UTC, sundays)


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        ("2027-01-04T22:00+01:00", "2027-01-05T08:00:00+01:00"),
        ("2027-01-05T07:59+01:00", "2027-01-05T08:00:00+01:00"),
        ("2027-01-05T08:00+01:00", "2027-01-05T08:00:00+01:00"),
        ("2027-01-05T20:59+01:00", "2027-01-05T20:59:00+01:00"),
        ("2027-01-05T21:00+01:00", "2027-01-06T08:00:00+01:00"),
    ],
)
def test_quiet_hours_from_9_pm_to_8_am(now: str, expected: str) -> None:
    quiet = Window.quiet_hours(dt.time(21), dt.time(8))

    result = next_allowed(dt.datetime.fromisoformat(now), BERLIN, quiet)

    assert result.astimezone(BERLIN).isoformat() == expected


def test_windows_refuse_what_cannot_be_kept() -> None:
    with pytest.raises(ValueError, match="at least one day"):
        Window(start=dt.time(9), end=dt.time(18), days=frozenset())
    with pytest.raises(ValueError, match="at least one day"):
        Window(start=dt.time(9), end=dt.time(18), days=frozenset({7}))
    with pytest.raises(ValueError, match="local times"):
        Window(start=dt.time(9, tzinfo=UTC), end=dt.time(18))
    with pytest.raises(ValueError, match="different"):
        Window.quiet_hours(dt.time(9), dt.time(9))


@pytest.mark.parametrize(
    ("days", "text"),
    [
        (range(7), "every day"),
        (range(5), "Mon-Fri"),
        ({5, 6}, "Sat, Sun"),
        ({0, 2, 4}, "Mon, Wed, Fri"),
        ({1, 2, 3}, "Tue-Thu"),
    ],
)
def test_days_read_like_a_shop_sign(days: set[int], text: str) -> None:
    assert describe_days(days) == text


# --- zones ---------------------------------------------------------------------------------


def test_zones_by_name_and_the_default_for_unknown_ones() -> None:
    assert zone("Europe/Berlin") is zone("Europe/Berlin")
    assert zone_or(None, "America/New_York").key == "America/New_York"
    assert zone_or("Mars/Olympus_Mons", "Europe/Berlin").key == "Europe/Berlin"
    assert zone_or("Mars/Olympus_Mons").key == zone_or(None, "Mars/Base").key == "UTC"
    with pytest.raises(ValueError, match="not an IANA time zone name"):
        zone("Mars/Olympus_Mons")


def test_the_local_date_is_the_contacts_else_the_default_zone_s() -> None:
    late_evening_utc = dt.datetime(2027, 3, 9, 23, 30, tzinfo=dt.UTC)

    assert local_today(late_evening_utc, "Europe/Berlin") == dt.date(2027, 3, 10)
    assert local_today(late_evening_utc, "America/New_York") == dt.date(2027, 3, 9)
    assert local_today(late_evening_utc, None, "Asia/Tokyo") == dt.date(2027, 3, 10)
    assert local_today(late_evening_utc, "Mars/Olympus", "Asia/Tokyo") == dt.date(2027, 3, 10)
    assert local_today(late_evening_utc, "Mars/Olympus", "UTC") == dt.date(2027, 3, 9)
