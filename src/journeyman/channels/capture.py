"""The development transport: delivers nothing; the outbox row is the captured copy."""

from __future__ import annotations

from collections.abc import Sequence

from journeyman.channels.reporting import OnResult
from journeyman.errors import DeliveryError
from journeyman.model.messages import Delivered, OutgoingEmail


class CaptureTransport:
    """Accepts every message. Read them with ``journeyman outbox list`` / ``outbox show``."""

    name = "capture"
    needs_bodies = False  # the outbox row is the captured copy

    async def send_many(
        self,
        emails: Sequence[OutgoingEmail],
        *,
        on_result: OnResult[Delivered | DeliveryError] | None = None,
    ) -> list[Delivered | DeliveryError]:
        # Every result is known at once: returning them is reporting them (one transaction).
        return [Delivered(provider_id=f"captured:{e.message_id}") for e in emails]

    async def aclose(self) -> None:
        return None
