"""The outbox, read: pages of messages (filtered), one message with its rendered content and
the opens, clicks and unsubscribes recorded for it. Read transactions only."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from journeyman.services.context import Context
from journeyman.store import outbox, read_transaction, reports
from journeyman.store.outbox import MessageStatus

__all__ = ["MessageDetail", "MessageStatus", "detail", "list_messages", "page", "row"]


@dataclass(frozen=True, kw_only=True)
class MessageDetail:
    row: dict[str, Any]  # the outbox row with its workflow key
    tracking: list[dict[str, Any]]  # id, name, occurred_at, properties; oldest first


def page(
    context: Context,
    *,
    status: str | None = None,
    channel: str | None = None,
    workflow: str | None = None,
    email: str | None = None,
    limit: int,
    offset: int,
) -> tuple[list[dict[str, Any]], int]:
    """Messages, newest first, without their bodies, and how many match; ``workflow`` is a
    key (NotFound for an unknown one), ``email`` the contact's (normalised)."""
    with read_transaction(context.engine) as connection:
        where = reports.MessageFilter(
            status=status,
            channel=channel,
            workflow_id=reports.workflow_id_txn(connection, workflow) if workflow else None,
            contact_email=email,
        )
        return reports.messages_page_txn(connection, where, limit=limit, offset=offset)


def detail(context: Context, message_id: int) -> MessageDetail:
    """One message (NotFound if there is none) and its tracking events."""
    with read_transaction(context.engine) as connection:
        found = reports.message_txn(connection, message_id)
        tracking = reports.tracking_events_txn(
            connection, found["contact_id"], found["idempotency_key"]
        )
    return MessageDetail(row=found, tracking=tracking)


def list_messages(
    context: Context, *, status: str | None = None, limit: int = 50, offset: int = 0
) -> list[dict[str, Any]]:
    """Outbox rows, oldest first, without their bodies (``journeyman outbox list``)."""
    with read_transaction(context.engine) as connection:
        return outbox.list_messages_txn(connection, status=status, limit=limit, offset=offset)


def row(context: Context, message_id: int) -> dict[str, Any]:
    """One outbox row as stored (NotFound if there is none)."""
    with read_transaction(context.engine) as connection:
        return outbox.get_message_txn(connection, message_id)
