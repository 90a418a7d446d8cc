"""Call webhook: an HTTP request whose answer later steps can use.

The request goes through the outbox (never from inside the engine's transaction): the step
queues it and parks the run on itself; the dispatcher makes the call (retries with backoff on
5xx, 429 and timeouts, none on other 4xx), stores the answer in the run's context under
``webhook.<step id>`` (``ok``, ``status``, ``json``) and wakes the run; the step then takes
its ``success`` or ``failure`` way out.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, Literal

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


class WebhookParams(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    url: str = Field(min_length=1, description="http(s) URL; a template")
    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE"] = "POST"
    headers: dict[str, str] = Field(default_factory=dict, description="values are templates")
    body: Any = Field(default=None, description="JSON; its strings are templates")
    timeout: float = Field(default=10.0, gt=0, le=60, description="seconds per attempt")
    retries: int = Field(default=3, ge=0, le=10, description="attempts after the first")
    sign: bool = Field(default=True, description="Standard Webhooks signature headers")

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://", "{{")):
            raise ValueError("an http:// or https:// URL")
        return _checked(value)

    @field_validator("headers")
    @classmethod
    def _headers(cls, values: dict[str, str]) -> dict[str, str]:
        for name, value in values.items():
            if not _TOKEN.fullmatch(name):
                raise ValueError(f"header name {name!r} is invalid; expected e.g. X-Api-Key")
            if name.lower() in _RESERVED_HEADERS:
                raise ValueError(f"header {name!r} is set by Journeyman; remove it from headers")
            _checked(value)
        return values

    @field_validator("body")
    @classmethod
    def _body(cls, value: Any) -> Any:
        _walk_strings(value, _checked)
        return value


def _checked(source: str) -> str:
    error = templating.check_template(source, html=False)
    if error:
        raise ValueError(f"template error: {error}")
    return source


# RFC 9110 field names. Framing and connection headers would corrupt the request (a
# Content-Length of its own crashed the HTTP client); the others the transport sets itself.
_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
_RESERVED_HEADERS = frozenset(
    {
        "connection",
        "content-length",
        "expect",
        "host",
        "keep-alive",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "idempotency-key",
        "webhook-id",
        "webhook-signature",
        "webhook-timestamp",
    }
)


class CallWebhook(StepKind):
    kind = "call_webhook"
    params: ClassVar[type[WebhookParams]] = WebhookParams
    branches = ("success", "failure")

    def needs(self, params: WebhookParams) -> Needs:
        return Needs(contact=True, event=True)

    def templates(self, params: WebhookParams) -> list[tuple[str, str, bool]]:
        found = [("url", params.url, False)]
        found += [(f"headers.{k}", v, False) for k, v in params.headers.items()]
        _walk_strings(params.body, lambda source: found.append(("body", source, False)))
        return found

    def run(self, params: WebhookParams, items: Sequence[StepItem], env: StepEnv) -> list[Outcome]:
        return [self._one(params, item, env) for item in items]

    def _one(self, params: WebhookParams, item: StepItem, env: StepEnv) -> Outcome:
        run = item.run
        context = dict(run.context)
        answer = (context.get("webhook") or {}).get(env.step_id)
        pending = context.get("pending")
        if pending and isinstance(answer, Mapping) and answer.get("key") == pending:
            del context["pending"]
            ok = bool(answer.get("ok"))
            what = f"HTTP {answer['status']}" if answer.get("status") else answer.get("error")
            return Outcome(
                run_id=run.run_id,
                result="success" if ok else "failure",
                branch="success" if ok else "failure",
                reason=f"webhook answered: {what}",
                context=context,
            )
        key = idempotency_key(item, env)
        values = template_context(item, env)
        try:
            url = templating.render(params.url, values, html=False).strip()
            headers = {
                k: templating.render(v, values, html=False).strip()
                for k, v in params.headers.items()
            }
            body = _render_json(params.body, values)
        except templating.TemplateError as exc:
            return template_failed(run.run_id, exc, env.now)
        broken = [k for k, v in headers.items() if any(c in v for c in "\r\n\0")]
        if broken:
            error = f"not called: header {broken[0]} would hold a line break or NUL"
            return _not_called(run.run_id, env.step_id, key, context, error)
        request = {
            "method": params.method,
            "url": url,
            "headers": headers,
            "body": body,
            "timeout": params.timeout,
            "attempts": params.retries + 1,
            # the dispatcher derives the signing secret (links.workflow_secret): it is never
            # stored in the outbox
            "signed_for": env.workflow_key if params.sign else None,
        }
        effect = QueueMessage(
            key=key,
            run_id=run.run_id,
            workflow_id=run.workflow_id,
            step_id=env.step_id,
            contact_id=run.contact_id,
            channel="webhook",
            recipient=url[:320],
            sender="",
            payload=request,
        )
        return Outcome(
            run_id=run.run_id,
            result="called",
            branch=None,
            reason=f"{params.method} {url} (waiting for the answer)",
            effects=(effect,),
            park=True,
            context={**context, "pending": key},
        )


def _walk_strings(value: Any, check: Any) -> None:
    if isinstance(value, str):
        check(value)
    elif isinstance(value, list):
        for item in value:
            _walk_strings(item, check)
    elif isinstance(value, dict):
        for item in value.values():
            _walk_strings(item, check)


def _not_called(
    run_id: int, step_id: str, key: str, context: dict[str, Any], error: str
) -> Outcome:
    """The failure way out without a call: the contact's data made the request invalid (a
    retry would send the same), as when the transport refuses a URL."""
    answer = {"key": key, "ok": False, "status": None, "json": None, "error": error}
    webhook = {**context.get("webhook", {}), step_id: answer}
    return Outcome(
        run_id=run_id,
        result="failure",
        branch="failure",
        reason=error,
        context={**context, "webhook": webhook},
    )


def _render_json(value: Any, values: Mapping[str, Any]) -> Any:
    if isinstance(value, str):
        return templating.render(value, values, html=False)
    if isinstance(value, list):
        return [_render_json(v, values) for v in value]
    if isinstance(value, dict):
        return {k: _render_json(v, values) for k, v in value.items()}
    return value
