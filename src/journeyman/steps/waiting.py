"""Wait for an event: ``then`` when it happens in time, ``else`` at the timeout.

(Not ``yes``/``no``: YAML reads those words as booleans.)

The run parks on this step until its timeout; the engine wakes it early when a matching
event of the contact arrives (``engine/lifecycle.py``), optionally correlated with the event
that started the run (``same: cart_id``: the same cart). The step then runs again and reads
what happened from the run's context.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from journeyman.conditions import Comparison
from journeyman.conditions.rules import Needs
from journeyman.model.events import property_at
from journeyman.model.runs import Outcome
from journeyman.steps.base import StepEnv, StepItem, StepKind, contact_zone
from journeyman.steps.timing import DelayParams


class WaitForEventParams(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    event: str = Field(min_length=1)
    where: dict[str, Comparison] = Field(default_factory=dict)
    same: str | None = Field(
        default=None, description="a property that must equal the trigger event's"
    )
    timeout: DelayParams


class WaitForEvent(StepKind):
    kind = "wait_for_event"
    params: ClassVar[type[WaitForEventParams]] = WaitForEventParams
    branches = ("then", "else")

    def needs(self, params: WaitForEventParams) -> Needs:
        # a timeout in days, weeks or months ends on the contact's own wall clock
        return Needs(event=params.same is not None, contact=params.timeout.moves_wall_clock())

    def run(
        self, params: WaitForEventParams, items: Sequence[StepItem], env: StepEnv
    ) -> list[Outcome]:
        return [self._one(params, item, env) for item in items]

    def _one(self, params: WaitForEventParams, item: StepItem, env: StepEnv) -> Outcome:
        run = item.run
        context = dict(run.context)
        waiting = context.get("waiting")
        if isinstance(waiting, dict) and waiting.get("step") == env.step_id:
            return self._resume(params, run.run_id, context, waiting, env.now)
        until = params.timeout.wake_from(env.now, contact_zone(item, env))
        same_value = None
        if params.same is not None:
            same_value = property_at((item.event or {}).get("properties") or {}, params.same)
        context["waiting"] = {
            "step": env.step_id,
            "event": params.event,
            "until": until.isoformat(),
            "same": same_value,
        }
        also = f" with {params.same} = {same_value!r}" if params.same else ""
        return Outcome(
            run_id=run.run_id,
            result="waiting",
            branch=None,
            reason=f"wait for {params.event}{also} until {until.isoformat()}",
            park=True,
            wait_until=until,
            context=context,
        )

    def _resume(
        self,
        params: WaitForEventParams,
        run_id: int,
        context: dict[str, Any],
        waiting: dict[str, Any],
        now: dt.datetime,
    ) -> Outcome:
        matched = context.pop("matched", None)
        until = dt.datetime.fromisoformat(str(waiting["until"]))
        if matched is None and now < until:  # woken early without a match: wait on
            return Outcome(
                run_id=run_id,
                result="waiting",
                branch=None,
                reason=f"still waiting for {params.event} until {until.isoformat()}",
                park=True,
                wait_until=until,
                context=context,
            )
        del context["waiting"]
        if matched is not None:
            context.setdefault("waited", {})[waiting["step"]] = matched
            reason = f"{params.event} arrived (event {matched.get('id')})"
            return Outcome(
                run_id=run_id, result="arrived", branch="then", reason=reason, context=context
            )
        reason = f"no {params.event} by {until.isoformat()}"
        return Outcome(
            run_id=run_id, result="timed out", branch="else", reason=reason, context=context
        )
