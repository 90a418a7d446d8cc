"""Flow control: if/else on a rule tree."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any, ClassVar

from pydantic import Field

from journeyman.conditions import Condition, evaluate
from journeyman.conditions.rules import Needs, lists_named, needs_of
from journeyman.model.runs import Outcome
from journeyman.steps.base import StepEnv, StepItem, StepKind


class GoTo(StepKind):
    """``go_to: <step>``: jump within the workflow. A run that loops without ever waiting is
    stopped by the engine after a bound of steps and reported.

    The way out is named ``go_to`` (not ``next``), so that a target that does not exist is
    reported on the field the user wrote."""

    kind = "go_to"
    params: ClassVar[Any] = Annotated[str, Field(pattern=r"^[A-Za-z][A-Za-z0-9_-]{0,63}$")]
    branches = ("go_to",)
    branch_fields = False

    def targets(self, params: str) -> dict[str, str]:
        return {"go_to": params}

    def run(self, params: str, items: Sequence[StepItem], env: StepEnv) -> list[Outcome]:
        return [
            Outcome(run_id=i.run.run_id, result="jumped", branch="go_to", reason=f"go to {params}")
            for i in items
        ]


class IfElse(StepKind):
    """``if: <condition>``, ``then: <step>``, ``else: <step>`` (``end`` ends the run)."""

    kind = "if"
    params: ClassVar[Any] = Condition
    branches = ("then", "else")

    def needs(self, params: Condition) -> Needs:
        return needs_of(params)

    def lists_used(self, params: Condition) -> set[str]:
        return lists_named(params)

    def run(self, params: Condition, items: Sequence[StepItem], env: StepEnv) -> list[Outcome]:
        outcomes = []
        for item in items:
            verdict = evaluate(params, item.facts)
            branch = "then" if verdict.result else "else"
            outcomes.append(
                Outcome(
                    run_id=item.run.run_id,
                    result="yes" if verdict.result else "no",
                    branch=branch,
                    reason=verdict.reason,
                )
            )
        return outcomes
