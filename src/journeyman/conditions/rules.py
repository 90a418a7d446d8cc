"""The rule tree as users write it: each rule is a one-key object.

{attribute: {name: FIRSTNAME, equals: Jane}}          contact attributes, every operator
{in_list: Loyal customers}, {in_any_list: [A, B]}, {in_no_list: [A, B]}
                                                       (``conditions.contact``)
{event_count: ...}, {did_event: ...}, {did_not_event: ...}, {orders: ...}, {message: ...}
                                                       (``conditions.activity``)
{trigger: {property: cart.total, gt: 50}}             the run's trigger event
{webhook: {step: check_stock, path: json.in_stock, equals: true}}   an earlier webhook answer
{deal: {stage: Negotiation, pipeline: Sales}}          the contact has an open deal there
{owner: {user: anna@example.com}}                      the contact's owner
{random_percent: 30}                                   deterministic per run and step
                                                       (``conditions.run``)
{all: [...]}, {any: [...]}, {not: {...}}

Each kind is a small model that says what it needs and evaluates itself with its reason.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any

from pydantic import BaseModel, Discriminator, Field, Tag

from journeyman.conditions.activity import (
    DidEventRule,
    DidNotEventRule,
    EventCountRule,
    EventCountTest,
    EventFilter,
    MessageRule,
    MessageTest,
    OrdersRule,
    OrdersTest,
)
from journeyman.conditions.base import EventQuery, Facts, Needs, Rule, Verdict
from journeyman.conditions.contact import (
    AttributeRule,
    AttributeTest,
    DealRule,
    DealTest,
    InAnyListRule,
    InListRule,
    InNoListRule,
    OwnerRule,
    OwnerTest,
)
from journeyman.conditions.operators import COMPARISON_OPERATORS, Comparison, Scalar
from journeyman.conditions.run import RandomRule, TriggerRule, TriggerTest, WebhookRule, WebhookTest

__all__ = [
    "COMPARISON_OPERATORS",
    "AllOf",
    "AnyOf",
    "AttributeRule",
    "AttributeTest",
    "Comparison",
    "Condition",
    "DealRule",
    "DealTest",
    "DidEventRule",
    "DidNotEventRule",
    "EventCountRule",
    "EventCountTest",
    "EventFilter",
    "EventQuery",
    "InAnyListRule",
    "InListRule",
    "InNoListRule",
    "MessageRule",
    "MessageTest",
    "Needs",
    "NotRule",
    "OrdersRule",
    "OrdersTest",
    "OwnerRule",
    "OwnerTest",
    "RandomRule",
    "Rule",
    "Scalar",
    "TriggerRule",
    "TriggerTest",
    "WebhookRule",
    "WebhookTest",
    "lists_named",
    "needs_of",
    "users_named",
]


class AllOf(Rule):
    kind = "all"
    all: list[Condition] = Field(min_length=1)

    def needs(self) -> Needs:
        return _needs_of_all(self.all)

    def evaluate(self, facts: Facts) -> Verdict:
        return _combine(self.all, facts, want=False, joiner="and")


class AnyOf(Rule):
    kind = "any"
    any: list[Condition] = Field(min_length=1)

    def needs(self) -> Needs:
        return _needs_of_all(self.any)

    def evaluate(self, facts: Facts) -> Verdict:
        return _combine(self.any, facts, want=True, joiner="or")


class NotRule(Rule):
    kind = "not"
    not_: Condition = Field(alias="not")

    def needs(self) -> Needs:
        return self.not_.needs()

    def evaluate(self, facts: Facts) -> Verdict:
        verdict = self.not_.evaluate(facts)
        return Verdict(result=not verdict.result, reason=f"not ({verdict.reason})")


def _needs_of_all(rules: list[Condition]) -> Needs:
    result = Needs()
    for rule in rules:
        result = result | rule.needs()
    return result


def _combine(rules: list[Condition], facts: Facts, *, want: bool, joiner: str) -> Verdict:
    """``all`` stops at the first false rule, ``any`` at the first true one."""
    reasons = []
    for rule in rules:
        verdict = rule.evaluate(facts)
        if verdict.result is want:
            return verdict
        reasons.append(verdict.reason)
    return Verdict(result=not want, reason=f" {joiner} ".join(reasons))


_KINDS: tuple[type[Rule], ...] = (
    AttributeRule,
    EventCountRule,
    DidEventRule,
    DidNotEventRule,
    OrdersRule,
    MessageRule,
    InListRule,
    InAnyListRule,
    InNoListRule,
    TriggerRule,
    WebhookRule,
    DealRule,
    OwnerRule,
    RandomRule,
    AllOf,
    AnyOf,
    NotRule,
)
RULE_KINDS: tuple[str, ...] = tuple(k.kind for k in _KINDS)
_MODEL_KIND: dict[type[BaseModel], str] = {k: k.kind for k in _KINDS}


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
    | Annotated[DidEventRule, Tag("did_event")]
    | Annotated[DidNotEventRule, Tag("did_not_event")]
    | Annotated[OrdersRule, Tag("orders")]
    | Annotated[MessageRule, Tag("message")]
    | Annotated[InListRule, Tag("in_list")]
    | Annotated[InAnyListRule, Tag("in_any_list")]
    | Annotated[InNoListRule, Tag("in_no_list")]
    | Annotated[TriggerRule, Tag("trigger")]
    | Annotated[WebhookRule, Tag("webhook")]
    | Annotated[DealRule, Tag("deal")]
    | Annotated[OwnerRule, Tag("owner")]
    | Annotated[RandomRule, Tag("random_percent")]
    | Annotated[AllOf, Tag("all")]
    | Annotated[AnyOf, Tag("any")]
    | Annotated[NotRule, Tag("not")],
    Discriminator(
        _rule_kind,
        custom_error_type="invalid_rule",
        custom_error_message=f"a rule is an object with exactly one of: {', '.join(RULE_KINDS)}",
    ),
]

for _model in (AllOf, AnyOf, NotRule):
    _model.model_rebuild()


def needs_of(condition: Condition) -> Needs:
    return condition.needs()


def walk(condition: Condition) -> Iterator[Rule]:
    """Every rule of the tree, the combinators included, depth first."""
    yield condition
    match condition:
        case AllOf(all=rules) | AnyOf(any=rules):
            for rule in rules:
                yield from walk(rule)
        case NotRule(not_=inner):
            yield from walk(inner)


def lists_named(condition: Condition) -> set[str]:
    """Every list name the tree refers to (checked to exist at apply time)."""
    names: set[str] = set()
    for rule in walk(condition):
        match rule:
            case InListRule(in_list=name):
                names.add(name)
            case InAnyListRule(in_any_list=found) | InNoListRule(in_no_list=found):
                names.update(found)
    return names


def users_named(condition: Condition) -> set[str]:
    """Every user (email) the tree refers to (checked to exist at apply time)."""
    return set(user_paths(condition))


def user_paths(condition: Condition, prefix: str = "") -> dict[str, str]:
    """Every user (email) the tree refers to -> where the first mention is written
    (``all.0.owner.user``), after ``prefix``."""
    found: dict[str, str] = {}
    match condition:
        case OwnerRule(owner=test) if test.user is not None:
            found.setdefault(test.user.strip().lower(), f"{prefix}owner.user")
        case AllOf(all=rules) | AnyOf(any=rules):
            word = condition.kind
            for index, rule in enumerate(rules):
                for user, path in user_paths(rule, f"{prefix}{word}.{index}.").items():
                    found.setdefault(user, path)
        case NotRule(not_=inner):
            for user, path in user_paths(inner, f"{prefix}not.").items():
                found.setdefault(user, path)
    return found
