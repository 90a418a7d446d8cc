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


@dataclass(frozen=True, kw_only=True)
class SetAttribute:
    """Set (``value``) or clear (``value`` None) a contact attribute; already type-checked."""

    contact_id: int
    name: str
    value: object


@dataclass(frozen=True, kw_only=True)
class AddToAttribute:
    """Add ``delta`` to a number attribute, atomically in the database (unset counts as 0)."""

    contact_id: int
    name: str
    delta: float


@dataclass(frozen=True, kw_only=True)
class Blocklist:
    contact_id: int
    email: bool
    sms: bool


@dataclass(frozen=True, kw_only=True)
class StartRun:
    """Enrol the contact into another workflow (its current version), at ``step_id`` or its
    first step. ``chain`` lists the workflows that started each other up to here."""

    contact_id: int
    workflow_key: str
    step_id: str | None
    chain: tuple[str, ...]
    trigger_event_id: int | None


@dataclass(frozen=True, kw_only=True)
class RecordConversion:
    key: str  # run:step:seq, so a replay cannot count it twice
    run_id: int
    contact_id: int
    workflow_id: int
    step_id: str
    name: str
    value: float
    currency: str


Effect = (
    JoinList
    | LeaveList
    | QueueEmail
    | SetAttribute
    | AddToAttribute
    | Blocklist
    | StartRun
    | RecordConversion
)
