"""Send notification: an internal email to the team about a contact (not to the contact)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from journeyman import templating
from journeyman.conditions.rules import Needs
from journeyman.errors import InvalidContact
from journeyman.model.contacts import normalize_email
from journeyman.model.effects import Effect, QueueEmail
from journeyman.model.runs import Outcome
from journeyman.steps.base import (
    StepEnv,
    StepItem,
    StepKind,
    idempotency_key,
    template_context,
    template_failed,
)
from journeyman.steps.messages import DEFAULT_SENDER

DEFAULT_SUBJECT = "{{ contact.email }} reached {{ step }} in workflow {{ workflow.key }}"
DEFAULT_TEXT = (
    "Contact {{ contact.email }} (id {{ contact.id }}) reached step {{ step }} "
    "of workflow {{ workflow.key }}."
)


class NotificationParams(BaseModel):
    """Recipients: fixed addresses (``to``), the contact's owner (``to_owner``), and/or an
    address held in a contact attribute (``to_attribute``)."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    to: list[str] = Field(default_factory=list)
    to_owner: bool = False
    to_attribute: str | None = None
    subject: str = DEFAULT_SUBJECT
    text: str = DEFAULT_TEXT
    from_: str | None = Field(default=None, alias="from")

    @field_validator("to")
    @classmethod
    def _addresses(cls, values: list[str]) -> list[str]:
        try:
            return [normalize_email(v) for v in values]
        except InvalidContact as exc:
            raise ValueError(str(exc)) from None

    @model_validator(mode="after")
    def _has_recipient(self) -> NotificationParams:
        if not (self.to or self.to_owner or self.to_attribute):
            raise ValueError("give recipients: to, to_owner or to_attribute")
        for name, source in (("subject", self.subject), ("text", self.text)):
            error = templating.check_template(source, html=False)
            if error:
                raise ValueError(f"{name}: template error: {error}")
        return self


class SendNotification(StepKind):
    kind = "send_notification"
    params: ClassVar[type[NotificationParams]] = NotificationParams

    def needs(self, params: NotificationParams) -> Needs:
        return Needs(contact=True, event=True)

    def templates(self, params: NotificationParams) -> list[tuple[str, str, bool]]:
        return [("subject", params.subject, False), ("text", params.text, False)]

    def references(self, params: NotificationParams) -> dict[str, set[str]]:
        return {"attributes": {params.to_attribute.upper()}} if params.to_attribute else {}

    def reference_field(self, params: NotificationParams, kind: str, name: str) -> str:
        return "to_attribute"

    def run(
        self, params: NotificationParams, items: Sequence[StepItem], env: StepEnv
    ) -> list[Outcome]:
        return [self._one(params, item, env) for item in items]

    def _one(self, params: NotificationParams, item: StepItem, env: StepEnv) -> Outcome:
        run = item.run
        context = template_context(item, env)
        try:
            subject = templating.render(params.subject, context, html=False).strip()
            text = templating.render(params.text, context, html=False)
        except templating.TemplateError as exc:
            return template_failed(run.run_id, exc, env.now)
        recipients, missing = _recipients(params, item, env)
        key = idempotency_key(item, env)
        effects: list[Effect] = [
            QueueEmail(
                idempotency_key=f"{key}:{index}",
                run_id=run.run_id,
                workflow_id=run.workflow_id,
                step_id=env.step_id,
                contact_id=run.contact_id,
                recipient=address,
                sender=params.from_ or DEFAULT_SENDER,
                subject=subject,
                html=f"<pre>{templating.render('{{ t }}', {'t': text}, html=True)}</pre>",
                text=text,
            )
            for index, address in enumerate(recipients)
        ]
        reason = f"notified {', '.join(recipients)}" if recipients else "nobody to notify"
        if missing:
            reason += f" ({'; '.join(missing)})"
        result = "queued" if recipients else "suppressed"
        return Outcome(run_id=run.run_id, result=result, reason=reason, effects=tuple(effects))


def _recipients(
    params: NotificationParams, item: StepItem, env: StepEnv
) -> tuple[list[str], list[str]]:
    found, missing = list(params.to), []
    contact = item.contact
    if params.to_owner:
        owner = env.owners.get(contact.owner_id) if contact and contact.owner_id else None
        if owner:
            found.append(owner)
        else:
            missing.append("the contact has no owner")
    if params.to_attribute:
        raw = contact.attributes.get(params.to_attribute.upper()) if contact else None
        try:
            found.append(normalize_email(str(raw or "")))
        except InvalidContact:
            missing.append(f"{params.to_attribute.upper()} holds no email address ({raw!r})")
    return list(dict.fromkeys(found)), missing
