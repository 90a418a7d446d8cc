"""Flow control: if/else on a rule tree."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from journeyman.conditions import Condition, evaluate
from journeyman.conditions.rules import Needs, lists_named, needs_of
from journeyman.model.runs import Outcome
from journeyman.steps.base import StepEnv, StepItem, StepKind


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
