"""Delivery results written as they come, in small groups.

A result that is not yet written is a message the outbox still calls ``sending``: after a
crash it is sent again. So the dispatcher writes results while its transports are still
sending, a group at a time: as soon as ``size`` results wait, and every ``interval`` seconds
whatever waits. A crash then sends again at most the messages in flight
(sent, answer not yet read) plus ``size`` answered but unwritten ones.
"""

from __future__ import annotations

import asyncio
import logging

from sqlalchemy.engine import Engine

from journeyman.clock import Clock
from journeyman.model.runs import Wake
from journeyman.store import outbox, transaction
from journeyman.store.outbox import DeliveryRecord

__all__ = ["ResultGroups", "Wake"]

logger = logging.getLogger(__name__)


class ResultGroups:
    """Collects delivery records and writes them in short transactions of up to ``size``.

    ``add`` never raises (transports call it): a write that fails keeps its records, stops
    further writes (the messages stay leased, so they are sent again later: at least once)
    and is raised by :meth:`raise_failure`.
    """

    def __init__(self, engine: Engine, clock: Clock, *, size: int, interval: float) -> None:
        self._engine = engine
        self._clock = clock
        self._size = size
        self._interval = interval
        self._records: list[DeliveryRecord] = []
        self._wakes: list[Wake] = []
        self._failure: Exception | None = None

    def add(
        self, record: DeliveryRecord, wake: Wake | None, *, flush_when_full: bool = True
    ) -> None:
        self._records.append(record)
        if wake is not None:
            self._wakes.append(wake)
        if flush_when_full and len(self._records) >= self._size:
            self.flush()

    def flush(self) -> None:
        """Write what waits, in one transaction."""
        if not self._records or self._failure is not None:
            return
        try:
            with transaction(self._engine) as connection:
                outbox.skip_commit_flush_txn(connection)
                now = self._clock.now()
                outbox.record_deliveries_txn(connection, self._records, now)
                outbox.wake_runs_txn(connection, self._wakes, now)
        except Exception as exc:  # raised by raise_failure, outside the transport
            logger.error(
                "recording delivery results failed: %s",
                exc,
                extra={"action": "record_deliveries_failed", "messages": len(self._records)},
            )
            self._failure = exc
            return
        self._records, self._wakes = [], []

    async def flush_periodically(self) -> None:
        """Write what waits every ``interval`` seconds (until cancelled), so that a slow
        message does not keep the answers before it unwritten."""
        while True:
            await asyncio.sleep(self._interval)
            self.flush()

    def raise_failure(self) -> None:
        if self._failure is not None:
            raise self._failure
