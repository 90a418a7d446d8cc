"""The rule tree as users write it: each rule is a one-key object.

{attribute: {name: FIRSTNAME, equals: Jane}}          contact attributes, every operator
{in_list: Loyal customers}, {in_any_list: [A, B]}, {in_no_list: [A, B]}
{event_count: ...}, {did_event: ...}, {did_not_event: ...}, {orders: ...}, {message: ...}
                                                       (``conditions.activity``)
{trigger: {property: cart.total, gt: 50}}             the run's trigger event
{webhook: {step: check_stock, path: json.in_stock, equals: true}}   an earlier webhook answer
{deal: {stage: Negotiation, pipeline: Sales}}          the contact has an open deal there
{owner: {user: anna@example.com}}                      the contact's owner
{random_percent: 30}                                   deterministic per run and step
{all: [...]}, {any: [...]}, {not: {...}}

Each kind is a small model that says what it needs and evaluates itself with its reason.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Discriminator, Field, Tag, field_validator, model_validator

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
    Rule,
)
from journeyman.conditions.base import EventQuery, Facts, Needs, Verdict, bucket
from journeyman.conditions.operators import (
    COMPARISON_OPERATORS,
    Comparison,
    Scalar,
    _Frozen,
    compare,
    explain_value,
    value_at,
)

__all__ = [
    "COMPARISON_OPERATORS",
    "AllOf",
    "AnyOf",
    "AttributeRule",
    "Comparison",
    "Condition",
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
    "Scalar",
    "lists_named",
    "needs_of",
    "users_named",
]


def _today_note(test: Comparison, facts: Facts) -> str:
    return f" (today {facts.today()})" if test.relative else ""


class AttributeTest(Comparison):
    name: str = Field(min_length=1)


class AttributeRule(Rule):
    kind = "attribute"
    attribute: AttributeTest

    def needs(self) -> Needs:
        return Needs(contact=True, run=self.attribute.relative)

    def evaluate(self, facts: Facts) -> Verdict:
        test = self.attribute
        value = facts.attributes.get(test.name)
        ok = compare(value, test, facts.today() if test.relative else None)
        return Verdict(
            result=ok, reason=explain_value(test.name, value, test, ok) + _today_note(test, facts)
        )


class InListRule(Rule):
    kind = "in_list"
    in_list: str = Field(min_length=1)

    def needs(self) -> Needs:
        return Needs(lists=True)

    def evaluate(self, facts: Facts) -> Verdict:
        ok = self.in_list in facts.lists
        return Verdict(result=ok, reason=f"{'in' if ok else 'not in'} list {self.in_list!r}")


ListNames = Annotated[list[Annotated[str, Field(min_length=1)]], Field(min_length=1)]


class InAnyListRule(Rule):
    kind = "in_any_list"
    in_any_list: ListNames

    def needs(self) -> Needs:
        return Needs(lists=True)

    def evaluate(self, facts: Facts) -> Verdict:
        found = [name for name in self.in_any_list if name in facts.lists]
        if found:
            return Verdict(result=True, reason=f"in list {found[0]!r}")
        return Verdict(result=False, reason=f"in none of the lists {_names(self.in_any_list)}")


class InNoListRule(Rule):
    kind = "in_no_list"
    in_no_list: ListNames

    def needs(self) -> Needs:
        return Needs(lists=True)

    def evaluate(self, facts: Facts) -> Verdict:
        found = [name for name in self.in_no_list if name in facts.lists]
        if found:
            return Verdict(result=False, reason=f"in list {found[0]!r}")
        return Verdict(result=True, reason=f"in none of the lists {_names(self.in_no_list)}")


def _names(names: list[str]) -> str:
    return ", ".join(repr(n) for n in names)


class TriggerTest(Comparison):
    property: str = Field(min_length=1, description="a dotted path in the event's properties")


class TriggerRule(Rule):
    """A property of the event that started the run."""

    kind = "trigger"
    trigger: TriggerTest

    def needs(self) -> Needs:
        relative = self.trigger.relative
        return Needs(event=True, contact=relative, run=relative)

    def evaluate(self, facts: Facts) -> Verdict:
        test = self.trigger
        if facts.trigger is None:
            ok = compare(None, test)
            return Verdict(result=ok, reason=f"the run has no trigger event; {test.describe()}")
        value = value_at(facts.trigger.get("properties") or {}, test.property)
        ok = compare(value, test, facts.today() if test.relative else None)
        label = f"{facts.trigger.get('name', 'trigger')} {test.property}"
        return Verdict(
            result=ok, reason=explain_value(label, value, test, ok) + _today_note(test, facts)
        )


class WebhookTest(Comparison):
    step: str = Field(pattern=r"^[A-Za-z][A-Za-z0-9_-]{0,63}$", description="a call_webhook step")
    path: str = Field(
        min_length=1, description="ok, status, error, or json.a.b inside the answer's JSON"
    )

    @field_validator("path")
    @classmethod
    def _known_part(cls, value: str) -> str:
        head = value.split(".", 1)[0]
        if head not in ("ok", "status", "error", "json"):
            raise ValueError(f"expected ok, status, error or json.<path>, got {value!r}")
        return value


class WebhookRule(Rule):
    """The answer of an earlier ``call_webhook`` step of the run (its context)."""

    kind = "webhook"
    webhook: WebhookTest

    def needs(self) -> Needs:
        relative = self.webhook.relative
        return Needs(run=True, contact=relative)

    def evaluate(self, facts: Facts) -> Verdict:
        test = self.webhook
        answer = (facts.context.get("webhook") or {}).get(test.step)
        if answer is None:
            ok = compare(None, test)
            return Verdict(
                result=ok, reason=f"webhook {test.step} has no answer; {test.describe()}"
            )
        value = value_at(answer, test.path)
        ok = compare(value, test, facts.today() if test.relative else None)
        label = f"webhook {test.step} {test.path}"
        return Verdict(
            result=ok, reason=explain_value(label, value, test, ok) + _today_note(test, facts)
        )


class DealTest(_Frozen):
    stage: str | None = Field(default=None, min_length=1)
    pipeline: str | None = Field(default=None, min_length=1)
    status: Literal["open", "won", "lost", "any"] = "open"

    def describe(self) -> str:
        status = "a deal" if self.status == "any" else f"a {self.status} deal"
        where = f" in stage {self.stage!r}" if self.stage else ""
        pipeline = f" of pipeline {self.pipeline!r}" if self.pipeline else ""
        return f"{status}{where}{pipeline}"


class DealRule(Rule):
    """The contact has a deal (open by default), in a stage and pipeline if given."""

    kind = "deal"
    deal: DealTest

    def needs(self) -> Needs:
        return Needs(deals=True)

    def evaluate(self, facts: Facts) -> Verdict:
        test = self.deal
        for deal in facts.deals:
            if (
                (test.status == "any" or deal.status == test.status)
                and (test.stage is None or deal.stage.casefold() == test.stage.casefold())
                and (test.pipeline is None or deal.pipeline.casefold() == test.pipeline.casefold())
            ):
                seen = f"{deal.pipeline}/{deal.stage} ({deal.status})"
                return Verdict(result=True, reason=f"has {test.describe()}: {seen}")
        seen = ", ".join(f"{d.pipeline}/{d.stage} ({d.status})" for d in facts.deals[:5])
        more = f" and {len(facts.deals) - 5} more" if len(facts.deals) > 5 else ""
        return Verdict(
            result=False,
            reason=f"has no {test.describe().removeprefix('a ')}; deals: {seen or 'none'}{more}",
        )


class OwnerTest(_Frozen):
    user: str | None = Field(default=None, min_length=3, description="the user's email")
    is_set: bool | None = None

    @model_validator(mode="after")
    def _one(self) -> OwnerTest:
        if (self.user is None) is (self.is_set is None):
            raise ValueError("give exactly one of user, is_set")
        return self


class OwnerRule(Rule):
    kind = "owner"
    owner: OwnerTest

    def needs(self) -> Needs:
        return Needs(owner=True)

    def evaluate(self, facts: Facts) -> Verdict:
        test, owner = self.owner, facts.owner
        shown = repr(owner) if owner else "nobody"
        if test.user is not None:
            ok = owner is not None and owner.casefold() == test.user.strip().casefold()
            expected = f"expected {test.user!r}"
        else:
            ok = (owner is not None) is test.is_set
            expected = "expected an owner" if test.is_set else "expected none"
        return Verdict(result=ok, reason=f"owner = {shown}, {expected}")


class RandomRule(Rule):
    """True for ``random_percent`` percent of runs, decided by the run's id and the step's:
    the same run takes the same way at the same step, every time. Several random rules of
    one step share the run's number (use a ``split`` step for N-way splits)."""

    kind = "random_percent"
    random_percent: float = Field(ge=0, le=100)

    def needs(self) -> Needs:
        return Needs(run=True)

    def evaluate(self, facts: Facts) -> Verdict:
        drawn = bucket(facts.run_id, facts.step_id)
        ok = drawn < round(self.random_percent * 100)
        sign = "<" if ok else ">="
        return Verdict(
            result=ok,
            reason=f"random number {drawn / 100:.2f} {sign} {self.random_percent:g}%",
        )


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
    return {
        rule.owner.user.strip().lower()
        for rule in walk(condition)
        if isinstance(rule, OwnerRule) and rule.owner.user is not None
    }
