"""When to try a failed delivery again: a pure decision."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from journeyman.errors import DeliveryError


@dataclass(frozen=True, kw_only=True)
class RetryPolicy:
    """Exponential backoff: ``base * factor ** (attempt - 1)``, capped; give up after
    ``max_attempts`` or at once for a permanent error."""

    max_attempts: int = 6
    base: dt.timedelta = dt.timedelta(seconds=30)
    factor: float = 4.0
    cap: dt.timedelta = dt.timedelta(hours=6)

    def decide(self, error: DeliveryError, attempt: int, now: dt.datetime) -> dt.datetime | None:
        """The time of the next attempt, or None to give up."""
        if not error.retryable or attempt >= self.max_attempts:
            return None
        delay = min(self.cap, self.base * self.factor ** (attempt - 1))
        return now + delay
