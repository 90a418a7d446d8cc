"""List membership: add to list, remove from list."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, ClassVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from journeyman.conditions.rules import Needs
from journeyman.model.effects import Effect, JoinList, LeaveList
from journeyman.model.runs import Outcome
from journeyman.steps.base import StepEnv, StepItem, StepKind


def _one_or_many(value: object) -> object:
    return [value] if isinstance(value, str) else value


class ListParams(BaseModel):
    """``lists``: one list name or several."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    lists: Annotated[list[Annotated[str, Field(min_length=1)]], BeforeValidator(_one_or_many)] = (
        Field(min_length=1)
    )


class _ListStep(StepKind):
    params: ClassVar[type[ListParams]] = ListParams
    joining: ClassVar[bool]

    def needs(self, params: ListParams) -> Needs:
        return Needs(lists=True)

    def lists_used(self, params: ListParams) -> set[str]:
        return set(params.lists)

    def run(self, params: ListParams, items: Sequence[StepItem], env: StepEnv) -> list[Outcome]:
        outcomes = []
        for item in items:
            effects: list[Effect] = []
            changed, unchanged = [], []
            for name in params.lists:
                member = name in item.facts.lists
                if member is self.joining:
                    unchanged.append(name)
                    continue
                changed.append(name)
                list_id, contact_id = env.list_ids[name], item.run.contact_id
                effects.append(
                    JoinList(contact_id=contact_id, list_id=list_id)
                    if self.joining
                    else LeaveList(contact_id=contact_id, list_id=list_id)
                )
            outcomes.append(
                Outcome(
                    run_id=item.run.run_id,
                    result="changed" if changed else "unchanged",
                    reason=self._reason(changed, unchanged),
                    effects=tuple(effects),
                )
            )
        return outcomes

    def _reason(self, changed: list[str], unchanged: list[str]) -> str:
        verb, already = ("added to", "already in") if self.joining else ("removed from", "not in")
        parts = []
        if changed:
            parts.append(f"{verb} {', '.join(changed)}")
        if unchanged:
            parts.append(f"{already} {', '.join(unchanged)}")
        return "; ".join(parts)


class AddToList(_ListStep):
    kind = "add_to_list"
    joining = True


class RemoveFromList(_ListStep):
    kind = "remove_from_list"
    joining = False
