"""The outbox: messages written with the run's transaction, delivered by the dispatcher.

Status moves: queued -> sending (leased) -> sent | queued (retry later) | failed;
suppressed is final from the start. A lease that runs out (a dispatcher died mid-send)
makes the message due again: at least once outside, with a stable Message-ID.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from journeyman.errors import NotFound
from journeyman.model.effects import QueueEmail, QueueMessage
from journeyman.model.runs import RunStatus, Wake
from journeyman.store.bulk import Bulk
from journeyman.store.dialects import one_of
from journeyman.store.schema import messages, runs


class MessageStatus(enum.StrEnum):
    QUEUED = "queued"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    SUPPRESSED = "suppressed"


@dataclass(frozen=True, kw_only=True)
class ClaimedMessage:
    id: int
    idempotency_key: str
    sender: str
    recipient: str
    subject: str
    html: str
    text: str | None
    attempts: int  # including this one
    channel: str = "email"
    run_id: int | None = None
    step_id: str | None = None
    headers: Mapping[str, str] | None = None
    payload: Mapping[str, Any] | None = None


@dataclass(frozen=True, kw_only=True)
class DeliveryRecord:
    """What happened to one claimed message; ``retry_at`` None with an error means failed."""

    message_id: int
    provider_id: str | None = None
    error: str | None = None
    retry_at: dt.datetime | None = None


_ENQUEUE_COLUMNS = (
    "idempotency_key",
    "run_id",
    "workflow_id",
    "step_id",
    "contact_id",
    "channel",
    "sender",
    "recipient",
    "subject",
    "html",
    "text",
    "status",
    "reason",
    "attempts",
    "next_attempt_at",
    "created_at",
    "headers",
    "payload",
)


def enqueue_txn(
    connection: Connection,
    emails: Sequence[QueueEmail],
    now: dt.datetime,
    others: Sequence[QueueMessage] = (),
) -> None:
    """Write messages; a key that exists already is skipped (never a second message)."""
    bulk = Bulk(connection)
    at = bulk.time(now)
    queued, suppressed = MessageStatus.QUEUED.value, MessageStatus.SUPPRESSED.value

    def optional(value: Any) -> Any:
        return None if value is None else bulk.json(value)

    rows = [
        (
            e.idempotency_key,
            e.run_id,
            e.workflow_id,
            e.step_id,
            e.contact_id,
            "email",
            e.sender,
            e.recipient,
            e.subject,
            e.html,
            e.text,
            suppressed if e.suppressed else queued,
            e.suppressed,
            0,
            None if e.suppressed else at,
            at,
            optional(e.headers),
            None,
        )
        for e in emails
    ]
    rows += [
        (
            m.key,
            m.run_id,
            m.workflow_id,
            m.step_id,
            m.contact_id,
            m.channel,
            m.sender,
            m.recipient,
            "",
            "",
            m.text,
            suppressed if m.suppressed else queued,
            m.suppressed,
            0,
            None if m.suppressed else at,
            at,
            None,
            optional(m.payload),
        )
        for m in others
    ]
    bulk.insert(messages, _ENQUEUE_COLUMNS, rows, ignore_conflicts=True)


def claim_messages_txn(
    connection: Connection,
    limit: int,
    now: dt.datetime,
    lease: dt.timedelta,
    claim: str = "",
    *,
    with_bodies: bool = True,
) -> list[ClaimedMessage]:
    """Lease due messages for delivery to ``claim`` (the lease ends at ``now + lease``).

    Without ``with_bodies`` the HTML bodies of emails are not read (the capture transport
    keeps the outbox row itself as its copy)."""
    statement = (
        sa.select(
            messages.c.id,
            messages.c.idempotency_key,
            messages.c.sender,
            messages.c.recipient,
            messages.c.subject,
            messages.c.html if with_bodies else sa.null(),
            messages.c.text,
            messages.c.attempts,
            messages.c.channel,
            messages.c.run_id,
            messages.c.step_id,
            messages.c.headers,
            messages.c.payload,
        )
        .where(messages.c.next_attempt_at <= now)
        .order_by(messages.c.next_attempt_at, messages.c.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    rows = connection.execute(statement).all()
    if not rows:
        return []
    connection.execute(
        sa.update(messages)
        .where(one_of(connection, messages.c.id, [r.id for r in rows]))
        .values(
            status=MessageStatus.SENDING.value,
            attempts=messages.c.attempts + 1,
            next_attempt_at=now + lease,
            claim=claim or None,
        )
    )
    return [
        ClaimedMessage(
            id=r.id,
            idempotency_key=r.idempotency_key,
            sender=r.sender,
            recipient=r.recipient,
            subject=r.subject,
            html=r[5] or "",
            text=r[6],
            attempts=r.attempts + 1,
            channel=r.channel,
            run_id=r.run_id,
            step_id=r.step_id,
            headers=r.headers,
            payload=r.payload,
        )
        for r in rows
    ]


def record_deliveries_txn(
    connection: Connection, records: Sequence[DeliveryRecord], now: dt.datetime
) -> None:
    """Results of a dispatch; only rows still leased (``sending``) change."""
    bulk = Bulk(connection)
    bulk.update(
        messages,
        ("status", "provider_id", "reason", "next_attempt_at", "sent_at", "claim"),
        [_delivery_row(bulk, r, now) for r in records],
        guard=("status", MessageStatus.SENDING.value),
    )


def skip_commit_flush_txn(connection: Connection) -> None:
    """PostgreSQL: this transaction's commit does not wait for its WAL to reach the disk.

    For delivery results only. A database server that crashes may then lose the last few
    hundred milliseconds of them: those messages are ``sending`` again, and sent again with
    the same key, which at least once allows. Waiting for the disk instead made recording
    results while sending (groups of 32) three times as slow per email."""
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql("SET LOCAL synchronous_commit TO OFF")


def _delivery_row(bulk: Bulk, record: DeliveryRecord, now: dt.datetime) -> tuple[Any, ...]:
    if record.error is None:
        status, sent = MessageStatus.SENT, now
    elif record.retry_at is not None:
        status, sent = MessageStatus.QUEUED, None
    else:
        status, sent = MessageStatus.FAILED, None
    return (
        status.value,
        record.provider_id,
        record.error,
        bulk.time(record.retry_at),
        bulk.time(sent),
        None,
        record.message_id,
    )


def claims_txn(connection: Connection) -> list[str]:
    """The dispatchers holding messages right now."""
    statement = sa.select(messages.c.claim).where(messages.c.claim.is_not(None)).distinct()
    return [r.claim for r in connection.execute(statement)]


def release_claims_txn(connection: Connection, claims: Sequence[str], now: dt.datetime) -> int:
    """Messages of dead dispatchers: due again at once (sent again, same Message-ID)."""
    result = connection.execute(
        sa.update(messages)
        .where(messages.c.claim.in_(list(claims)), messages.c.status == MessageStatus.SENDING)
        .values(status=MessageStatus.QUEUED.value, next_attempt_at=now, claim=None)
    )
    return int(result.rowcount)


def due_messages_count_txn(connection: Connection, now: dt.datetime) -> int:
    statement = (
        sa.select(sa.func.count()).select_from(messages).where(messages.c.next_attempt_at <= now)
    )
    return int(connection.execute(statement).scalar_one())


def next_attempt_txn(connection: Connection) -> dt.datetime | None:
    """When the earliest message not sent yet is due (a retry, quiet hours)."""
    unsent = (MessageStatus.QUEUED.value, MessageStatus.SENDING.value)
    statement = sa.select(sa.func.min(messages.c.next_attempt_at)).where(
        messages.c.status.in_(unsent)
    )
    due: dt.datetime | None = connection.execute(statement).scalar()
    return due


def list_messages_txn(
    connection: Connection, *, status: str | None = None, limit: int = 50, offset: int = 0
) -> list[dict[str, Any]]:
    statement = sa.select(
        messages.c.id,
        messages.c.status,
        messages.c.recipient,
        messages.c.subject,
        messages.c.workflow_id,
        messages.c.step_id,
        messages.c.reason,
        messages.c.attempts,
        messages.c.created_at,
        messages.c.sent_at,
    ).order_by(messages.c.id)
    if status:
        statement = statement.where(messages.c.status == status)
    rows = connection.execute(statement.limit(limit).offset(offset))
    return [dict(r._mapping) for r in rows]


def get_message_txn(connection: Connection, message_id: int) -> dict[str, Any]:
    row = connection.execute(sa.select(messages).where(messages.c.id == message_id)).first()
    if row is None:
        raise NotFound(f"no message with id {message_id}")
    return dict(row._mapping)


def message_counts_txn(connection: Connection) -> dict[str, int]:
    rows = connection.execute(
        sa.select(messages.c.status, sa.func.count()).group_by(messages.c.status)
    )
    return {r[0]: r[1] for r in rows}


def contacts_emailed_more_than_once_txn(connection: Connection) -> int:
    per_contact = (
        sa.select(messages.c.contact_id)
        .where(messages.c.channel == "email")
        .group_by(messages.c.contact_id)
        .having(sa.func.count() > 1)
        .subquery()
    )
    return int(connection.execute(sa.select(sa.func.count()).select_from(per_contact)).scalar_one())


def wake_runs_txn(connection: Connection, wakes: Sequence[Wake], now: dt.datetime) -> int:
    """Store webhook answers in the runs that wait for them and make those runs due.

    A run is woken only while it still waits on that call (``context.pending`` is the
    answer's key), so a late duplicate changes nothing.
    """
    if not wakes:
        return 0
    current = {
        r.id: dict(r.context or {})
        for r in connection.execute(
            sa.select(runs.c.id, runs.c.context).where(
                one_of(connection, runs.c.id, [w.run_id for w in wakes]),
                runs.c.status == RunStatus.WAITING.value,
            )
        )
    }
    rows = []
    bulk = Bulk(connection)
    active = RunStatus.ACTIVE.value
    for wake in wakes:
        context = current.get(wake.run_id)
        if context is None or context.get("pending") != wake.answer.get("key"):
            continue
        context.setdefault("webhook", {})[wake.step_id] = dict(wake.answer)
        rows.append((active, bulk.time(now), bulk.json(context), bulk.time(now), wake.run_id))
    return bulk.update(runs, ("status", "due_at", "context", "updated_at"), rows)
