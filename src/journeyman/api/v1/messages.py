"""``/api/v1/messages``: the outbox (every email, SMS, WhatsApp message and webhook call the
workflows made), one message with its rendered content and its tracking events."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import Query
from pydantic import BaseModel, Field

from journeyman.api.limits import MessageIdPath
from journeyman.api.v1.common import Limit, Offset, v1_router
from journeyman.api.wire import Journeyman
from journeyman.model.contacts import normalize_email
from journeyman.services import messages
from journeyman.services.messages import MessageStatus

router = v1_router("messages")

CAPTURED = "captured:"  # the provider id the capture transports give (channels/capture.py)


class Message(BaseModel):
    id: int
    status: str
    channel: str
    sender: str
    recipient: str | None
    subject: str
    workflow: str | None
    step_id: str | None
    run_id: int | None
    contact_id: int | None
    reason: str | None = Field(description="why a message was suppressed or failed")
    attempts: int
    created_at: dt.datetime
    sent_at: dt.datetime | None
    captured: bool = Field(
        description="sent through the capture transport (no provider configured): kept in "
        "the outbox, delivered to nobody"
    )


def captured(row: dict[str, Any]) -> bool:
    provider_id = row.get("provider_id")
    return row.get("status") == "sent" and str(provider_id or "").startswith(CAPTURED)


class MessagesPage(BaseModel):
    messages: list[Message]
    count: int
    limit: int
    offset: int


class TrackingEvent(BaseModel):
    id: int
    name: str
    occurred_at: dt.datetime
    properties: dict[str, Any]


class MessageDetail(Message):
    """A message as rendered when it was queued, and what its recipient did with it."""

    idempotency_key: str
    html: str
    text: str | None
    headers: dict[str, Any] | None
    payload: dict[str, Any] | None
    provider_id: str | None
    tracking: list[TrackingEvent]


@router.get("/messages", response_model=MessagesPage)
def list_messages(
    app: Journeyman,
    status: Annotated[MessageStatus | None, Query()] = None,
    channel: Annotated[str | None, Query(description="email, sms, whatsapp, webhook")] = None,
    workflow: Annotated[str | None, Query(description="a workflow key")] = None,
    email: Annotated[str | None, Query(description="the contact's email")] = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> MessagesPage:
    """Messages, newest first, without their bodies."""
    rows, total = messages.page(
        app,
        status=status.value if status else None,
        channel=channel,
        workflow=workflow,
        email=normalize_email(email) if email else None,
        limit=limit,
        offset=offset,
    )
    return MessagesPage(
        messages=[Message(**r, captured=captured(r)) for r in rows],
        count=total,
        limit=limit,
        offset=offset,
    )


@router.get("/messages/{message_id}", response_model=MessageDetail)
def get_message(message_id: MessageIdPath, app: Journeyman) -> MessageDetail:
    """One message: subject, HTML, text, headers, payload, and its opens, clicks and
    unsubscribes (events whose ``message_key`` is the message's idempotency key)."""
    found = messages.detail(app, message_id)
    fields = {
        k: found.row.get(k) for k in MessageDetail.model_fields if k not in ("tracking", "captured")
    }
    return MessageDetail(
        **fields,
        captured=captured(found.row),
        tracking=[TrackingEvent(**t) for t in found.tracking],
    )
