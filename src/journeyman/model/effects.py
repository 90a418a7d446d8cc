"""Effects a step asks for. The engine writes them in the transaction that advances the run."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, kw_only=True)
class JoinList:
    contact_id: int
    list_id: int


@dataclass(frozen=True, kw_only=True)
class LeaveList:
    contact_id: int
    list_id: int


@dataclass(frozen=True, kw_only=True)
class QueueEmail:
    """An email for the outbox. ``suppressed`` keeps the reason instead of sending."""

    idempotency_key: str
    run_id: int
    workflow_id: int
    step_id: str
    contact_id: int
    recipient: str | None
    sender: str
    subject: str
    html: str
    text: str | None
    suppressed: str | None = None


Effect = JoinList | LeaveList | QueueEmail
