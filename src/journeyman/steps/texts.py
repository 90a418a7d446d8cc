"""Messages to phones: send SMS, send WhatsApp (approved templates only)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, field_validator

from journeyman import templating
from journeyman.conditions.rules import Needs
from journeyman.model.effects import QueueMessage
from journeyman.model.runs import Outcome
from journeyman.steps.base import (
    StepEnv,
    StepItem,
    StepKind,
    idempotency_key,
    template_context,
    template_failed,
)


def _template(value: str) -> str:
    error = templating.check_template(value, html=False)
    if error:
        raise ValueError(f"template error: {error}")
    return value


class SmsParams(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    text: str = Field(min_length=1, max_length=1600, description="the message (a template)")
    from_: str | None = Field(
        default=None, alias="from", description="sender id; default: the provider's number"
    )

    _check = field_validator("text")(_template)


class WhatsAppParams(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    template: str = Field(min_length=1, description="the approved template's name (or id)")
    parameters: list[str] = Field(default_factory=list, description="templates, in order")

    @field_validator("parameters")
    @classmethod
    def _check_parameters(cls, values: list[str]) -> list[str]:
        for value in values:
            _template(value)
        return values


def _mobile_suppression(item: StepItem, number: str | None) -> str | None:
    if item.contact is None:
        return "contact no longer exists"
    if not number:
        return "contact has no number for this channel"
    if item.contact.sms_blocklisted:
        return "contact is blocklisted for SMS"
    return None


class _TextStep(StepKind):
    channel: ClassVar[str]
    sends_message = True

    def needs(self, params: Any) -> Needs:
        return Needs(contact=True, event=True)

    def templates(self, params: Any) -> list[tuple[str, str, bool]]:
        if isinstance(params, SmsParams):
            return [("text", params.text, False)]
        return [(f"parameters.{i}", p, False) for i, p in enumerate(params.parameters)]

    def run(self, params: Any, items: Sequence[StepItem], env: StepEnv) -> list[Outcome]:
        return [self._one(params, item, env) for item in items]

    def _one(self, params: Any, item: StepItem, env: StepEnv) -> Outcome:
        run = item.run
        key = idempotency_key(item, env)
        number = self._number(item)
        try:
            text, payload = self._content(params, template_context(item, env))
        except templating.TemplateError as exc:
            return template_failed(run.run_id, exc, env.now)
        suppressed = _mobile_suppression(item, number)
        effect = QueueMessage(
            key=key,
            run_id=run.run_id,
            workflow_id=run.workflow_id,
            step_id=env.step_id,
            contact_id=run.contact_id,
            channel=self.channel,
            recipient=number,
            sender=getattr(params, "from_", None) or "",
            text=text,
            payload=payload,
            suppressed=suppressed,
        )
        if suppressed:
            return Outcome(
                run_id=run.run_id, result="suppressed", reason=suppressed, effects=(effect,)
            )
        reason = f"{self.channel} queued for {number}"
        return Outcome(run_id=run.run_id, result="queued", reason=reason, effects=(effect,))

    def _number(self, item: StepItem) -> str | None:
        raise NotImplementedError

    def _content(self, params: Any, context: dict[str, Any]) -> tuple[str | None, Any]:
        raise NotImplementedError


class SendSms(_TextStep):
    """To the contact's SMS number (E.164); suppressed without one or when blocklisted."""

    kind = "send_sms"
    channel = "sms"
    params: ClassVar[type[SmsParams]] = SmsParams

    def _number(self, item: StepItem) -> str | None:
        return item.contact.sms if item.contact else None

    def _content(self, params: SmsParams, context: dict[str, Any]) -> tuple[str | None, Any]:
        return templating.render(params.text, context, html=False), None


class SendWhatsApp(_TextStep):
    """An approved WhatsApp template with its parameters, to the contact's WhatsApp number."""

    kind = "send_whatsapp"
    channel = "whatsapp"
    params: ClassVar[type[WhatsAppParams]] = WhatsAppParams

    def _number(self, item: StepItem) -> str | None:
        return item.contact.whatsapp if item.contact else None

    def _content(self, params: WhatsAppParams, context: dict[str, Any]) -> tuple[str | None, Any]:
        rendered = [templating.render(p, context, html=False) for p in params.parameters]
        return None, {"template": params.template, "parameters": rendered}
