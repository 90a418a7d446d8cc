"""Rules over what the contact did: events, orders, messages.

{event_count: {event: purchase, equals: 1}}
{event_count: {event: purchase, at_least: 2, within_days: 30, where: {amount: {gte: 50}}}}
{did_event: purchase}, {did_not_event: {event: refund, within_days: 90}}
{orders: {count: {gte: 2}, total_spent: {gt: 100}, product: SKU-1, within_days: 365}}
{message: {activity: opened, step: welcome_mail, within_days: 7}}

Event history is counted up to and including the run's trigger event in the order the events
were *received*, whatever their occurrence times, so the answer depends neither on how late
the engine gets to the run nor on events that arrive late with an earlier time: a purchase
received after the first one is never "the first purchase" again, and an imported old order
counts for the runs that come after the import (``until: now`` counts the events that
occurred up to now instead). A window covers the events that occurred in the
``within_days`` days before the trigger's occurrence time (or now). Message activity looks
back from now.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from abc import abstractmethod
from collections.abc import Iterable, Mapping
from typing import Annotated, Any, ClassVar, Literal

from pydantic import Field, model_validator

from journeyman.conditions.base import (
    ORDER_EVENTS,
    EventQuery,
    Facts,
    MessageQuery,
    Needs,
    OrderStats,
    Rule,
    Verdict,
)
from journeyman.conditions.operators import Comparison, _Frozen, compare, matches_where

STEP_ID = r"^[A-Za-z][A-Za-z0-9_-]{0,63}$"
EventName = Annotated[str, Field(min_length=1)]
NUMERIC_OPERATORS = frozenset({"equals", "not_equals", "gt", "gte", "lt", "lte", "between", "in"})


class EventFilter(_Frozen):
    """Which of the contact's events count."""

    event: str = Field(min_length=1)
    within_days: int | None = Field(
        default=None, ge=1, le=36600, description="only the last N days before the end"
    )
    where: dict[str, Comparison] = Field(
        default_factory=dict, description="property filters: {path: {operator: value}}"
    )
    until: Literal["trigger", "now"] = Field(
        default="trigger",
        description="count the events received up to the run's trigger event (default) "
        "or the events that occurred up to now",
    )

    def query(self) -> EventQuery:
        return _event_query((self.event,), self, orders=False)

    def describe(self) -> str:
        return _describe_filter(self.event, self)


def _event_query(names: tuple[str, ...], spec: Any, *, orders: bool) -> EventQuery:
    where = {
        path: test.model_dump(by_alias=True, exclude_none=True) for path, test in spec.where.items()
    }
    plain = not (where or spec.within_days or spec.until == "now" or orders)
    key = names[0] if plain and len(names) == 1 else _key(names, spec, where, orders)
    return EventQuery(
        key=key,
        names=names,
        within_days=spec.within_days,
        until_now=spec.until == "now",
        where=dict(spec.where),
        orders=orders,
    )


def _key(names: tuple[str, ...], spec: Any, where: dict[str, Any], orders: bool) -> str:
    shape = {
        "names": names,
        "within_days": spec.within_days,
        "until": spec.until,
        "where": where,
        "orders": orders,
    }
    return json.dumps(shape, sort_keys=True, default=str)


def _describe_filter(name: str, spec: Any) -> str:
    parts = []
    if spec.within_days:
        parts.append(f"in the last {spec.within_days} days")
    if spec.where:
        parts.append("where " + ", ".join(f"{p} {t.describe()}" for p, t in spec.where.items()))
    if spec.until == "now":
        parts.append("up to now")
    return f"{name} ({'; '.join(parts)})" if parts else name


class EventCountTest(EventFilter):
    """How many times the contact did ``event``: give one of equals, at_least, at_most."""

    equals: int | None = Field(default=None, ge=0)
    at_least: int | None = Field(default=None, ge=0)
    at_most: int | None = Field(default=None, ge=0)

    @model_validator(mode="after")
    def _exactly_one_bound(self) -> EventCountTest:
        given = [b for b in ("equals", "at_least", "at_most") if getattr(self, b) is not None]
        if len(given) != 1:
            raise ValueError(
                f"give exactly one of equals, at_least, at_most; got {given or 'none'}"
            )
        return self

    def bound(self) -> tuple[str, int]:
        if self.equals is not None:
            return "exactly", self.equals
        if self.at_least is not None:
            return "at least", self.at_least
        assert self.at_most is not None
        return "at most", self.at_most


class EventCountRule(Rule):
    kind = "event_count"
    event_count: EventCountTest

    def needs(self) -> Needs:
        return _event_needs(self.event_count)

    def evaluate(self, facts: Facts) -> Verdict:
        test = self.event_count
        count = facts.event_counts.get(test.query().key, 0)
        bound, expected = test.bound()
        if bound == "exactly":
            ok = count == expected
        elif bound == "at least":
            ok = count >= expected
        else:
            ok = count <= expected
        return Verdict(
            result=ok, reason=f"{test.describe()} count = {count}, expected {bound} {expected}"
        )


def _event_needs(spec: EventFilter) -> Needs:
    relative = any(t.relative for t in spec.where.values())
    return Needs(event_counts=frozenset([spec.query()]), contact=relative, run=relative)


class _DidRule(Rule):
    expect: ClassVar[bool]

    @abstractmethod
    def spec(self) -> str | EventFilter: ...

    def filter(self) -> EventFilter:
        spec = self.spec()
        return EventFilter(event=spec) if isinstance(spec, str) else spec

    def needs(self) -> Needs:
        return _event_needs(self.filter())

    def evaluate(self, facts: Facts) -> Verdict:
        spec = self.filter()
        count = facts.event_counts.get(spec.query().key, 0)
        seen = f"did {spec.describe()} {_times(count)}" if count else f"never did {spec.describe()}"
        return Verdict(result=(count > 0) is self.expect, reason=seen)


class DidEventRule(_DidRule):
    """``did_event: NAME`` or ``did_event: {event, within_days, where, until}``."""

    kind = "did_event"
    expect = True
    did_event: EventName | EventFilter

    def spec(self) -> str | EventFilter:
        return self.did_event


class DidNotEventRule(_DidRule):
    """``did_not_event: NAME`` or ``did_not_event: {event, within_days, where, until}``."""

    kind = "did_not_event"
    expect = False
    did_not_event: EventName | EventFilter

    def spec(self) -> str | EventFilter:
        return self.did_not_event


def _times(count: int) -> str:
    return "once" if count == 1 else f"{count} times"


class OrdersTest(_Frozen):
    """The contact's orders (``order_created`` and ``purchase`` events): their ``count``,
    ``total_spent`` (their ``amount`` summed) and whether one had ``product`` among its line
    items (``products``: names, ids or objects with an id, sku or name)."""

    count: Comparison | None = None
    total_spent: Comparison | None = None
    product: str | None = Field(default=None, min_length=1)
    within_days: int | None = Field(default=None, ge=1, le=36600)
    where: dict[str, Comparison] = Field(default_factory=dict)
    until: Literal["trigger", "now"] = "trigger"

    @model_validator(mode="after")
    def _something_to_test(self) -> OrdersTest:
        if self.count is None and self.total_spent is None and self.product is None:
            raise ValueError("give at least one of count, total_spent, product")
        for name in ("count", "total_spent"):
            test = getattr(self, name)
            if test is not None and test.operator not in NUMERIC_OPERATORS:
                allowed = ", ".join(sorted(NUMERIC_OPERATORS))
                raise ValueError(f"{name}: a number test ({allowed}), not {test.operator}")
        return self

    def query(self) -> EventQuery:
        return _event_query(ORDER_EVENTS, self, orders=True)


class OrdersRule(Rule):
    kind = "orders"
    orders: OrdersTest

    def needs(self) -> Needs:
        relative = any(t.relative for t in self.orders.where.values())
        return Needs(event_counts=frozenset([self.orders.query()]), contact=relative, run=relative)

    def evaluate(self, facts: Facts) -> Verdict:
        test = self.orders
        stats = facts.orders.get(test.query().key, OrderStats())
        seen = f"{_describe_filter('orders', test)}: {stats.number}, total spent {stats.total:g}"
        checks: list[tuple[bool, str]] = []
        if test.count is not None:
            ok = compare(stats.number, test.count)
            checks.append((ok, f"count {_matches(ok)} {test.count.describe()}"))
        if test.total_spent is not None:
            ok = compare(stats.total, test.total_spent)
            checks.append((ok, f"total spent {_matches(ok)} {test.total_spent.describe()}"))
        if test.product is not None:
            ok = test.product.casefold() in stats.products
            checks.append((ok, f"product {test.product!r} {'bought' if ok else 'not bought'}"))
        result = all(ok for ok, _ in checks)
        return Verdict(result=result, reason=f"{seen}; {', '.join(text for _, text in checks)}")


def _matches(ok: bool) -> str:
    return "matches" if ok else "does not match"


class MessageTest(_Frozen):
    """The contact received (a message queued or sent), opened, clicked, or unsubscribed from
    a message: of the step ``step`` of this workflow, or any."""

    activity: Literal["received", "opened", "clicked", "unsubscribed"]
    step: str | None = Field(default=None, pattern=STEP_ID)
    within_days: int | None = Field(default=None, ge=1, le=36600)

    def query(self) -> MessageQuery:
        key = f"{self.activity}:{self.step or '*'}:{self.within_days or '*'}"
        return MessageQuery(
            key=key, activity=self.activity, step=self.step, within_days=self.within_days
        )

    def describe(self) -> str:
        what = f"from step {self.step!r}" if self.step else "from any message"
        when = f" in the last {self.within_days} days" if self.within_days else ""
        return f"{self.activity} {what}{when}"


class MessageRule(Rule):
    kind = "message"
    message: MessageTest

    def needs(self) -> Needs:
        return Needs(messages=frozenset([self.message.query()]), run=True)

    def evaluate(self, facts: Facts) -> Verdict:
        count = facts.messages.get(self.message.query().key, 0)
        seen = _times(count) if count else "never"
        return Verdict(result=count > 0, reason=f"{self.message.describe()}: {seen}")


def count_matching(query: EventQuery, rows: Iterable[Any], today: dt.date | None) -> int:
    """How many events (their properties) pass the query's property filter."""
    return sum(1 for properties in rows if _passes(query, properties, today))


def order_stats(query: EventQuery, rows: Iterable[Any], today: dt.date | None) -> OrderStats:
    """Count, total ``amount`` and products of the orders that pass the property filter."""
    count, total, products = 0, 0.0, set[str]()
    for properties in rows:
        if not _passes(query, properties, today):
            continue
        count += 1
        total += _amount(properties.get("amount"))
        products.update(_products(properties.get("products")))
    return OrderStats(number=count, total=total, products=frozenset(products))


def _passes(query: EventQuery, properties: Any, today: dt.date | None) -> bool:
    if not isinstance(properties, Mapping):
        return not query.where
    return matches_where(properties, query.where, today)


def _amount(value: Any) -> float:
    if isinstance(value, bool):
        return 0.0
    if isinstance(value, int | float):
        return float(value) if math.isfinite(value) else 0.0
    if isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            return 0.0
        return number if math.isfinite(number) else 0.0
    return 0.0


PRODUCT_KEYS = ("id", "sku", "product_id", "name")


def _products(value: Any) -> set[str]:
    """Line items: a list of names or ids, or of objects with an id, sku, product_id or name
    (a single item is taken as a list of one)."""
    items = value if isinstance(value, list) else [value]
    found: set[str] = set()
    for item in items:
        if isinstance(item, Mapping):
            found.update(_product(item.get(key)) for key in PRODUCT_KEYS)
        else:
            found.add(_product(item))
    found.discard("")
    return found


def _product(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return ""
    return str(value).strip().casefold()
