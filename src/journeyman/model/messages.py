"""Outbound messages as the dispatcher hands them to a transport."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, kw_only=True)
class OutgoingEmail:
    """An email rendered by the engine, ready to be turned into MIME and delivered.

    ``message_id`` is stable across retries (derived from the outbox idempotency key), so a
    receiver can recognise a redelivery.
    """

    message_id: str
    sender: str
    recipient: str
    subject: str
    html: str
    text: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class Delivered:
    """The transport accepted the message; ``provider_id`` is what the provider calls it."""

    provider_id: str


@dataclass(frozen=True, kw_only=True)
class OutgoingSms:
    """A rendered SMS. ``key`` (the outbox idempotency key) is stable across retries and sent
    to the provider so it can drop a redelivery; an empty ``sender`` means the provider
    settings' default number."""

    key: str
    sender: str
    recipient: str
    body: str


@dataclass(frozen=True, kw_only=True)
class OutgoingWhatsApp:
    """A WhatsApp template message: WhatsApp only delivers approved templates, filled with
    positional ``parameters`` ({{1}}, {{2}}, ...). Numbers are E.164 (``+4915...``), with or
    without the ``whatsapp:`` prefix; an empty ``sender`` means the settings' default."""

    key: str
    sender: str
    recipient: str
    template: str
    parameters: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class WebhookRequest:
    """One HTTP call of a webhook step. ``key`` is stable across retries: it is sent as
    ``Idempotency-Key`` and, when ``secret`` is set, as the signed ``webhook-id``. ``body`` is
    JSON-able (sent as JSON) or None (no body). ``timeout`` bounds the whole call, in seconds."""

    key: str
    method: str
    url: str
    headers: Mapping[str, str] = field(default_factory=dict)
    body: Any = None
    timeout: float = 10.0
    secret: str | None = field(default=None, repr=False)
    # Also signed with these (a rotation's grace period): one more signature in the header.
    previous_secrets: tuple[str, ...] = field(default=(), repr=False)


@dataclass(frozen=True, kw_only=True)
class WebhookResponse:
    """The HTTP answer to a webhook call. ``json`` is the parsed body when it is JSON (else
    None); ``text`` the body as text, cut to 64 KiB."""

    status: int
    json: Any | None
    text: str
    headers: Mapping[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """A 2xx answer: the success branch."""
        return 200 <= self.status < 300
