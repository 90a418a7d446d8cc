"""Outbound messages as the dispatcher hands them to a transport."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


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
