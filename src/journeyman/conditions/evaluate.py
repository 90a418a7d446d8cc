"""Evaluate a rule tree against the facts of one run, with the reason in words."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, NamedTuple

from journeyman.conditions.rules import (
    AllOf,
    AnyOf,
    AttributeRule,
    Comparison,
    Condition,
    EventCountRule,
    InListRule,
    NotRule,
)

_EMPTY: Mapping[str, Any] = MappingProxyType({})


# A NamedTuple, not a frozen dataclass: one is built per run and step on the engine's hot
# path, where it costs a third as much (docs/architecture.md, "Measured").
class Facts(NamedTuple):
    """What is known about one run's contact when a condition is evaluated."""

    attributes: Mapping[str, Any] = _EMPTY
    lists: frozenset[str] = frozenset()
    event_counts: Mapping[str, int] = _EMPTY


@dataclass(frozen=True, kw_only=True)
class Verdict:
    result: bool
    reason: str


def evaluate(condition: Condition, facts: Facts) -> Verdict:
    match condition:
        case AttributeRule(attribute=test):
            value = facts.attributes.get(test.name)
            ok = compare(value, test)
            return Verdict(result=ok, reason=_explain(test.name, value, test, ok))
        case EventCountRule(event_count=test):
            count = facts.event_counts.get(test.event, 0)
            bound, expected = _count_bound(test.equals, test.at_least, test.at_most)
            ok = _count_ok(count, bound, expected)
            return Verdict(
                result=ok,
                reason=f"{test.event} count = {count}, expected {bound} {expected}",
            )
        case InListRule(in_list=name):
            ok = name in facts.lists
            return Verdict(result=ok, reason=f"{'in' if ok else 'not in'} list {name!r}")
        case AllOf(all=rules):
            return _combine(rules, facts, want=False, joiner="and")
        case AnyOf(any=rules):
            return _combine(rules, facts, want=True, joiner="or")
        case NotRule(not_=inner):
            verdict = evaluate(inner, facts)
            return Verdict(result=not verdict.result, reason=f"not ({verdict.reason})")
    raise TypeError(f"unknown rule {condition!r}")


def _combine(rules: list[Condition], facts: Facts, *, want: bool, joiner: str) -> Verdict:
    """``all`` stops at the first false rule, ``any`` at the first true one."""
    reasons = []
    for rule in rules:
        verdict = evaluate(rule, facts)
        if verdict.result is want:
            return verdict
        reasons.append(verdict.reason)
    return Verdict(result=not want, reason=f" {joiner} ".join(reasons))


def _count_bound(equals: int | None, at_least: int | None, at_most: int | None) -> tuple[str, int]:
    if equals is not None:
        return "exactly", equals
    if at_least is not None:
        return "at least", at_least
    assert at_most is not None
    return "at most", at_most


def _count_ok(count: int, bound: str, expected: int) -> bool:
    if bound == "exactly":
        return count == expected
    if bound == "at least":
        return count >= expected
    return count <= expected


def compare(value: Any, test: Comparison) -> bool:
    """Apply one operator; a missing value fails every test but ``is_set: false``."""
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
    return _order(value, operand, op)


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


def _explain(name: str, value: Any, test: Comparison, ok: bool) -> str:
    shown = "unset" if value is None else repr(value)
    verdict = "matches" if ok else "does not match"
    return f"{name} = {shown}, {verdict} {test.operator} {test.operand!r}"
