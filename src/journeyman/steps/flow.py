"""Flow control: if/else, multi-branch switch, percentage split, go to.

```yaml
- id: segment
  switch:
    branches:
      - {name: vip, when: {in_list: VIP}, goto: vip_offer}
      - {when: {orders: {count: {gte: 2}}}, goto: loyal_offer}   # way out "branch_2"
    default: welcome_offer
- id: ab_test
  split:
    paths:
      - {percent: 30, goto: variant_a}                          # way out "path_1"
      - {percent: 70, goto: variant_b}
```

A switch takes the first branch whose condition holds, else ``default``. A split sends each
run down one path, drawn from the run's id and the step's, so a replay takes the same path;
its numbers are the ones ``random_percent`` rules of the same step see.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Annotated, Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, model_validator

from journeyman.conditions import Condition, bucket, evaluate
from journeyman.conditions.rules import Needs, lists_named, needs_of, user_paths, users_named
from journeyman.model.runs import Outcome
from journeyman.steps.base import StepEnv, StepItem, StepKind

StepId = Annotated[str, Field(pattern=r"^[A-Za-z][A-Za-z0-9_-]{0,63}$")]
BranchName = Annotated[str, Field(pattern=r"^[A-Za-z][A-Za-z0-9_-]{0,39}$")]


class GoTo(StepKind):
    """``go_to: <step>``: jump within the workflow. A run that loops without ever waiting is
    stopped by the engine after a bound of steps and reported.

    The way out is named ``go_to`` (not ``next``), so that a target that does not exist is
    reported on the field the user wrote."""

    kind = "go_to"
    params: ClassVar[Any] = StepId
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

    def references(self, params: Condition) -> dict[str, set[str]]:
        users = users_named(params)
        return {"users": users} if users else {}

    def reference_field(self, params: Condition, kind: str, name: str) -> str:
        return user_paths(params).get(name, "owner.user")

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


class _Params(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class SwitchBranch(_Params):
    name: BranchName | None = Field(
        default=None, description="the way out's name in the run log; default branch_N"
    )
    when: Condition
    goto: StepId = Field(description="a step id, or end")


class SwitchParams(_Params):
    branches: list[SwitchBranch] = Field(min_length=1, max_length=50)
    default: StepId = Field(description="where runs go when no branch matches (or end)")

    @model_validator(mode="after")
    def _unique_names(self) -> SwitchParams:
        seen: set[str] = set()
        for name in self.names():
            if name in seen or name == "default":
                raise ValueError(f"branch name {name!r} is used twice (or is 'default')")
            seen.add(name)
        return self

    def names(self) -> list[str]:
        return [b.name or f"branch_{i}" for i, b in enumerate(self.branches, start=1)]


class Switch(StepKind):
    """``switch: {branches: [{when, goto, name?}, ...], default}``: the first branch whose
    condition holds wins; none: ``default``. A disabled switch takes ``default``."""

    kind = "switch"
    params: ClassVar[Any] = SwitchParams
    branches = ("default",)
    branch_fields = False

    def targets(self, params: SwitchParams) -> dict[str, str]:
        ways = {name: b.goto for name, b in zip(params.names(), params.branches, strict=True)}
        return {**ways, "default": params.default}

    def target_field(self, params: SwitchParams, branch: str) -> str:
        names = params.names()
        if branch in names:
            return f"switch.branches.{names.index(branch)}.goto"
        return f"switch.{branch}"

    def needs(self, params: SwitchParams) -> Needs:
        result = Needs()
        for branch in params.branches:
            result = result | needs_of(branch.when)
        return result

    def lists_used(self, params: SwitchParams) -> set[str]:
        return set().union(*(lists_named(b.when) for b in params.branches))

    def references(self, params: SwitchParams) -> dict[str, set[str]]:
        users = set().union(*(users_named(b.when) for b in params.branches))
        return {"users": users} if users else {}

    def reference_field(self, params: SwitchParams, kind: str, name: str) -> str:
        for index, branch in enumerate(params.branches):
            found = user_paths(branch.when, f"branches.{index}.when.").get(name)
            if found:
                return found
        return "branches"

    def run(self, params: SwitchParams, items: Sequence[StepItem], env: StepEnv) -> list[Outcome]:
        names = params.names()
        return [self._one(params, names, item) for item in items]

    def _one(self, params: SwitchParams, names: list[str], item: StepItem) -> Outcome:
        failed = []
        for name, branch in zip(names, params.branches, strict=True):
            verdict = evaluate(branch.when, item.facts)
            if verdict.result:
                return Outcome(
                    run_id=item.run.run_id,
                    result=name,
                    branch=name,
                    reason=f"{name}: {verdict.reason}",
                )
            failed.append(f"{name}: {verdict.reason}")
        return Outcome(
            run_id=item.run.run_id,
            result="default",
            branch="default",
            reason=f"default, no branch matched ({'; '.join(failed)})",
        )


class SplitPath(_Params):
    percent: float = Field(ge=0, le=100, description="share of runs, to 0.01")
    goto: StepId = Field(description="a step id, or end")


class SplitParams(_Params):
    paths: list[SplitPath] = Field(min_length=2, max_length=50)

    @model_validator(mode="after")
    def _shares(self) -> SplitParams:
        for path in self.paths:
            if not math.isclose(path.percent * 100, round(path.percent * 100), abs_tol=1e-6):
                raise ValueError(f"percent {path.percent:g}: at most two decimals")
        total = sum(round(p.percent * 100) for p in self.paths)
        if total != 10000:
            raise ValueError(f"the percents add up to {total / 100:g}, not 100")
        return self

    def bounds(self) -> list[tuple[str, int, int]]:
        """(way out, from, to) in hundredths of a percent: path_N takes [from, to)."""
        result, start = [], 0
        for i, path in enumerate(self.paths, start=1):
            end = start + round(path.percent * 100)
            result.append((f"path_{i}", start, end))
            start = end
        return result


class Split(StepKind):
    """``split: {paths: [{percent, goto}, ...]}`` (percents add up to 100): each run takes
    one path, ``path_1``, ``path_2``..., fixed by its id and the step's. A disabled split
    takes ``path_1``."""

    kind = "split"
    params: ClassVar[Any] = SplitParams
    branches = ("path_1",)
    branch_fields = False

    def targets(self, params: SplitParams) -> dict[str, str]:
        return {f"path_{i}": p.goto for i, p in enumerate(params.paths, start=1)}

    def target_field(self, params: SplitParams, branch: str) -> str:
        return f"split.paths.{int(branch.removeprefix('path_')) - 1}.goto"

    def run(self, params: SplitParams, items: Sequence[StepItem], env: StepEnv) -> list[Outcome]:
        bounds = params.bounds()
        outcomes = []
        for item in items:
            drawn = bucket(item.run.run_id, env.step_id)
            name, start, end = next(b for b in bounds if b[1] <= drawn < b[2])
            share = f"{(end - start) / 100:g}%"
            outcomes.append(
                Outcome(
                    run_id=item.run.run_id,
                    result=name,
                    branch=name,
                    reason=f"random number {drawn / 100:.2f} falls in {name} "
                    f"({share}: {start / 100:g} to {end / 100:g})",
                )
            )
        return outcomes
