"""Time arithmetic in a time zone: calendar months, local times across DST changes,
anniversaries and weekly windows. Pure: no clock, no I/O; instants in and out are aware UTC.

The rules, the same everywhere in Journeyman:

- Days, weeks and months move the local wall clock: a run that waits one day from 9:00 wakes
  at 9:00 the next day, even when the clocks change in between (then 23 or 25 hours pass).
  Hours and minutes are elapsed time.
- Months are calendar months, clamped to the month's end: Jan 31 + 1 month = Feb 28 (29).
- A local time that does not exist (the hour skipped when clocks spring forward) means the
  first instant after the gap: 02:30 on the day Berlin springs forward is 03:00 CEST.
- A local time that happens twice (the hour repeated when clocks fall back) means the first.
- The anniversary of Feb 29 is Feb 28 in common years.
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

UTC = dt.UTC
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
ALL_DAYS = frozenset(range(7))
_ONE_MICROSECOND = dt.timedelta(microseconds=1)

_When = TypeVar("_When", dt.date, dt.datetime)


@lru_cache(maxsize=1024)
def zone(name: str) -> ZoneInfo:
    """The IANA time zone ``name``; ValueError names it when it does not exist."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"{name!r} is not an IANA time zone name") from None


@lru_cache(maxsize=1024)  # called for every run whose facts the engine loads
def zone_or(name: str | None, default: str | None = None) -> ZoneInfo:
    """The zone a contact's local times and dates are taken in, everywhere (steps, conditions,
    date entry points): its own ``name``, else ``default`` (JOURNEYMAN_DEFAULT_TIMEZONE), else
    UTC. A stored name this system does not know counts as none: names are checked when
    contacts are written, but the tz database may differ here."""
    for candidate in (name, default):
        if candidate:
            try:
                return zone(candidate)
            except ValueError:
                pass
    return zone("UTC")


def local_today(now: dt.datetime, name: str | None, default: str | None = None) -> dt.date:
    """The date at ``now`` in the zone :func:`zone_or` picks."""
    return local_date(now, zone_or(name, default))


def add_months(when: _When, months: int) -> _When:
    """Same day ``months`` later, clamped to the month's end; the time of day is kept."""
    if months == 0:
        return when
    index = when.month - 1 + months
    year, month = when.year + index // 12, index % 12 + 1
    day = min(when.day, calendar.monthrange(year, month)[1])
    return when.replace(year=year, month=month, day=day)


def resolve(wall: dt.datetime, tz: dt.tzinfo) -> dt.datetime:
    """The instant (UTC) of the local time ``wall`` (naive) in ``tz``: the earliest instant
    whose local time is ``wall``, or the end of the gap ``wall`` falls into."""
    first = wall.replace(tzinfo=tz, fold=0).astimezone(UTC)
    if first.astimezone(tz).replace(tzinfo=None, fold=0) == wall:
        return first
    return _end_of_gap(wall, tz)


def _end_of_gap(wall: dt.datetime, tz: dt.tzinfo) -> dt.datetime:
    """The instant clocks jumped over ``wall``: the earliest whose local time is later."""
    a = wall.replace(tzinfo=tz, fold=0).astimezone(UTC)
    b = wall.replace(tzinfo=tz, fold=1).astimezone(UTC)
    low, high = min(a, b), max(a, b)  # local(low) < wall <= local(high)
    while high - low > _ONE_MICROSECOND:
        middle = low + (high - low) / 2
        if middle.astimezone(tz).replace(tzinfo=None) >= wall:
            high = middle
        else:
            low = middle
    return high


def at_local(day: dt.date, time: dt.time, tz: dt.tzinfo) -> dt.datetime:
    """The instant (UTC) of ``time`` on ``day`` in ``tz``."""
    return resolve(dt.datetime.combine(day, time), tz)


def local_date(instant: dt.datetime, tz: dt.tzinfo) -> dt.date:
    return instant.astimezone(tz).date()


def shift(instant: dt.datetime, tz: dt.tzinfo, *, months: int = 0, days: int = 0) -> dt.datetime:
    """``instant`` moved by calendar months, then days, on the wall clock of ``tz`` (UTC)."""
    if not months and not days:
        return instant.astimezone(UTC)
    wall = instant.astimezone(tz).replace(tzinfo=None)
    return resolve(add_months(wall, months) + dt.timedelta(days=days), tz)


def anniversary(original: dt.date, year: int) -> dt.date:
    """``original``'s day and month in ``year``; Feb 29 is Feb 28 in common years."""
    if original.month == 2 and original.day == 29 and not calendar.isleap(year):
        return dt.date(year, 2, 28)
    return original.replace(year=year)


def next_anniversary(original: dt.date, on_or_after: dt.date, *, days: int = 0) -> dt.date:
    """The first date on or after ``on_or_after`` that is an anniversary of ``original``
    moved by ``days`` (-3: three days before)."""
    if abs(days) > 366:
        raise ValueError("an anniversary moves by at most 366 days")
    year = on_or_after.year - 2
    while (found := anniversary(original, year) + dt.timedelta(days=days)) < on_or_after:
        year += 1
    return found


@dataclass(frozen=True)
class Window:
    """Allowed local times: on ``days`` (0 = Monday) from ``start`` until ``end``.

    ``end`` before ``start`` runs across midnight into the next day (``days`` names the day
    the window opens); ``end`` equal to ``start`` is the whole day.
    """

    start: dt.time
    end: dt.time
    days: frozenset[int] = ALL_DAYS

    def __post_init__(self) -> None:
        if not self.days or not self.days <= ALL_DAYS:
            raise ValueError("a window needs at least one day of the week (0 = Monday .. 6)")
        if self.start.tzinfo is not None or self.end.tzinfo is not None:
            raise ValueError("window times are local times, without a UTC offset")

    @classmethod
    def quiet_hours(cls, start: dt.time, end: dt.time) -> Window:
        """The window that every day leaves out ``start`` .. ``end`` (21:00 .. 08:00)."""
        if start == end:
            raise ValueError("quiet hours need different start and end times")
        return cls(start=end, end=start)

    def openings(
        self, around: dt.datetime, tz: dt.tzinfo
    ) -> Iterable[tuple[dt.datetime, dt.datetime]]:
        """(open, close) instants (UTC) in order, from the window that opened on the local
        day before ``around`` on; eight days cover every week."""
        first = local_date(around, tz) - dt.timedelta(days=1)
        for offset in range(9):
            day = first + dt.timedelta(days=offset)
            if day.weekday() not in self.days:
                continue
            closing_day = day if self.end > self.start else day + dt.timedelta(days=1)
            yield at_local(day, self.start, tz), at_local(closing_day, self.end, tz)

    def describe(self) -> str:
        return f"{describe_days(self.days)} {self.start:%H:%M}-{self.end:%H:%M}"


def next_allowed(now: dt.datetime, tz: dt.tzinfo, window: Window) -> dt.datetime:
    """``now`` (UTC) when it is inside ``window`` in ``tz``, else the window's next opening."""
    for opens, closes in window.openings(now, tz):
        if now < opens:
            return opens
        if now < closes:
            return now.astimezone(UTC)
    raise AssertionError("a window with at least one day opens within eight days")


def inside(now: dt.datetime, tz: dt.tzinfo, window: Window) -> bool:
    return next_allowed(now, tz, window) == now


def describe_days(days: Iterable[int]) -> str:
    """ "Mon-Fri", "Mon, Wed, Sat", "Sat, Sun", "every day"."""
    wanted = sorted(set(days))
    if len(wanted) == 7:
        return "every day"
    spans: list[list[int]] = []
    for day in wanted:
        if spans and spans[-1][-1] == day - 1:
            spans[-1].append(day)
        else:
            spans.append([day])
    names = [WEEKDAYS[d].title() for d in wanted]
    if len(spans) == 1 and len(spans[0]) > 2:
        return f"{names[0]}-{names[-1]}"
    return ", ".join(names)


def plural(count: int, unit: str) -> str:
    return f"{count} {unit}" if count == 1 else f"{count} {unit}s"
