"""Timing rules: delay."""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Sequence
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field, model_validator

from journeyman.model.runs import Outcome
from journeyman.steps.base import StepEnv, StepItem, StepKind

MAX_MONTHS = 60


class DelayParams(BaseModel):
    """A delay of at least one minute and at most 60 months; months are calendar months."""

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

    def add_to(self, when: dt.datetime) -> dt.datetime:
        return add_months(when, self.months) + self.fixed_part()

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


def add_months(when: dt.datetime, months: int) -> dt.datetime:
    """Same day next month(s), clamped to the month's last day (Jan 31 + 1 month = Feb 28/29)."""
    if months == 0:
        return when
    index = when.month - 1 + months
    year, month = when.year + index // 12, index % 12 + 1
    day = min(when.day, calendar.monthrange(year, month)[1])
    return when.replace(year=year, month=month, day=day)


class Delay(StepKind):
    kind = "delay"
    params: ClassVar[type[DelayParams]] = DelayParams

    def run(self, params: DelayParams, items: Sequence[StepItem], env: StepEnv) -> list[Outcome]:
        wake = params.add_to(env.now)
        reason = f"wait {params.describe()} until {wake.isoformat()}"
        return [
            Outcome(run_id=item.run.run_id, result="waiting", wait_until=wake, reason=reason)
            for item in items
        ]
