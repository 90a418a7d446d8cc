"""The dispatcher: lease due outbox messages, hand them to a transport outside any database
transaction, record the results (retry with backoff, or fail) in one transaction."""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from sqlalchemy.engine import Engine

from journeyman.clock import Clock
from journeyman.engine.claims import worker_claim
from journeyman.errors import DeliveryError
from journeyman.model.messages import Delivered, OutgoingEmail
from journeyman.model.retry import RetryPolicy
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
    )


class Dispatcher:
    def __init__(
        self,
        engine: Engine,
        transport: EmailTransport,
        clock: Clock,
        settings: DispatchSettings | None = None,
    ) -> None:
        self._engine = engine
        self._transport = transport
        self._clock = clock
        self._settings = settings or DispatchSettings()
        self.claim = worker_claim()

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
        results = await self._transport.send_many([to_email(m) for m in claimed])
        now = self._clock.now()
        records = [self._record(m, r, now) for m, r in zip(claimed, results, strict=True)]
        with transaction(self._engine) as connection:
            outbox.record_deliveries_txn(connection, records, now)
        return len(claimed)

    def _record(
        self, message: ClaimedMessage, result: Delivered | DeliveryError, now: dt.datetime
    ) -> DeliveryRecord:
        if isinstance(result, Delivered):
            return DeliveryRecord(message_id=message.id, provider_id=result.provider_id)
        retry_at = self._settings.policy.decide(result, message.attempts, now)
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
        return DeliveryRecord(message_id=message.id, error=str(result), retry_at=retry_at)
