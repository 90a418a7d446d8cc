"""Messages: send email (rendered here, delivered later by the dispatcher).

With a public URL (``JOURNEYMAN_PUBLIC_URL``) a marketing email gets a visible unsubscribe
link (``{{ unsubscribe_url }}`` where the author put it, else a footer) and, unless the step
says ``track: false``, an open pixel and links rewritten through ``/t/c/``: signed tokens
the HTTP API checks before it records an event (journeyman.tracking, journeyman.links).
Without one, nothing would answer those links, so the HTML is left as rendered and
``{{ unsubscribe_url }}`` is the ``mailto:`` address of the List-Unsubscribe header.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field, model_validator

from journeyman import links, templating, tracking
from journeyman.conditions.rules import Needs
from journeyman.model.effects import QueueEmail
from journeyman.model.runs import Outcome
from journeyman.steps.base import (
    StepEnv,
    StepItem,
    StepKind,
    idempotency_key,
    template_context,
    template_failed,
)

DEFAULT_SENDER = "Journeyman <noreply@journeyman.invalid>"


class SendEmailParams(BaseModel):
    """An email from templates: ``subject`` and ``html`` (or a ``template``: a name in the
    document's ``templates:`` or, from the command line, a file; inlined at apply time), an
    optional plain-text ``text`` and a sender ``from``."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    subject: str = Field(min_length=1)
    html: str | None = None
    template: str | None = Field(
        default=None,
        description="a name in the document's templates, or (command line only) the path of "
        "an HTML file relative to the workflow file",
    )
    text: str | None = None
    from_: str | None = Field(default=None, alias="from")
    preview_text: str | None = Field(
        default=None, description="the inbox preview line (a hidden preheader in the HTML)"
    )
    unsubscribe: bool = Field(
        default=True,
        description="List-Unsubscribe headers and an unsubscribe link; off only for "
        "transactional mail",
    )
    track: bool = Field(
        default=True,
        description="an open pixel and tracked links (with a public URL); off e.g. for "
        "transactional mail",
    )

    @model_validator(mode="after")
    def _has_body(self) -> SendEmailParams:
        if not self.html and not self.template:
            raise ValueError("give the email body as html or as a template")
        return self


class SendEmail(StepKind):
    kind = "send_email"
    sends_message = True
    params: ClassVar[type[SendEmailParams]] = SendEmailParams

    def needs(self, params: SendEmailParams) -> Needs:
        return Needs(contact=True, event=True)

    def templates(self, params: SendEmailParams) -> list[tuple[str, str, bool]]:
        return [
            ("subject", params.subject, False),
            ("html", params.html or "", True),
            ("text", params.text or "", False),
            ("from", params.from_ or "", False),
            ("preview_text", params.preview_text or "", True),
        ]

    def check(self, params: SendEmailParams) -> list[tuple[str, str]]:
        problems = []
        if params.html is None:
            problems.append(
                (
                    "template",
                    f"template {params.template!r} is not in the document's templates "
                    "(the HTTP API reads no files: give the HTML in templates: or in html)",
                )
            )
        for name, source, html in (
            ("subject", params.subject, False),
            ("html", params.html or "", True),
            ("text", params.text or "", False),
            ("from", params.from_ or "", False),
            ("preview_text", params.preview_text or "", True),
        ):
            error = templating.check_template(source, html=html)
            if error:
                problems.append((name, f"template error: {error}"))
        return problems

    def run(
        self, params: SendEmailParams, items: Sequence[StepItem], env: StepEnv
    ) -> list[Outcome]:
        return [self._one(params, item, env) for item in items]

    def _one(self, params: SendEmailParams, item: StepItem, env: StepEnv) -> Outcome:
        run, contact = item.run, item.contact
        key = idempotency_key(item, env)
        context = template_context(item, env)
        unsubscribe_url = None
        if params.unsubscribe:
            unsubscribe_url = (
                links.unsubscribe_url(env.secret, run.contact_id, key, env.public_url)
                if env.public_url
                else links.unsubscribe_mailto(
                    env.secret, run.contact_id, key, params.from_ or DEFAULT_SENDER
                )
            )
            context["unsubscribe_url"] = unsubscribe_url
        try:
            subject, html, text, sender = _template(params).render(context)
        except templating.TemplateError as exc:
            return template_failed(run.run_id, exc, env.now)
        suppressed = _suppression(item)
        headers = None
        if params.unsubscribe:
            headers = links.unsubscribe_headers(
                env.secret, run.contact_id, key, sender, env.public_url
            )
        if env.public_url:
            html, text = _tracked(params, env, run.contact_id, key, unsubscribe_url, html, text)
        effect = QueueEmail(
            idempotency_key=key,
            run_id=run.run_id,
            workflow_id=run.workflow_id,
            step_id=env.step_id,
            contact_id=run.contact_id,
            recipient=contact.email if contact else None,
            sender=sender,
            subject=subject,
            html=html,
            text=text,
            suppressed=suppressed,
            headers=headers,
        )
        if suppressed:
            return Outcome(
                run_id=run.run_id, result="suppressed", reason=suppressed, effects=(effect,)
            )
        return Outcome(
            run_id=run.run_id,
            result="queued",
            reason=f"email {subject!r} queued for {effect.recipient}",
            effects=(effect,),
        )


INERT_UNSUBSCRIBE = "#unsubscribe"  # what a preview shows for {{ unsubscribe_url }}


def render_preview(
    params: SendEmailParams, item: StepItem, env: StepEnv
) -> tuple[str, str, str | None]:
    """(subject, html, text) as the step renders them for ``item``'s contact, with the same
    template context, without tracking and with an inert unsubscribe link: what the builder
    shows, nothing anybody could follow to record an open, a click or an unsubscribe."""
    context = template_context(item, env)
    context["unsubscribe_url"] = INERT_UNSUBSCRIBE
    subject, html, text, _ = _template(params).render(context)
    return subject, html, text


@lru_cache(maxsize=1024)
def _template(params: SendEmailParams) -> templating.MessageTemplate:
    html = params.html or ""
    if params.preview_text:
        html = _with_preheader(html, params.preview_text)
    return templating.MessageTemplate(
        params.subject, html, params.text, params.from_ or DEFAULT_SENDER
    )


def _tracked(
    params: SendEmailParams,
    env: StepEnv,
    contact_id: int,
    key: str,
    unsubscribe_url: str | None,
    html: str,
    text: str | None,
) -> tuple[str, str | None]:
    """The unsubscribe footer (when the author did not place the link), tracked links and
    the open pixel; the text part gets the unsubscribe address too."""
    base = (env.public_url or "").rstrip("/")
    if unsubscribe_url is not None:
        if unsubscribe_url not in html:
            html = tracking.append_to_body(html, tracking.footer(unsubscribe_url))
        if text is not None and unsubscribe_url not in text:
            text = f"{text.rstrip()}\n\nUnsubscribe: {unsubscribe_url}\n"
    if not params.track:
        return html, text
    ours = (f"{base}/t/", f"{base}/unsubscribe/")

    def target(address: str) -> str | None:
        if address.startswith(ours):
            return None  # the unsubscribe link, or a link rewritten already
        return f"{base}/t/c/{links.sign(env.secret, links.CLICK, contact_id, key, address)}"

    html = tracking.rewrite_links(html, target)
    opened = links.sign(env.secret, links.OPEN, contact_id, key)
    return tracking.append_to_body(html, tracking.pixel(f"{base}/t/o/{opened}")), text


_PREHEADER = '<div style="display:none;max-height:0;overflow:hidden;mso-hide:all">{}</div>'


def _with_preheader(html: str, preview: str) -> str:
    """The preview text first in the body, hidden: what inboxes show next to the subject."""
    block = _PREHEADER.format(preview)
    at = html.lower().find("<body")
    if at >= 0:
        end = html.find(">", at)
        if end >= 0:
            return html[: end + 1] + block + html[end + 1 :]
    return block + html


def _suppression(item: StepItem) -> str | None:
    contact = item.contact
    if contact is None:
        return "contact no longer exists"
    if not contact.email:
        return "contact has no email address"
    if contact.email_blocklisted:
        return "contact is blocklisted for email"
    return None
