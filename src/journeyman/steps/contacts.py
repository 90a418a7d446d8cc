"""Contact actions: update an attribute, blocklist."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from journeyman import templating
from journeyman.conditions.rules import Needs
from journeyman.errors import InvalidContact
from journeyman.model.contacts import AttributeType, coerce_attribute
from journeyman.model.effects import AddToAttribute, Blocklist, Effect, SetAttribute
from journeyman.model.runs import Outcome
from journeyman.steps.base import (
    StepEnv,
    StepItem,
    StepKind,
    failed,
    template_context,
    template_failed,
)


class UpdateAttributeParams(BaseModel):
    """Exactly one of ``set`` (a value or a template), ``clear: true``, ``add``, ``subtract``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1)
    set: str | int | float | bool | None = None
    clear: bool = False
    # strict: ``add: true`` is a mistake, not 1; a NaN or infinite delta would poison the value
    add: float | None = Field(default=None, strict=True, allow_inf_nan=False)
    subtract: float | None = Field(default=None, strict=True, allow_inf_nan=False)

    @model_validator(mode="after")
    def _one_change(self) -> UpdateAttributeParams:
        given = [
            k
            for k, v in (
                ("set", self.set),
                ("clear", self.clear or None),
                ("add", self.add),
                ("subtract", self.subtract),
            )
            if v is not None
        ]
        if len(given) != 1:
            raise ValueError(
                f"give exactly one of set, clear, add, subtract; got {given or 'none'}"
            )
        if isinstance(self.set, float) and not math.isfinite(self.set):
            raise ValueError(f"set: {self.set!r} is not a finite number")
        if isinstance(self.set, str):
            error = templating.check_template(self.set, html=False)
            if error:
                raise ValueError(f"set: template error: {error}")
        return self

    @property
    def delta(self) -> float | None:
        if self.add is not None:
            return self.add
        return -self.subtract if self.subtract is not None else None


class UpdateAttribute(StepKind):
    kind = "update_attribute"
    params: ClassVar[type[UpdateAttributeParams]] = UpdateAttributeParams

    def templates(self, params: UpdateAttributeParams) -> list[tuple[str, str, bool]]:
        return [("set", params.set, False)] if isinstance(params.set, str) else []

    def needs(self, params: UpdateAttributeParams) -> Needs:
        return Needs(contact=isinstance(params.set, str), event=isinstance(params.set, str))

    def references(self, params: UpdateAttributeParams) -> dict[str, set[str]]:
        return {"attributes": {params.name.upper()}}

    def run(
        self, params: UpdateAttributeParams, items: Sequence[StepItem], env: StepEnv
    ) -> list[Outcome]:
        name = params.name.upper()
        definition = env.attributes.get(name)
        if definition is None:
            reason = f"attribute {name} is not defined"
            return [failed(i.run.run_id, reason) for i in items]
        delta = params.delta
        if delta is not None:
            if definition.type is not AttributeType.NUMBER:
                reason = f"attribute {name} is {definition.type.value}, not a number"
                return [failed(i.run.run_id, reason) for i in items]
            verb = f"added {delta:g} to" if delta >= 0 else f"subtracted {-delta:g} from"
            return [
                Outcome(
                    run_id=i.run.run_id,
                    result="changed",
                    reason=f"{verb} {name}",
                    effects=(AddToAttribute(contact_id=i.run.contact_id, name=name, delta=delta),),
                )
                for i in items
            ]
        return [self._set(params, name, item, env) for item in items]

    def _set(
        self, params: UpdateAttributeParams, name: str, item: StepItem, env: StepEnv
    ) -> Outcome:
        run = item.run
        raw: Any = None
        if not params.clear:
            raw = params.set
            if isinstance(raw, str):
                try:
                    raw = templating.render(raw, template_context(item, env), html=False)
                except templating.TemplateError as exc:
                    return template_failed(run.run_id, exc, env.now)
                if not raw.strip():  # a missing value must not wipe the stored one
                    reason = (
                        f"set {name}: the template rendered nothing, so {name} was kept "
                        "(to clear it, write clear: true)"
                    )
                    return failed(run.run_id, reason)
        try:
            value = coerce_attribute(env.attributes[name], raw)
        except InvalidContact as exc:
            return failed(run.run_id, str(exc))
        if isinstance(value, float) and not math.isfinite(value):  # a template gave "nan"
            reason = f"attribute {name}: expected a finite number, got {raw!r}"
            return failed(run.run_id, reason)
        effect: Effect = SetAttribute(contact_id=run.contact_id, name=name, value=value)
        reason = f"cleared {name}" if value is None else f"set {name} to {value!r}"
        return Outcome(run_id=run.run_id, result="changed", reason=reason, effects=(effect,))


class BlocklistParams(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    channels: Literal["email", "sms", "both"] = "both"


class BlocklistContact(StepKind):
    kind = "blocklist"
    params: ClassVar[type[BlocklistParams]] = BlocklistParams

    def run(
        self, params: BlocklistParams, items: Sequence[StepItem], env: StepEnv
    ) -> list[Outcome]:
        email, sms = params.channels in ("email", "both"), params.channels in ("sms", "both")
        what = {"email": "email", "sms": "SMS", "both": "email and SMS"}[params.channels]
        return [
            Outcome(
                run_id=i.run.run_id,
                result="blocklisted",
                reason=f"blocklisted for {what}",
                effects=(Blocklist(contact_id=i.run.contact_id, email=email, sms=sms),),
            )
            for i in items
        ]
