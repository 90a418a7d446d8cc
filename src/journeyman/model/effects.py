"""Effects a step asks for. The engine writes them in the transaction that advances the run."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


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
    headers: Mapping[str, str] | None = None


@dataclass(frozen=True, kw_only=True)
class QueueMessage:
    """An SMS, WhatsApp message or webhook call for the outbox (``channel``): ``text`` is an
    SMS's body, ``payload`` a WhatsApp template and its parameters or a webhook request."""

    key: str
    run_id: int
    workflow_id: int
    step_id: str
    contact_id: int
    channel: str
    recipient: str | None
    sender: str
    text: str | None = None
    payload: Mapping[str, Any] | None = None
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


@dataclass(frozen=True, kw_only=True)
class OwnerChoice:
    """Who gets a deal, a task or a contact, resolved when the effect is written: ``user``
    (an email); else ``round_robin``, these users in turn from the position kept under
    ``rotation`` (workflow key and step id); else the contact's owner."""

    user: str | None = None
    round_robin: tuple[str, ...] = ()
    rotation: str = ""


@dataclass(frozen=True, kw_only=True)
class CreateDeal:
    source_key: str  # run:step:seq, so a replay creates no second deal
    contact_id: int
    name: str
    pipeline: str
    stage: str
    amount: float | None
    owner: OwnerChoice


@dataclass(frozen=True, kw_only=True)
class CreateTask:
    """Linked to the contact and to its latest deal (found when written)."""

    source_key: str  # run:step:seq
    contact_id: int
    title: str
    type: str
    due_at: dt.datetime
    assignee: OwnerChoice


@dataclass(frozen=True, kw_only=True)
class AssignOwner:
    contact_id: int
    owner: OwnerChoice  # a user or a round-robin


Effect = (
    JoinList
    | LeaveList
    | QueueEmail
    | QueueMessage
    | SetAttribute
    | AddToAttribute
    | Blocklist
    | StartRun
    | RecordConversion
    | CreateDeal
    | CreateTask
    | AssignOwner
)
