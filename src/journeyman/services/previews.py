"""The builder's email preview: a send_email step rendered for one contact by the real
sandboxed renderer, with the limits and the template context of sending, recording nothing.

Nothing is written: no message, no run, no event. Links are left as written (not tracked),
``{{ unsubscribe_url }}`` is inert, and ``unique_code`` draws from a secret made for the
preview alone, so no code or token in a preview is one the server would honour.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from journeyman import templating
from journeyman.conditions import Facts
from journeyman.errors import InvalidContact, InvalidWorkflow, Problem
from journeyman.model.contacts import ContactView, normalize_email
from journeyman.model.runs import RunView
from journeyman.services.context import Context
from journeyman.steps.base import StepEnv, StepItem, template_context
from journeyman.steps.messages import (
    INERT_UNSUBSCRIBE,
    SendEmail,
    SendEmailParams,
    render_preview,
)
from journeyman.store import contacts, read_transaction

MAX_CONTACT_ID = 2**63 - 1


@dataclass(frozen=True, kw_only=True)
class EmailDraft:
    """A send_email step's content as the builder has it."""

    subject: str
    html: str | None = None
    text: str | None = None
    preview_text: str | None = None
    template: str | None = None  # a name in ``templates``, when ``html`` is not given
    templates: Mapping[str, str] = field(default_factory=dict)
    workflow: str = ""  # ``{{ workflow.key }}``
    step: str = ""  # ``{{ step }}``


@dataclass(frozen=True, kw_only=True)
class RenderedEmail:
    subject: str
    html: str
    text: str | None


def preview_email(ctx: Context, email: EmailDraft, contact: str) -> RenderedEmail:
    """``email`` rendered for ``contact`` (an email address or a contact id); problems
    (:class:`InvalidWorkflow`) name the field: subject, html, text, preview_text, template,
    contact."""
    params = _params(email)
    view = _contact(ctx, contact)
    item = StepItem(
        run=RunView(
            run_id=0,
            workflow_id=0,
            version_id=0,
            contact_id=view.id,
            step_id=email.step,
            seq=0,
        ),
        contact=view,
        facts=Facts(),
    )
    env = StepEnv(
        now=ctx.clock.now(),
        workflow_key=email.workflow,
        step_id=email.step,
        list_ids={},
        secret=secrets.token_bytes(32),
        default_timezone=ctx.settings.default_timezone,
    )
    try:
        subject, html, text = render_preview(params, item, env)
    except templating.TemplateError as exc:
        raise InvalidWorkflow([_failed_part(params, item, env, exc)]) from None
    return RenderedEmail(subject=subject, html=html, text=text)


def _params(email: EmailDraft) -> SendEmailParams:
    """The step's parameters, checked as apply checks a send_email step: the model, the
    syntax of each template, then the render limits whatever the contact."""
    raw: dict[str, Any] = {
        name: value
        for name, value in (
            ("subject", email.subject),
            ("html", email.html),
            ("text", email.text),
            ("preview_text", email.preview_text),
            ("template", email.template),
        )
        if value is not None
    }
    if email.html is None and email.template is not None:
        named = email.templates.get(email.template)
        if named is not None:
            raw["html"] = named
    try:
        params = SendEmailParams.model_validate(raw)
    except ValidationError as exc:
        raise InvalidWorkflow(
            [
                Problem(
                    field=".".join(str(p) for p in e["loc"]) or None,
                    message=e["msg"].removeprefix("Value error, "),
                )
                for e in exc.errors()
            ]
        ) from None
    handler = SendEmail()
    problems = [Problem(field=f, message=m) for f, m in handler.check(params)]
    if not problems:
        for name, source, html in handler.templates(params):
            reason = templating.check_limits(source, html=html)
            if reason:
                problems.append(Problem(field=name, message=f"template: {reason}"))
    if problems:
        raise InvalidWorkflow(problems)
    return params


def _contact(ctx: Context, identifier: str) -> ContactView:
    wanted = identifier.strip()
    with read_transaction(ctx.engine) as connection:
        if wanted.isdigit():
            number = int(wanted)
            found = (
                contacts.load_contacts_txn(connection, [number]).get(number)
                if 1 <= number <= MAX_CONTACT_ID
                else None
            )
        else:
            try:
                found = contacts.contact_by_email_txn(connection, normalize_email(wanted))
            except InvalidContact as exc:
                raise InvalidWorkflow([Problem(field="contact", message=str(exc))]) from None
    if found is None:
        raise InvalidWorkflow([Problem(field="contact", message=f"no contact {identifier!r}")])
    return found


def _failed_part(
    params: SendEmailParams, item: StepItem, env: StepEnv, error: templating.TemplateError
) -> Problem:
    """The field whose template failed: the parts rendered one by one (a message renders
    as one combined template, whose error does not say which part it came from)."""
    context = {**template_context(item, env), "unsubscribe_url": INERT_UNSUBSCRIBE}
    for name, source, html in SendEmail().templates(params):
        try:
            templating.render(source, context, html=html)
        except templating.TemplateError as exc:
            return Problem(field=name, message=f"template: {exc}")
    return Problem(field="html", message=f"template: {error}")
