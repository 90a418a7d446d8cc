"""The dispatcher: lease due outbox messages, hand them to a transport outside any database
transaction, record the results (retry with backoff, or fail) in one transaction."""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from sqlalchemy.engine import Engine

from journeyman.channels.sms import SmsCaptureTransport
from journeyman.channels.webhook import WebhookTransport
from journeyman.clock import Clock
from journeyman.engine.claims import worker_claim
from journeyman.errors import DeliveryError, PermanentDeliveryError, TransientDeliveryError
from journeyman.model.messages import (
    Delivered,
    OutgoingEmail,
    OutgoingSms,
    OutgoingWhatsApp,
    WebhookRequest,
    WebhookResponse,
)
from journeyman.model.retry import RetryPolicy
from journeyman.signing import FixedKeys, SigningKeys
from journeyman.steps.webhook import workflow_secret
from journeyman.store import outbox, transaction
from journeyman.store.outbox import ClaimedMessage, DeliveryRecord

logger = logging.getLogger(__name__)


class EmailTransport(Protocol):
    """Delivers emails; one result per input, in order. Never raises for one bad message.

    A transport may set ``needs_bodies = False`` when it does not read the HTML and text
    bodies (they are then not loaded).
    """

    async def send_many(
        self, emails: Sequence[OutgoingEmail]
    ) -> list[Delivered | DeliveryError]: ...

    async def aclose(self) -> None: ...


@dataclass(frozen=True, kw_only=True)
class DispatchSettings:
    batch_size: int = 500
    lease: dt.timedelta = dt.timedelta(minutes=5)
    policy: RetryPolicy = field(default_factory=RetryPolicy)
    # Random unless given (journeyman.signing: there is no built-in secret).
    keys: SigningKeys = field(default_factory=lambda: FixedKeys(secrets.token_bytes(32)))


def message_id(idempotency_key: str, sender: str) -> str:
    """A Message-ID that is the same on every attempt for the same outbox row."""
    domain = sender.rsplit("@", 1)[-1].strip(" >") if "@" in sender else "journeyman.invalid"
    digest = hashlib.sha256(idempotency_key.encode()).hexdigest()[:16]
    return f"<{idempotency_key.replace(':', '.')}.{digest}@{domain}>"


def to_email(message: ClaimedMessage) -> OutgoingEmail:
    return OutgoingEmail(
        message_id=message_id(message.idempotency_key, message.sender),
        sender=message.sender,
        recipient=message.recipient,
        subject=message.subject,
        html=message.html,
        text=message.text,
        headers=dict(message.headers or {}),
    )


class Dispatcher:
    """Delivers every channel of the outbox: emails through ``transport``, SMS and WhatsApp
    through ``texts`` (captured when none is given), webhook calls through ``webhooks``
    (calls to private networks refused unless the transport allows them)."""

    def __init__(
        self,
        engine: Engine,
        transport: EmailTransport,
        clock: Clock,
        settings: DispatchSettings | None = None,
        *,
        texts: TextTransport | None = None,
        webhooks: WebhookTransport | None = None,
    ) -> None:
        self._engine = engine
        self._transport = transport
        self._clock = clock
        self._settings = settings or DispatchSettings()
        self._texts: TextTransport = texts or SmsCaptureTransport()
        self._webhooks = webhooks
        self._own_webhooks = webhooks is None
        self.claim = worker_claim()

    async def aclose(self) -> None:
        """Close what the dispatcher made itself (not the transports it was given)."""
        if self._own_webhooks and self._webhooks is not None:
            await self._webhooks.aclose()
            self._webhooks = None

    async def close_transports(self) -> None:
        """Close the SMS and webhook transports too (the email one stays its owner's)."""
        await self._texts.aclose()
        if self._webhooks is not None:
            await self._webhooks.aclose()
            self._webhooks = None

    async def dispatch_once(self) -> int:
        """Deliver one batch of due messages; how many were attempted."""
        settings = self._settings
        with transaction(self._engine) as connection:
            claimed = outbox.claim_messages_txn(
                connection,
                settings.batch_size,
                self._clock.now(),
                settings.lease,
                self.claim,
                with_bodies=getattr(self._transport, "needs_bodies", True),
            )
        if not claimed:
            return 0
        by_channel: dict[str, list[ClaimedMessage]] = {}
        for message in claimed:
            by_channel.setdefault(message.channel, []).append(message)
        results: dict[int, Delivered | DeliveryError | WebhookResponse] = {}
        for channel, group in by_channel.items():
            answers = await self._send_or_fail(channel, group)
            results.update({m.id: a for m, a in zip(group, answers, strict=True)})
        now = self._clock.now()
        records, wakes = [], []
        for message in claimed:
            record, wake = self._record(message, results[message.id], now)
            records.append(record)
            if wake is not None:
                wakes.append(wake)
        with transaction(self._engine) as connection:
            outbox.record_deliveries_txn(connection, records, now)
            outbox.wake_runs_txn(connection, wakes, now)
        return len(claimed)

    async def _send_or_fail(
        self, channel: str, group: list[ClaimedMessage]
    ) -> Sequence[Delivered | DeliveryError | WebhookResponse]:
        """``_send``; a transport that raises (it should return errors) fails the group for
        now instead of the dispatcher, which would meet the same messages after a restart."""
        try:
            return await self._send(channel, group)
        except Exception as exc:
            logger.exception(
                "%s transport raised",
                channel,
                extra={"action": "transport_raised", "channel": channel, "messages": len(group)},
            )
            error = TransientDeliveryError(
                f"the {channel} transport failed: {type(exc).__name__}: {exc}"
            )
            return [error for _ in group]

    async def _send(
        self, channel: str, group: list[ClaimedMessage]
    ) -> Sequence[Delivered | DeliveryError | WebhookResponse]:
        if channel == "email":
            return await self._transport.send_many([to_email(m) for m in group])
        if channel == "sms":
            return await self._texts.send_sms_many(
                [
                    OutgoingSms(
                        key=m.idempotency_key,
                        sender=m.sender,
                        recipient=m.recipient,
                        body=m.text or "",
                    )
                    for m in group
                ]
            )
        if channel == "whatsapp":
            return await self._texts.send_whatsapp_many(
                [
                    OutgoingWhatsApp(
                        key=m.idempotency_key,
                        sender=m.sender,
                        recipient=m.recipient,
                        template=str((m.payload or {}).get("template", "")),
                        parameters=tuple((m.payload or {}).get("parameters", ())),
                    )
                    for m in group
                ]
            )
        if channel == "webhook":
            if self._webhooks is None:
                self._webhooks = WebhookTransport(clock=self._clock)
            keys = self._settings.keys.verifying()
            return await self._webhooks.call_many([_webhook_request(m, keys) for m in group])
        unknown = PermanentDeliveryError(f"no transport for channel {channel!r}")
        return [unknown for _ in group]

    def _record(
        self,
        message: ClaimedMessage,
        result: Delivered | DeliveryError | WebhookResponse,
        now: dt.datetime,
    ) -> tuple[DeliveryRecord, tuple[int, str, dict[str, Any]] | None]:
        if isinstance(result, Delivered):
            return DeliveryRecord(message_id=message.id, provider_id=result.provider_id), None
        if isinstance(result, WebhookResponse):
            answer = {
                "key": message.idempotency_key,
                "ok": result.ok,
                "status": result.status,
                "json": result.json,
            }
            record = DeliveryRecord(message_id=message.id, provider_id=f"HTTP {result.status}")
            return record, self._wake(message, answer)
        policy = self._settings.policy
        if message.channel == "webhook":
            attempts = int((message.payload or {}).get("attempts", policy.max_attempts))
            policy = replace(policy, max_attempts=attempts)
        retry_at = policy.decide(result, message.attempts, now)
        logger.warning(
            "delivery failed: %s",
            result,
            extra={
                "action": "delivery_failed",
                "message_id": message.id,
                "attempt": message.attempts,
                "retry_at": retry_at.isoformat() if retry_at else None,
            },
        )
        record = DeliveryRecord(message_id=message.id, error=str(result), retry_at=retry_at)
        if retry_at is not None or message.channel != "webhook":
            return record, None
        answer = {
            "key": message.idempotency_key,
            "ok": False,
            "status": getattr(result, "status", None),
            "json": None,
            "error": str(result),
        }
        return record, self._wake(message, answer)

    @staticmethod
    def _wake(
        message: ClaimedMessage, answer: dict[str, Any]
    ) -> tuple[int, str, dict[str, Any]] | None:
        if message.run_id is None or message.step_id is None:
            return None
        return message.run_id, message.step_id, answer


class TextTransport(Protocol):
    """Delivers SMS and WhatsApp messages; one result per input, in order."""

    async def send_sms_many(
        self, messages: Sequence[OutgoingSms]
    ) -> list[Delivered | DeliveryError]: ...

    async def send_whatsapp_many(
        self, messages: Sequence[OutgoingWhatsApp]
    ) -> list[Delivered | DeliveryError]: ...

    async def aclose(self) -> None: ...


def _webhook_request(message: ClaimedMessage, keys: tuple[bytes, ...]) -> WebhookRequest:
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
