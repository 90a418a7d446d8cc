"""Which transport sends each outbox channel, and how an outbox row becomes what it sends.

The dispatcher looks a claimed message's channel up in :data:`SENDERS` and hands the sender a
group of that channel's messages: a new channel is a transport and one entry here, not a
change to the dispatcher. Every sender returns one result per message, in order, and passes
each to ``on_result`` as soon as its transport knows it (journeyman.channels.reporting).
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Protocol

from journeyman.channels.reporting import OnResult
from journeyman.channels.webhook import WebhookTransport
from journeyman.errors import DeliveryError
from journeyman.links import workflow_secret
from journeyman.model.messages import (
    Delivered,
    OutgoingEmail,
    OutgoingSms,
    OutgoingWhatsApp,
    WebhookRequest,
    WebhookResponse,
)

__all__ = [
    "SENDERS",
    "EmailTransport",
    "Queued",
    "Result",
    "Sender",
    "TextTransport",
    "Transports",
    "message_id",
]

Result = Delivered | DeliveryError | WebhookResponse


class EmailTransport(Protocol):
    """Delivers emails; one result per input, in order. Never raises for one bad message.

    A transport that talks to a server calls ``on_result(index, result)`` for each email as
    soon as the server answered, so that the result is recorded before the batch ends (what
    a crash sends again is then only what was in flight); one that knows every result at once
    may just return them. A result not reported is recorded when ``send_many`` returns.
    A transport may set ``needs_bodies = False`` when it does not read the HTML and text
    bodies (they are then not loaded).
    """

    async def send_many(
        self,
        emails: Sequence[OutgoingEmail],
        *,
        on_result: OnResult[Delivered | DeliveryError] | None = None,
    ) -> list[Delivered | DeliveryError]: ...

    async def aclose(self) -> None: ...


class TextTransport(Protocol):
    """Delivers SMS and WhatsApp messages; one result per input, in order, each reported to
    ``on_result`` as soon as known (as :class:`EmailTransport` does)."""

    async def send_sms_many(
        self,
        messages: Sequence[OutgoingSms],
        *,
        on_result: OnResult[Delivered | DeliveryError] | None = None,
    ) -> list[Delivered | DeliveryError]: ...

    async def send_whatsapp_many(
        self,
        messages: Sequence[OutgoingWhatsApp],
        *,
        on_result: OnResult[Delivered | DeliveryError] | None = None,
    ) -> list[Delivered | DeliveryError]: ...

    async def aclose(self) -> None: ...


class Queued(Protocol):
    """An outbox row as a sender reads it (the store's claimed message)."""

    @property
    def idempotency_key(self) -> str: ...
    @property
    def sender(self) -> str: ...
    @property
    def recipient(self) -> str: ...
    @property
    def subject(self) -> str: ...
    @property
    def html(self) -> str: ...
    @property
    def text(self) -> str | None: ...
    @property
    def headers(self) -> Mapping[str, str] | None: ...
    @property
    def payload(self) -> Mapping[str, Any] | None: ...


@dataclass(frozen=True, kw_only=True)
class Transports:
    """What the senders send through. ``webhooks`` gives the webhook transport (its owner may
    make it on first use); ``signing_keys`` the secrets that verify, the current one first
    (journeyman.signing)."""

    email: EmailTransport
    texts: TextTransport
    webhooks: Callable[[], WebhookTransport]
    signing_keys: Callable[[], tuple[bytes, ...]]


Sender = Callable[[Transports, Sequence[Queued], OnResult[Result]], Awaitable[Sequence[Result]]]


def message_id(idempotency_key: str, sender: str) -> str:
    """A Message-ID that is the same on every attempt for the same outbox row."""
    domain = sender.rsplit("@", 1)[-1].strip(" >") if "@" in sender else "journeyman.invalid"
    digest = hashlib.sha256(idempotency_key.encode()).hexdigest()[:16]
    return f"<{idempotency_key.replace(':', '.')}.{digest}@{domain}>"


async def _emails(
    transports: Transports, group: Sequence[Queued], on_result: OnResult[Result]
) -> Sequence[Result]:
    emails = [
        OutgoingEmail(
            message_id=message_id(m.idempotency_key, m.sender),
            sender=m.sender,
            recipient=m.recipient,
            subject=m.subject,
            html=m.html,
            text=m.text,
            headers=dict(m.headers or {}),
        )
        for m in group
    ]
    return await transports.email.send_many(emails, on_result=on_result)


async def _sms(
    transports: Transports, group: Sequence[Queued], on_result: OnResult[Result]
) -> Sequence[Result]:
    messages = [
        OutgoingSms(
            key=m.idempotency_key, sender=m.sender, recipient=m.recipient, body=m.text or ""
        )
        for m in group
    ]
    return await transports.texts.send_sms_many(messages, on_result=on_result)


async def _whatsapp(
    transports: Transports, group: Sequence[Queued], on_result: OnResult[Result]
) -> Sequence[Result]:
    messages = [
        OutgoingWhatsApp(
            key=m.idempotency_key,
            sender=m.sender,
            recipient=m.recipient,
            template=str((m.payload or {}).get("template", "")),
            parameters=tuple((m.payload or {}).get("parameters", ())),
        )
        for m in group
    ]
    return await transports.texts.send_whatsapp_many(messages, on_result=on_result)


async def _webhooks(
    transports: Transports, group: Sequence[Queued], on_result: OnResult[Result]
) -> Sequence[Result]:
    transport = transports.webhooks()
    keys = transports.signing_keys()
    requests = [_webhook_request(m, keys) for m in group]
    return await transport.call_many(requests, on_result=on_result)


def _webhook_request(message: Queued, keys: tuple[bytes, ...]) -> WebhookRequest:
    """Signed with the workflow's secret derived from each signing secret that verifies
    (the current one first): through a rotation's grace period a receiver that knows the
    previous workflow secret still finds a signature it can check (Standard Webhooks)."""
    payload = message.payload or {}
    signed_for = payload.get("signed_for")
    signing = tuple(workflow_secret(key, str(signed_for)) for key in keys) if signed_for else ()
    return WebhookRequest(
        key=message.idempotency_key,
        method=str(payload.get("method", "POST")),
        url=str(payload.get("url", "")),
        headers=dict(payload.get("headers") or {}),
        body=payload.get("body"),
        timeout=float(payload.get("timeout", 10.0)),
        secret=signing[0] if signing else None,
        previous_secrets=signing[1:],
    )


SENDERS: Mapping[str, Sender] = MappingProxyType(
    {"email": _emails, "sms": _sms, "whatsapp": _whatsapp, "webhook": _webhooks}
)
