"""When to try a failed delivery again: a pure decision."""

from __future__ import annotations

import datetime as dt
import math
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
        base, cap = self.base.total_seconds(), self.cap.total_seconds()
        exponent = attempt - 1
        # Compare in logarithms: factor ** exponent overflows long before attempts run out.
        if base <= 0 or exponent * math.log(max(self.factor, 1.0)) >= math.log(cap / base):
            return now + self.cap
        return now + dt.timedelta(seconds=base * self.factor**exponent)
