"""What rules read and return: the facts of one run, the needs of a tree, the verdict.

A rule says what it needs (``Needs``); the engine loads exactly that for a whole group of
runs, with a constant number of queries, and hands each run its ``Facts``. Queries over event
history and messages are values (``EventQuery``, ``MessageQuery``): equal rules share one
query, and their ``key`` finds the answer in ``Facts``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from abc import abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, ClassVar, Literal, NamedTuple

from journeyman import schedule
from journeyman.conditions.operators import Comparison, _Frozen
from journeyman.model.contacts import Deal

_EMPTY: Mapping[str, Any] = MappingProxyType({})

ORDER_EVENTS = ("order_created", "purchase")


class OrderStats(NamedTuple):
    """The orders an ``orders`` rule looks at: how many, their ``amount`` summed, and the
    products of their line items (casefolded)."""

    number: int = 0
    total: float = 0.0
    products: frozenset[str] = frozenset()


# A NamedTuple, not a frozen dataclass: one is built per run and step on the engine's hot
# path, where it costs a third as much (docs/architecture.md, "Measured").
class Facts(NamedTuple):
    """What is known about one run and its contact when a condition is evaluated."""

    attributes: Mapping[str, Any] = _EMPTY
    lists: frozenset[str] = frozenset()
    event_counts: Mapping[str, int] = _EMPTY  # EventQuery.key -> matching events
    orders: Mapping[str, OrderStats] = _EMPTY  # EventQuery.key -> order stats
    messages: Mapping[str, int] = _EMPTY  # MessageQuery.key -> matching messages or events
    deals: tuple[Deal, ...] = ()
    owner: str | None = None  # the email of the contact's owner
    trigger: Mapping[str, Any] | None = None  # the run's trigger event (name, properties...)
    context: Mapping[str, Any] = _EMPTY  # the run's context (webhook answers)
    run_id: int = 0
    step_id: str = ""
    now: dt.datetime | None = None
    # where "today" is taken: the contact's zone, else the default (schedule.zone_or)
    timezone: str | None = None

    def today(self) -> dt.date | None:
        if self.now is None:
            return None
        return schedule.local_today(self.now, self.timezone)


def bucket(run_id: int, step_id: str) -> int:
    """A number in [0, 10000) fixed by the run and the step: where the run falls in a
    percentage (hundredths of a percent). A replay of the step finds the same number."""
    digest = hashlib.blake2b(f"{run_id}:{step_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") % 10000


@dataclass(frozen=True, kw_only=True)
class Verdict:
    result: bool
    reason: str


@dataclass(frozen=True, kw_only=True)
class EventQuery:
    """Events of ``names`` the contact did: those received up to and including the run's
    trigger event (or those that occurred up to now without one, or with ``until_now``) that
    occurred within the ``within_days`` days before the trigger's time (or now).
    ``where`` filters on properties; ``orders`` asks for order stats, not a count.

    Equal by ``key`` alone (the other fields follow from it)."""

    key: str
    names: tuple[str, ...] = field(compare=False)
    within_days: int | None = field(default=None, compare=False)
    until_now: bool = field(default=False, compare=False)
    where: Mapping[str, Comparison] = field(default_factory=dict, compare=False)
    orders: bool = field(default=False, compare=False)

    @property
    def needs_rows(self) -> bool:
        """Properties are loaded and filtered in Python (else the database counts)."""
        return bool(self.where) or self.orders


MessageActivity = Literal["received", "opened", "clicked", "unsubscribed"]


@dataclass(frozen=True, kw_only=True)
class MessageQuery:
    """Messages the contact received (outbox rows queued or sent), or opened, clicked or
    unsubscribed from (``email_*`` events), from one step of the run's workflow or any, in
    the ``within_days`` days up to now. Equal by ``key`` alone."""

    key: str
    activity: MessageActivity = field(compare=False)
    step: str | None = field(default=None, compare=False)
    within_days: int | None = field(default=None, compare=False)


@dataclass(frozen=True, kw_only=True)
class Needs:
    """The facts a rule tree (or a step) reads; the engine loads exactly these for a batch."""

    contact: bool = False
    lists: bool = False
    event: bool = False  # the event that started the run
    event_counts: frozenset[EventQuery] = frozenset()
    messages: frozenset[MessageQuery] = frozenset()
    deals: bool = False
    owner: bool = False
    run: bool = False  # the run's id, step, context and the time: no query

    def __or__(self, other: Needs) -> Needs:
        return Needs(
            contact=self.contact or other.contact,
            lists=self.lists or other.lists,
            event=self.event or other.event,
            event_counts=self.event_counts | other.event_counts,
            messages=self.messages | other.messages,
            deals=self.deals or other.deals,
            owner=self.owner or other.owner,
            run=self.run or other.run,
        )

    @property
    def anything(self) -> bool:
        return self != NOTHING


NOTHING = Needs()


class Rule(_Frozen):
    """A rule kind: a one-key object whose key is ``kind``."""

    kind: ClassVar[str]

    @abstractmethod
    def needs(self) -> Needs:
        """The facts this rule reads."""

    @abstractmethod
    def evaluate(self, facts: Facts) -> Verdict:
        """The answer for one run, with the reason: the rule and the value seen."""
