"""What readers' mail clients report: opens, clicks and unsubscribes, each recorded as an
event about the message (queued for the triggers like any event)."""

from __future__ import annotations

from journeyman.services.context import Context
from journeyman.store import tracking as store
from journeyman.store import transaction


def record(
    context: Context,
    name: str,
    contact_id: int,
    message_key: str,
    *,
    opens: bool = False,
    **extra: str,
) -> None:
    """The event about the message, for its contact, in one write transaction (nothing when
    the contact is gone); ``opens``: a click, which counts as an open too."""
    with transaction(context.engine) as connection:
        store.record_txn(
            connection, name, contact_id, message_key, context.clock.now(), extra=extra, opens=opens
        )


def unsubscribe(context: Context, contact_id: int, message_key: str) -> None:
    """Blocklist the contact for email and record ``email_unsubscribed``, or neither; again
    is fine (already blocklisted: nothing more is recorded)."""
    now = context.clock.now()
    with transaction(context.engine) as connection:
        if store.unsubscribe_txn(connection, contact_id, now):
            store.record_txn(connection, "email_unsubscribed", contact_id, message_key, now)
