"""Rules over the contact: its attributes, list memberships, deals and owner.

{attribute: {name: BIRTHDAY, anniversary_in_days: 7}}
{in_list: VIP}, {in_any_list: [A, B]}, {in_no_list: [A, B]}
{deal: {stage: Negotiation, pipeline: Sales}}      an open deal there (status: open by default)
{owner: {user: anna@example.com}}, {owner: {is_set: false}}
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from journeyman.conditions.base import Facts, Needs, Rule, Verdict
from journeyman.conditions.operators import Comparison, _Frozen, compare, explain_value


def today_note(test: Comparison, facts: Facts) -> str:
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
            result=ok, reason=explain_value(test.name, value, test, ok) + today_note(test, facts)
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
