"""The dispatcher: lease due outbox messages, hand them to a transport outside any database
transaction, record each result (sent, retry with backoff, or failed) as soon as the transport
reports it, in small groups (engine/recording.py): a crash sends again only what was in flight
and the last unwritten group."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy.engine import Engine

from journeyman.channels.reporting import OnResult
from journeyman.channels.senders import (
    SENDERS,
    EmailTransport,
    Result,
    TextTransport,
    Transports,
)
from journeyman.channels.sms import SmsCaptureTransport
from journeyman.channels.webhook import WebhookTransport
from journeyman.clock import Clock
from journeyman.engine.claims import worker_claim
from journeyman.engine.recording import ResultGroups, Wake
from journeyman.errors import PermanentDeliveryError, TransientDeliveryError
from journeyman.model.messages import Delivered, WebhookResponse
from journeyman.model.retry import RetryPolicy
from journeyman.signing import FixedKeys, SigningKeys
from journeyman.store import outbox, transaction
from journeyman.store.outbox import ClaimedMessage, DeliveryRecord

# The transports a dispatcher takes are defined with the senders (journeyman.channels).
__all__ = [
    "RECORD_GROUP",
    "RECORD_INTERVAL",
    "DispatchSettings",
    "Dispatcher",
    "EmailTransport",
    "TextTransport",
]

logger = logging.getLogger(__name__)


# Results written per transaction while sending: a crash sends again at most this many
# answered messages (plus those in flight). Measured against one write per batch of 500, on a
# loaded 2-core machine: about 60 us more per email on PostgreSQL, 20 us on SQLite.
RECORD_GROUP = 32
RECORD_INTERVAL = 0.02  # seconds


@dataclass(frozen=True, kw_only=True)
class DispatchSettings:
    """``batch_size`` messages are leased at a time; their results are written in groups of
    ``record_group`` as they come, and every ``record_interval`` seconds whatever waits."""

    batch_size: int = 500
    lease: dt.timedelta = dt.timedelta(minutes=5)
    record_group: int = RECORD_GROUP
    record_interval: float = RECORD_INTERVAL
    policy: RetryPolicy = field(default_factory=RetryPolicy)
    # Random unless given (journeyman.signing: there is no built-in secret).
    keys: SigningKeys = field(default_factory=lambda: FixedKeys(secrets.token_bytes(32)))


class Dispatcher:
    """Delivers every channel of the outbox through its sender (channels.senders.SENDERS):
    emails through ``transport``, SMS and WhatsApp through ``texts`` (captured when none is
    given), webhook calls through ``webhooks`` (calls to private networks refused unless the
    transport allows them)."""

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
        self._transports = Transports(
            email=transport,
            texts=self._texts,
            webhooks=self._webhook_transport,
            signing_keys=self._settings.keys.verifying,
        )
        self.claim = worker_claim()

    def _webhook_transport(self) -> WebhookTransport:
        """The transport given, else one made on first use (closed by ``aclose``)."""
        if self._webhooks is None:
            self._webhooks = WebhookTransport(clock=self._clock)
        return self._webhooks

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
        results = ResultGroups(
            self._engine,
            self._clock,
            size=settings.record_group,
            interval=settings.record_interval,
        )
        writer = asyncio.ensure_future(results.flush_periodically())
        try:
            for channel, group in by_channel.items():
                await self._deliver(channel, group, results)
        finally:
            # Cancelled too (the engine stops): what was answered is written, not sent again.
            writer.cancel()
            results.flush()
        results.raise_failure()
        return len(claimed)

    async def _deliver(
        self, channel: str, group: list[ClaimedMessage], results: ResultGroups
    ) -> None:
        """Send ``group``, each result recorded as soon as the transport reports it."""
        reported: set[int] = set()

        def on_result(index: int, answer: Result) -> None:
            if index not in reported:
                reported.add(index)
                results.add(*self._record(group[index], answer, self._clock.now()))

        answers = await self._send_or_fail(channel, group, on_result)
        now = self._clock.now()
        for index, answer in enumerate(answers):
            if index not in reported:
                results.add(*self._record(group[index], answer, now), flush_when_full=False)

    async def _send_or_fail(
        self, channel: str, group: list[ClaimedMessage], on_result: OnResult[Result]
    ) -> Sequence[Result]:
        """The channel's sender; a transport that raises (it should return errors) fails the
        group for now instead of the dispatcher, which would meet the same messages after a
        restart. A channel without a sender fails its messages."""
        sender = SENDERS.get(channel)
        if sender is None:
            unknown = PermanentDeliveryError(f"no transport for channel {channel!r}")
            return [unknown for _ in group]
        try:
            answers = await sender(self._transports, group, on_result)
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
        if len(answers) != len(group):
            raise RuntimeError(
                f"the {channel} transport returned {len(answers)} results for {len(group)} "
                "messages; expected one per message"
            )
        return answers

    def _record(
        self,
        message: ClaimedMessage,
        result: Result,
        now: dt.datetime,
    ) -> tuple[DeliveryRecord, Wake | None]:
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
    def _wake(message: ClaimedMessage, answer: dict[str, Any]) -> Wake | None:
        if message.run_id is None or message.step_id is None:
            return None
        return Wake(run_id=message.run_id, step_id=message.step_id, answer=answer)
