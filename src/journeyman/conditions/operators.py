"""One value against one operator: ``Comparison`` (the operator and its operand) and
``compare``. Shared by attribute rules, event property filters (``where``), trigger-event and
webhook rules, and the bounds of aggregates.

Dates are ISO ``YYYY-MM-DD`` text (a longer ISO time is cut to its date). Operands of
``before``, ``after`` and ``between`` may be relative: ``today``, ``today+7``, ``today-30``
(days). "Today" is the caller's: the engine passes the date in the contact's timezone.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

Scalar = str | int | float | bool

COMPARISON_OPERATORS = (
    "equals",
    "not_equals",
    "contains",
    "starts_with",
    "gt",
    "gte",
    "lt",
    "lte",
    "between",
    "in",
    "is_set",
    "before",
    "after",
    "within_last_days",
    "anniversary_in_days",
)
# Operators whose answer depends on the current date.
RELATIVE_OPERATORS = frozenset({"before", "after", "within_last_days", "anniversary_in_days"})

_RELATIVE = re.compile(r"^today\s*(?:([+-])\s*(\d{1,5}))?$")


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


class Comparison(_Frozen):
    """Exactly one operator and its operand."""

    equals: Scalar | None = None
    not_equals: Scalar | None = None
    contains: str | None = None
    starts_with: str | None = None
    gt: float | str | None = None
    gte: float | str | None = None
    lt: float | str | None = None
    lte: float | str | None = None
    between: tuple[float | str, float | str] | None = Field(
        default=None, description="[low, high], both included: numbers or dates"
    )
    in_: list[Scalar] | None = Field(default=None, alias="in")
    is_set: bool | None = None
    before: str | None = Field(default=None, description="a date: YYYY-MM-DD or today±N")
    after: str | None = Field(default=None, description="a date: YYYY-MM-DD or today±N")
    within_last_days: int | None = Field(
        default=None, ge=0, le=36600, description="a date from N days ago up to today"
    )
    anniversary_in_days: int | None = Field(
        default=None,
        ge=-366,
        le=366,
        description="the date's yearly anniversary is N days from today (Feb 29: Feb 28)",
    )

    @model_validator(mode="after")
    def _exactly_one_operator(self) -> Comparison:
        given = [op for op in COMPARISON_OPERATORS if self.operand_of(op) is not None]
        if len(given) != 1:
            operators = ", ".join(COMPARISON_OPERATORS)
            raise ValueError(f"give exactly one operator of {operators}; got {given or 'none'}")
        return self

    @field_validator("before", "after")
    @classmethod
    def _a_date(cls, value: str | None) -> str | None:
        if value is not None and date_operand(value, dt.date(2000, 1, 1)) is None:
            raise ValueError(f"expected a date as YYYY-MM-DD or today±N (days), got {value!r}")
        return value

    @field_validator("between")
    @classmethod
    def _a_range(
        cls, value: tuple[float | str, float | str] | None
    ) -> tuple[float | str, float | str] | None:
        if value is None:
            return None
        low, high = (_bound(v, dt.date(2000, 1, 1)) for v in value)
        if low is None or high is None or type(low) is not type(high):
            raise ValueError(
                f"expected [low, high]: two numbers or two dates (YYYY-MM-DD or today±N), "
                f"got {list(value)!r}"
            )
        if not _relative(value[0]) and not _relative(value[1]) and low > high:  # type: ignore[operator]
            raise ValueError(f"low {value[0]!r} is above high {value[1]!r}")
        return value

    def operand_of(self, operator: str) -> Any:
        return getattr(self, "in_" if operator == "in" else operator)

    @property
    def operator(self) -> str:
        return next(op for op in COMPARISON_OPERATORS if self.operand_of(op) is not None)

    @property
    def operand(self) -> Any:
        return self.operand_of(self.operator)

    @property
    def relative(self) -> bool:
        """Does the answer depend on today's date?"""
        if self.operator in RELATIVE_OPERATORS:
            return True
        return self.between is not None and any(_relative(v) for v in self.between)

    def describe(self) -> str:
        operand = list(self.operand) if isinstance(self.operand, tuple) else self.operand
        return f"{self.operator} {operand!r}"


def compare(value: Any, test: Comparison, today: dt.date | None = None) -> bool:
    """Apply one operator; a missing value fails every test but ``is_set: false`` and
    ``not_equals``. Operators relative to today fail without ``today``."""
    op, operand = test.operator, test.operand
    if op == "is_set":
        present = value is not None and value != ""
        return present is bool(operand)
    if value is None:
        return op == "not_equals"
    if op == "equals":
        return _same(value, operand)
    if op == "not_equals":
        return not _same(value, operand)
    if op == "in":
        return any(_same(value, item) for item in operand)
    if op == "contains":
        return str(operand).casefold() in str(value).casefold()
    if op == "starts_with":
        return str(value).casefold().startswith(str(operand).casefold())
    if op in ("gt", "gte", "lt", "lte"):
        return _order(value, operand, op)
    if op == "between":
        return _between(value, operand, today)
    return _dated(value, op, operand, today)


def matches_where(
    properties: Mapping[str, Any], where: Mapping[str, Comparison], today: dt.date | None
) -> bool:
    """Every ``path: test`` of a property filter holds (dotted paths for nested values)."""
    return all(compare(value_at(properties, path), test, today) for path, test in where.items())


def value_at(values: Any, path: str) -> Any:
    """``a.b.c`` inside nested mappings (``0``, ``1``... index lists); None when missing."""
    value: Any = values
    for part in path.split("."):
        if isinstance(value, Mapping):
            if part not in value:
                return None
            value = value[part]
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return None
    return value


def date_of(value: Any) -> dt.date | None:
    """A date from a date, a datetime or ISO text (cut to its date part)."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value.strip()[:10])
        except ValueError:
            return None
    return None


def date_operand(operand: str, today: dt.date) -> dt.date | None:
    """``YYYY-MM-DD`` or ``today``, ``today+N``, ``today-N`` (days)."""
    found = _RELATIVE.match(operand.strip().lower())
    if found is None:
        return date_of(operand) if len(operand.strip()) == 10 else None
    sign, days = found.groups()
    shift = int(days or 0) * (-1 if sign == "-" else 1)
    try:
        return today + dt.timedelta(days=shift)
    except OverflowError:
        return None


def anniversary(date: dt.date, year: int) -> dt.date:
    """The date's anniversary in ``year``; Feb 29 falls on Feb 28 in common years."""
    if date.month == 2 and date.day == 29 and not calendar.isleap(year):
        return dt.date(year, 2, 28)
    return date.replace(year=year)


def _relative(operand: Any) -> bool:
    return isinstance(operand, str) and _RELATIVE.match(operand.strip().lower()) is not None


def _same(value: Any, operand: Any) -> bool:
    if isinstance(value, str) and isinstance(operand, str):
        return value.casefold() == operand.casefold()
    if isinstance(value, bool) or isinstance(operand, bool):
        return value is operand
    return bool(value == operand)


def _order(value: Any, operand: Any, op: str) -> bool:
    left: Any = _comparable(value)
    right: Any = _comparable(operand)
    if left is None or right is None or type(left) is not type(right):
        return False
    if op == "gt":
        return bool(left > right)
    if op == "gte":
        return bool(left >= right)
    if op == "lt":
        return bool(left < right)
    return bool(left <= right)


def _comparable(value: Any) -> float | dt.date | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            pass
        try:
            return dt.date.fromisoformat(value[:10])
        except ValueError:
            return None
    return None


def _bound(operand: Any, today: dt.date) -> float | dt.date | None:
    if _relative(operand):
        return date_operand(operand, today)
    return _comparable(operand)


def _between(value: Any, operand: tuple[Any, Any], today: dt.date | None) -> bool:
    if today is None and any(_relative(v) for v in operand):
        return False
    low, high = (_bound(v, today or dt.date.min) for v in operand)
    seen = _comparable(value)
    if seen is None or low is None or high is None:
        return False
    if type(seen) is not type(low) or type(low) is not type(high):
        return False
    return bool(low <= seen <= high)  # type: ignore[operator]


def _dated(value: Any, op: str, operand: Any, today: dt.date | None) -> bool:
    date = date_of(value)
    if date is None or today is None:
        return False
    if op == "within_last_days":
        return today - dt.timedelta(days=operand) <= date <= today
    if op == "anniversary_in_days":
        target = today + dt.timedelta(days=operand)
        return anniversary(date, target.year) == target
    limit = date_operand(operand, today)
    if limit is None:
        return False
    return date < limit if op == "before" else date > limit


def explain_value(label: str, value: Any, test: Comparison, ok: bool) -> str:
    """``LABEL = <value seen>, matches|does not match <operator> <operand>``."""
    shown = "unset" if value is None else repr(value)
    verdict = "matches" if ok else "does not match"
    return f"{label} = {shown}, {verdict} {test.describe()}"
