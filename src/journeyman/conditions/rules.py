"""The rule tree as users write it: each rule is a one-key object.

{attribute: {name: FIRSTNAME, equals: Jane}}
{event_count: {event: purchase, equals: 1}}
{in_list: Loyal customers}
{all: [...]}, {any: [...]}, {not: {...}}
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag, model_validator

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
    "in",
    "is_set",
)


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
    in_: list[Scalar] | None = Field(default=None, alias="in")
    is_set: bool | None = None

    @model_validator(mode="after")
    def _exactly_one_operator(self) -> Comparison:
        given = [op for op in COMPARISON_OPERATORS if self.operand_of(op) is not None]
        if len(given) != 1:
            operators = ", ".join(COMPARISON_OPERATORS)
            raise ValueError(f"give exactly one operator of {operators}; got {given or 'none'}")
        return self

    def operand_of(self, operator: str) -> Any:
        return getattr(self, "in_" if operator == "in" else operator)

    @property
    def operator(self) -> str:
        return next(op for op in COMPARISON_OPERATORS if self.operand_of(op) is not None)

    @property
    def operand(self) -> Any:
        return self.operand_of(self.operator)


class AttributeTest(Comparison):
    name: str = Field(min_length=1)


class AttributeRule(_Frozen):
    attribute: AttributeTest


class EventCountTest(_Frozen):
    """How many times the contact did ``event``.

    With a trigger event, events are counted up to and including it, so the answer does not
    depend on how late the engine gets to the run; without one, up to now.
    """

    event: str = Field(min_length=1)
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


class EventCountRule(_Frozen):
    event_count: EventCountTest


class InListRule(_Frozen):
    in_list: str = Field(min_length=1)


class AllOf(_Frozen):
    all: list[Condition] = Field(min_length=1)


class AnyOf(_Frozen):
    any: list[Condition] = Field(min_length=1)


class NotRule(_Frozen):
    not_: Condition = Field(alias="not")


RuleKind = Literal["attribute", "event_count", "in_list", "all", "any", "not"]
RULE_KINDS: tuple[RuleKind, ...] = ("attribute", "event_count", "in_list", "all", "any", "not")


def _rule_kind(value: Any) -> str | None:
    if isinstance(value, BaseModel):
        return _MODEL_KIND.get(type(value))
    if isinstance(value, dict):
        keys = [k for k in value if k in RULE_KINDS]
        return keys[0] if len(keys) == 1 else None
    return None


Condition = Annotated[
    Annotated[AttributeRule, Tag("attribute")]
    | Annotated[EventCountRule, Tag("event_count")]
    | Annotated[InListRule, Tag("in_list")]
    | Annotated[AllOf, Tag("all")]
    | Annotated[AnyOf, Tag("any")]
    | Annotated[NotRule, Tag("not")],
    Discriminator(
        _rule_kind,
        custom_error_type="invalid_rule",
        custom_error_message=f"a rule is an object with exactly one of: {', '.join(RULE_KINDS)}",
    ),
]

_MODEL_KIND: dict[type[BaseModel], str] = {
    AttributeRule: "attribute",
    EventCountRule: "event_count",
    InListRule: "in_list",
    AllOf: "all",
    AnyOf: "any",
    NotRule: "not",
}

for _model in (AllOf, AnyOf, NotRule):
    _model.model_rebuild()


@dataclass(frozen=True, kw_only=True)
class Needs:
    """The facts a rule tree reads; the engine loads exactly these for a batch."""

    contact: bool = False
    lists: bool = False
    event: bool = False  # the event that started the run
    event_counts: frozenset[str] = frozenset()

    def __or__(self, other: Needs) -> Needs:
        return Needs(
            contact=self.contact or other.contact,
            lists=self.lists or other.lists,
            event=self.event or other.event,
            event_counts=self.event_counts | other.event_counts,
        )


def needs_of(condition: Condition) -> Needs:
    match condition:
        case AttributeRule():
            return Needs(contact=True)
        case EventCountRule(event_count=test):
            return Needs(event_counts=frozenset([test.event]))
        case InListRule():
            return Needs(lists=True)
        case AllOf(all=rules) | AnyOf(any=rules):
            result = Needs()
            for rule in rules:
                result = result | needs_of(rule)
            return result
        case NotRule(not_=inner):
            return needs_of(inner)
    raise TypeError(f"unknown rule {condition!r}")


def lists_named(condition: Condition) -> set[str]:
    """Every list name the tree refers to (checked to exist at apply time)."""
    match condition:
        case InListRule(in_list=name):
            return {name}
        case AllOf(all=rules) | AnyOf(any=rules):
            return set().union(*(lists_named(r) for r in rules))
        case NotRule(not_=inner):
            return lists_named(inner)
    return set()
