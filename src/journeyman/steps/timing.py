"""Timing rules: delay, wait until a date or a date attribute, wait for a weekly window; and
the quiet hours message steps keep. The time arithmetic is in ``journeyman.schedule``.

Every rule works in the contact's time zone (its ``TIMEZONE``, else the default time zone),
so "9:00" is 9:00 where the contact lives, before and after a DST change. A step that has
nothing to wait for goes on at once (result ``no_wait``) and says why.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from typing import Annotated, Any, ClassVar, Literal, NamedTuple, get_args

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator, model_validator

from journeyman import schedule
from journeyman.conditions.rules import Needs
from journeyman.model.contacts import AttributeType
from journeyman.model.runs import Outcome
from journeyman.schedule import Window, add_months, plural
from journeyman.steps.base import StepEnv, StepItem, StepKind, contact_zone

MAX_MONTHS = 60
WAITING = "waiting"
NO_WAIT = "no_wait"  # nothing to wait for: the run goes on at once
DEFERRED = "deferred"  # a message held back by quiet hours

_CLOCK = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)(?::([0-5]\d))?$")
_DAY_NAMES = {
    **{name: name for name in schedule.WEEKDAYS},
    **{
        full: full[:3]
        for full in ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
    },
}


def _time_of_day(value: Any) -> Any:
    """ "09:00" or "9:00:30"; a number is refused (YAML reads 9:00 unquoted as 540)."""
    if isinstance(value, dt.time):
        return value
    if isinstance(value, str) and (found := _CLOCK.match(value.strip())):
        hour, minute, second = found.groups()
        return dt.time(int(hour), int(minute), int(second or 0))
    raise ValueError(
        f'expected a local time of day as "HH:MM", got {value!r}'
        + (
            " (in YAML, quote it: 9:00 unquoted reads as a number)"
            if isinstance(value, int)
            else ""
        )
    )


LocalTime = Annotated[dt.time, BeforeValidator(_time_of_day)]
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
EVERY_DAY: tuple[Weekday, ...] = get_args(Weekday)


# --- delay --------------------------------------------------------------------------------


class DelayParams(BaseModel):
    """A delay of at least one minute and at most 60 months. Months, weeks and days move the
    contact's wall clock (calendar months; 9:00 stays 9:00 across DST changes); hours and
    minutes are elapsed time."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    minutes: int = Field(default=0, ge=0)
    hours: int = Field(default=0, ge=0)
    days: int = Field(default=0, ge=0)
    weeks: int = Field(default=0, ge=0)
    months: int = Field(default=0, ge=0, le=MAX_MONTHS)

    @model_validator(mode="after")
    def _within_bounds(self) -> DelayParams:
        if self.months == 0 and self.fixed_part() < dt.timedelta(minutes=1):
            raise ValueError("a delay is at least 1 minute")
        start = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
        if self.add_to(start) > add_months(start, MAX_MONTHS):
            raise ValueError("a delay is at most 60 months")
        return self

    def fixed_part(self) -> dt.timedelta:
        return dt.timedelta(
            minutes=self.minutes, hours=self.hours, days=self.days, weeks=self.weeks
        )

    def moves_wall_clock(self) -> bool:
        return bool(self.months or self.weeks or self.days)

    def add_to(self, when: dt.datetime) -> dt.datetime:
        """``when`` plus the delay on ``when``'s own wall clock (UTC: plain arithmetic)."""
        return add_months(when, self.months) + self.fixed_part()

    def wake_from(self, now: dt.datetime, tz: dt.tzinfo) -> dt.datetime:
        """The end of the delay from ``now`` for a contact in ``tz`` (UTC)."""
        moved = schedule.shift(now, tz, months=self.months, days=self.days + 7 * self.weeks)
        return moved + dt.timedelta(hours=self.hours, minutes=self.minutes)

    def describe(self) -> str:
        parts = [
            f"{value} {unit}"
            for unit, value in (
                ("months", self.months),
                ("weeks", self.weeks),
                ("days", self.days),
                ("hours", self.hours),
                ("minutes", self.minutes),
            )
            if value
        ]
        return " ".join(parts)


class Delay(StepKind):
    kind = "delay"
    params: ClassVar[type[DelayParams]] = DelayParams

    def needs(self, params: DelayParams) -> Needs:
        return Needs(contact=params.moves_wall_clock())  # the contact's time zone

    def run(self, params: DelayParams, items: Sequence[StepItem], env: StepEnv) -> list[Outcome]:
        wakes: dict[dt.tzinfo, tuple[dt.datetime, str]] = {}
        outcomes = []
        for item in items:
            tz = contact_zone(item, env)
            if tz not in wakes:
                wake = params.wake_from(env.now, tz)
                reason = f"wait {params.describe()} until {wake.astimezone(tz).isoformat()}"
                wakes[tz] = wake, reason
            wake, reason = wakes[tz]
            outcomes.append(
                Outcome(run_id=item.run.run_id, result=WAITING, wait_until=wake, reason=reason)
            )
        return outcomes


# --- wait until a date or a date attribute -----------------------------------------------


class WaitUntilParams(BaseModel):
    """Wait until a fixed ``date``, or until the date in ``attribute`` moved by ``days``.

    ``date`` is ISO 8601 (``2027-03-01T09:00``, ``2027-03-01``): the contact's local time
    unless it carries an offset (``+01:00``, ``Z``). ``at`` is the local time of day for a
    date without one (default 00:00). ``yearly`` waits for the attribute's next anniversary
    (birthdays; Feb 29 is Feb 28 in common years); without it a date that has passed, or an
    unset attribute, lets the run go on at once, with the reason in the run log.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    date: str | None = Field(default=None, description="ISO 8601 date, or date and time")
    attribute: str | None = Field(default=None, min_length=1, description="a date attribute")
    days: int = Field(
        default=0, ge=-366, le=366, description="days after the attribute's date (-3: before)"
    )
    at: LocalTime | None = Field(default=None, description='local time of day, "09:00"')
    yearly: bool = Field(default=False, description="the attribute's next anniversary")

    @field_validator("date", mode="before")
    @classmethod
    def _iso_text(cls, value: Any) -> Any:
        return value.isoformat() if isinstance(value, dt.date) else value  # YAML dates

    @field_validator("attribute")
    @classmethod
    def _upper(cls, value: str | None) -> str | None:
        return value.strip().upper() if value is not None else None

    @model_validator(mode="after")
    def _one_target(self) -> WaitUntilParams:
        if (self.date is None) == (self.attribute is None):
            raise ValueError("give either date or attribute")
        if self.date is not None:
            if self.days or self.yearly:
                raise ValueError("days and yearly go with attribute, not with date")
            if self.at is not None and _has_time(self.date):
                raise ValueError("give the time of day in date or in at, not in both")
        return self

    def fixed(self) -> dt.datetime:
        """The fixed date as a datetime: aware when the document gave an offset."""
        assert self.date is not None
        return _parse_date(self.date, self.at)

    def describe_offset(self) -> str:
        if self.days == 0:
            return f"on {self.attribute}"
        side = "before" if self.days < 0 else "after"
        return f"{plural(abs(self.days), 'day')} {side} {self.attribute}"


def _has_time(text: str) -> bool:
    try:
        dt.date.fromisoformat(text)
    except ValueError:
        try:
            dt.datetime.fromisoformat(text)
        except ValueError:
            return False  # not a date at all: check() names it
        return True
    return False


def _parse_date(text: str, at: dt.time | None) -> dt.datetime:
    try:
        return dt.datetime.combine(dt.date.fromisoformat(text), at or dt.time())
    except ValueError:
        pass
    try:
        return dt.datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(
            f"date {text!r} is not an ISO 8601 date or date and time (2027-03-01T09:00)"
        ) from None


class _Target(NamedTuple):
    """Where one run waits until: a moment and what it is, or (no moment) why there is none."""

    moment: dt.datetime | None
    what: str


class WaitUntil(StepKind):
    kind = "wait_until"
    params: ClassVar[type[WaitUntilParams]] = WaitUntilParams

    def needs(self, params: WaitUntilParams) -> Needs:
        local = params.attribute is not None or params.fixed().tzinfo is None
        return Needs(contact=local)

    def references(self, params: WaitUntilParams) -> dict[str, set[str]]:
        return {"attributes": {params.attribute}} if params.attribute else {}

    def reference_field(self, params: WaitUntilParams, kind: str, name: str) -> str:
        return "attribute"

    def check(self, params: WaitUntilParams) -> list[tuple[str, str]]:
        if params.date is not None:
            try:
                params.fixed()
            except ValueError as exc:
                return [("date", str(exc))]
        return []

    def run(
        self, params: WaitUntilParams, items: Sequence[StepItem], env: StepEnv
    ) -> list[Outcome]:
        return [self._one(params, item, env) for item in items]

    def _one(self, params: WaitUntilParams, item: StepItem, env: StepEnv) -> Outcome:
        tz = contact_zone(item, env)
        target = (
            _fixed_target(params, tz)
            if params.attribute is None
            else _attribute_target(params, item, env, tz)
        )
        run_id = item.run.run_id
        if target.moment is None:
            return Outcome(run_id=run_id, result=NO_WAIT, reason=f"go on: {target.what}")
        shown = target.moment.astimezone(tz).isoformat()
        if target.moment <= env.now:
            return Outcome(
                run_id=run_id, result=NO_WAIT, reason=f"go on: {shown} ({target.what}) has passed"
            )
        return Outcome(
            run_id=run_id,
            result=WAITING,
            wait_until=target.moment,
            reason=f"wait until {shown} ({target.what})",
        )


def _fixed_target(params: WaitUntilParams, tz: dt.tzinfo) -> _Target:
    when = params.fixed()
    if when.tzinfo is not None:
        return _Target(when.astimezone(dt.UTC), f"date {params.date}")
    return _Target(schedule.resolve(when, tz), f"date {params.date} in {_name(tz)}")


def _attribute_target(
    params: WaitUntilParams, item: StepItem, env: StepEnv, tz: dt.tzinfo
) -> _Target:
    name = str(params.attribute)
    definition = env.attributes.get(name)
    if definition is not None and definition.type is not AttributeType.DATE:
        return _Target(None, f"{name} is a {definition.type.value} attribute, not a date")
    value = item.contact.attributes.get(name) if item.contact is not None else None
    if value is None or value == "":
        return _Target(None, f"{name} is not set")
    try:
        original = dt.date.fromisoformat(str(value)[:10])
    except ValueError:
        return _Target(None, f"{name} {value!r} is not a date")
    at = params.at or dt.time()
    if not params.yearly:
        day = original + dt.timedelta(days=params.days)
        return _Target(schedule.at_local(day, at, tz), f"{params.describe_offset()} {original}")
    today = schedule.local_date(env.now, tz)
    day = schedule.next_anniversary(original, today, days=params.days)
    date = day - dt.timedelta(days=params.days)
    what = f"{params.describe_offset()} {date}"
    if date.replace(year=original.year) != original:  # Feb 29 in a common year
        what += f", anniversary of {original}"
    return _Target(schedule.at_local(day, at, tz), what)


def _name(tz: dt.tzinfo) -> str:
    return str(getattr(tz, "key", tz))


# --- wait for a weekly window -------------------------------------------------------------


class WaitWindowParams(BaseModel):
    """Go on inside the window, else wait until it next opens: on ``days`` from ``from`` to
    ``to``, local time. ``to`` before ``from`` runs across midnight; equal means all day."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    days: tuple[Weekday, ...] = Field(default=EVERY_DAY, min_length=1)
    start: LocalTime = Field(alias="from")
    end: LocalTime = Field(alias="to")

    @field_validator("days", mode="before")
    @classmethod
    def _day_names(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list | tuple):
            return value
        days = []
        for day in value:
            name = _DAY_NAMES.get(day.strip().lower()) if isinstance(day, str) else None
            if name is None:
                raise ValueError(f"{day!r} is not a day of the week ({', '.join(EVERY_DAY)})")
            days.append(name)
        return tuple(days)

    def window(self) -> Window:
        return Window(
            start=self.start,
            end=self.end,
            days=frozenset(schedule.WEEKDAYS.index(d) for d in self.days),
        )


class WaitWindow(StepKind):
    kind = "wait_window"
    params: ClassVar[type[WaitWindowParams]] = WaitWindowParams

    def needs(self, params: WaitWindowParams) -> Needs:
        return Needs(contact=True)  # the contact's time zone

    def run(
        self, params: WaitWindowParams, items: Sequence[StepItem], env: StepEnv
    ) -> list[Outcome]:
        window = params.window()
        return [
            _in_window(window, item.run.run_id, contact_zone(item, env), env.now) for item in items
        ]


def _in_window(window: Window, run_id: int, tz: dt.tzinfo, now: dt.datetime) -> Outcome:
    opens = schedule.next_allowed(now, tz, window)
    where = f"{window.describe()} in {_name(tz)}"
    if opens <= now:
        return Outcome(run_id=run_id, result=NO_WAIT, reason=f"inside {where}: go on")
    return Outcome(
        run_id=run_id,
        result=WAITING,
        wait_until=opens,
        reason=f"outside {where}: wait until {opens.astimezone(tz).isoformat()}",
    )


# --- quiet hours (workflow-wide, for message steps) ---------------------------------------


class QuietHoursParams(BaseModel):
    """No messages from ``from`` to ``to`` in the contact's local time, every day
    (``{from: "21:00", to: "08:00"}``); a message due inside waits until ``to``."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    start: LocalTime = Field(alias="from")
    end: LocalTime = Field(alias="to")

    @model_validator(mode="after")
    def _not_empty(self) -> QuietHoursParams:
        if self.start == self.end:
            raise ValueError("quiet hours need different from and to times")
        return self

    def window(self) -> Window:
        """The allowed window: every day from ``to`` until ``from``."""
        return Window.quiet_hours(self.start, self.end)


def hold_in_quiet_hours(
    window: Window, items: Sequence[StepItem], env: StepEnv
) -> list[Outcome | None]:
    """Per item: None when the message may go now, else an outcome that keeps the run on
    this step until the window opens (the step then runs again)."""
    held: list[Outcome | None] = []
    for item in items:
        tz = contact_zone(item, env)
        opens = schedule.next_allowed(env.now, tz, window)
        if opens <= env.now:
            held.append(None)
            continue
        shown = opens.astimezone(tz).isoformat()
        held.append(
            Outcome(
                run_id=item.run.run_id,
                result=DEFERRED,
                branch=None,
                park=True,
                wait_until=opens,
                reason=f"quiet hours (send {window.describe()} in {_name(tz)}): wait until {shown}",
            )
        )
    return held


def run_outside_quiet_hours(
    kind: StepKind, params: Any, items: Sequence[StepItem], env: StepEnv, window: Window | None
) -> list[Outcome]:
    """``kind.run`` for the items outside quiet hours; the others wait (one outcome each,
    in order). ``window`` None: no quiet hours."""
    if window is None:
        return kind.run(params, items, env)
    held = hold_in_quiet_hours(window, items, env)
    ready = [item for item, outcome in zip(items, held, strict=True) if outcome is None]
    done = iter(kind.run(params, ready, env) if ready else [])
    return [outcome if outcome is not None else next(done) for outcome in held]
