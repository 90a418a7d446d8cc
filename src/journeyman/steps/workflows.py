"""Workflow actions: start another workflow, record a conversion."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from journeyman.conditions.rules import Needs
from journeyman.model.effects import RecordConversion, StartRun
from journeyman.model.events import property_at
from journeyman.model.runs import Outcome
from journeyman.steps.base import StepEnv, StepItem, StepKind, failed, idempotency_key

MAX_CHAIN = 10  # workflows starting one another, one after the other


class StartWorkflowParams(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    # The patterns of workflow keys and step ids (workflow.document, which imports this module).
    workflow: str = Field(
        pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$", description="the key of the workflow to start"
    )
    step: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z][A-Za-z0-9_-]{0,63}$",
        description="start here instead of the first step",
    )


class StartWorkflow(StepKind):
    """Enrol the contact into another workflow in the same transaction. A chain that would
    start a workflow it came from (endless mutual recursion) is stopped and reported."""

    kind = "start_workflow"
    params: ClassVar[type[StartWorkflowParams]] = StartWorkflowParams

    def references(self, params: StartWorkflowParams) -> dict[str, set[str]]:
        return {"workflows": {params.workflow}}

    def run(
        self, params: StartWorkflowParams, items: Sequence[StepItem], env: StepEnv
    ) -> list[Outcome]:
        target = env.workflows.get(params.workflow)
        outcomes = []
        for item in items:
            run = item.run
            chain = tuple(run.context.get("chain") or (env.workflow_key,))
            refusal = _refusal(params, target, chain)
            if refusal:
                outcomes.append(Outcome(run_id=run.run_id, result="refused", reason=refusal))
                continue
            effect = StartRun(
                contact_id=run.contact_id,
                workflow_key=params.workflow,
                step_id=params.step,
                chain=(*chain, params.workflow),
                trigger_event_id=run.trigger_event_id,
            )
            where = f" at {params.step}" if params.step else ""
            outcomes.append(
                Outcome(
                    run_id=run.run_id,
                    result="started",
                    reason=f"started workflow {params.workflow}{where}",
                    effects=(effect,),
                )
            )
        return outcomes


def _refusal(params: StartWorkflowParams, target: Any, chain: tuple[str, ...]) -> str | None:
    if target is None:
        return f"workflow {params.workflow} does not exist"
    if target.status != "active":
        return f"workflow {params.workflow} is {target.status}, not active"
    if params.step is not None and params.step not in target.steps:
        return f"workflow {params.workflow} has no step {params.step}"
    if params.workflow in chain or len(chain) >= MAX_CHAIN:
        path = " -> ".join((*chain, params.workflow))
        return f"not started: endless recursion stopped ({path})"
    return None


class FromEvent(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    from_event: str = Field(min_length=1, description="a property of the trigger event")


class RecordConversionParams(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1)
    value: float | FromEvent = 0.0
    currency: str = Field(default="EUR", pattern=r"^[A-Z]{3}$")

    @field_validator("value", mode="before")
    @classmethod
    def _not_a_boolean(cls, value: Any) -> Any:
        if isinstance(value, bool):
            raise ValueError(f"a conversion value is a number or {{from_event: ...}}, not {value}")
        return value

    @model_validator(mode="after")
    def _valid_value(self) -> RecordConversionParams:
        if isinstance(self.value, float):
            problem = _value_problem(self.value)
            if problem:
                raise ValueError(f"value: {problem}")
        return self


def _value_problem(value: float) -> str | None:
    if not math.isfinite(value):
        return f"{value!r} is not a finite number"
    if value < 0:
        return "a conversion is worth 0 or more"
    return None


def _amount(found: Any) -> float | str:
    """The value of a conversion from an event property, or why there is none."""
    if isinstance(found, bool) or found is None:
        return "not a number"
    try:
        value = float(found)
    except (TypeError, ValueError):
        return "not a number"
    return _value_problem(value) or value


class RecordConversionStep(StepKind):
    """Attributed to the workflow, the step and the last message the run sent."""

    kind = "record_conversion"
    params: ClassVar[type[RecordConversionParams]] = RecordConversionParams

    def needs(self, params: RecordConversionParams) -> Needs:
        return Needs(event=isinstance(params.value, FromEvent))

    def run(
        self, params: RecordConversionParams, items: Sequence[StepItem], env: StepEnv
    ) -> list[Outcome]:
        outcomes = []
        for item in items:
            run = item.run
            given = params.value
            if isinstance(given, FromEvent):
                found = property_at((item.event or {}).get("properties") or {}, given.from_event)
                amount = _amount(found)
                if isinstance(amount, str):
                    reason = f"event property {given.from_event} = {found!r}: {amount}"
                    outcomes.append(failed(run.run_id, reason))
                    continue
                value = amount
            else:
                value = given
            effect = RecordConversion(
                key=idempotency_key(item, env),
                run_id=run.run_id,
                contact_id=run.contact_id,
                workflow_id=env.workflow_id,
                step_id=env.step_id,
                name=params.name,
                value=value,
                currency=params.currency,
            )
            reason = f"conversion {params.name}: {value:g} {params.currency}"
            outcomes.append(
                Outcome(run_id=run.run_id, result="converted", reason=reason, effects=(effect,))
            )
        return outcomes
