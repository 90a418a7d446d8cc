"""The dispatcher on both databases: retries with backoff, permanent failures, leases.

The transport here is a small in-test class implementing the EmailTransport protocol (it is
not network code: SMTP itself is tested against a real server in tests/integration).
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections import Counter
from collections.abc import Callable, Sequence

import pytest

from journeyman import App
from journeyman.channels.senders import message_id
from journeyman.engine.dispatch import RECORD_GROUP, RECORD_INTERVAL
from journeyman.errors import DeliveryError, PermanentDeliveryError, TransientDeliveryError
from journeyman.model.messages import Delivered, OutgoingEmail
from journeyman.store import outbox, transaction

from .support import (
    clock_of,
    count,
    dispatch_once,
    email_step,
    rows,
    send,
    tick_until_idle,
    workflow,
)

JANE = "jane@example.com"


class ScriptedTransport:
    """Answers each message's attempts from a script (then Delivered); records every call."""

    def __init__(self, *script: DeliveryError) -> None:
        self.script = script
        self.attempts: list[OutgoingEmail] = []

    async def send_many(
        self, emails: Sequence[OutgoingEmail], *, on_result: object = None
    ) -> list[Delivered | DeliveryError]:
        results: list[Delivered | DeliveryError] = []
        for email in emails:
            before = sum(1 for a in self.attempts if a.message_id == email.message_id)
            self.attempts.append(email)
            if before < len(self.script):
                results.append(self.script[before])
            else:
                results.append(Delivered(provider_id=f"provider-{len(self.attempts)}"))
        return results

    async def aclose(self) -> None:
        return None


@pytest.fixture
def queued(app: App) -> App:
    """One email to Jane in the outbox."""
    app.apply_workflow(workflow(email_step(subject="Welcome")))
    send(app, ("signup", JANE))
    tick_until_idle(app)
    (message,) = rows(app, "messages")
    assert message["status"] == "queued"
    return app


def the_message(app: App) -> dict[str, object]:
    (message,) = rows(app, "messages")
    return message


def test_a_transient_error_is_retried_after_the_backoff(queued: App) -> None:
    transport = ScriptedTransport(TransientDeliveryError("421 mailbox busy, try later"))
    start = queued.clock.now()

    assert dispatch_once(queued, transport) == 1

    message = the_message(queued)
    assert (message["status"], message["attempts"]) == ("queued", 1)
    assert message["reason"] == "421 mailbox busy, try later"
    assert message["next_attempt_at"] == start + dt.timedelta(seconds=30)
    assert dispatch_once(queued, transport) == 0
    clock_of(queued).advance(dt.timedelta(seconds=29))
    assert dispatch_once(queued, transport) == 0

    clock_of(queued).advance(dt.timedelta(seconds=1))
    assert dispatch_once(queued, transport) == 1

    message = the_message(queued)
    assert (message["status"], message["attempts"], message["provider_id"]) == (
        "sent",
        2,
        "provider-2",
    )
    assert message["sent_at"] == queued.clock.now()
    assert message["next_attempt_at"] is None
    first, second = transport.attempts
    assert first == second  # the same Message-ID and content on every attempt
    assert first.message_id == message_id(str(message["idempotency_key"]), str(message["sender"]))
    assert (first.recipient, first.subject) == (JANE, "Welcome")


def test_a_permanent_error_fails_the_message_with_the_reason(queued: App) -> None:
    transport = ScriptedTransport(PermanentDeliveryError("550 no such user here"))

    assert dispatch_once(queued, transport) == 1

    message = the_message(queued)
    assert (message["status"], message["reason"]) == ("failed", "550 no such user here")
    assert (message["attempts"], message["next_attempt_at"], message["sent_at"]) == (1, None, None)
    clock_of(queued).advance(dt.timedelta(days=1))
    assert dispatch_once(queued, transport) == 0


def test_transient_errors_give_up_after_the_last_attempt(queued: App) -> None:
    transport = ScriptedTransport(
        *[TransientDeliveryError(f"451 attempt {n}") for n in range(1, 10)]
    )

    for _ in range(10):
        dispatch_once(queued, transport)
        clock_of(queued).advance(dt.timedelta(hours=3))

    message = the_message(queued)
    assert (message["status"], message["attempts"]) == ("failed", 6)
    assert message["reason"] == "451 attempt 6"
    assert len(transport.attempts) == 6


def test_a_lease_that_ran_out_makes_the_message_due_again(queued: App) -> None:
    lease = dt.timedelta(minutes=5)
    with transaction(queued.engine) as connection:  # a dispatcher that claims, then dies
        (claimed,) = outbox.claim_messages_txn(connection, 10, queued.clock.now(), lease)
    assert the_message(queued)["status"] == "sending"
    transport = ScriptedTransport()

    assert dispatch_once(queued, transport) == 0
    clock_of(queued).advance(lease - dt.timedelta(seconds=1))
    assert dispatch_once(queued, transport) == 0
    clock_of(queued).advance(dt.timedelta(seconds=1))
    assert dispatch_once(queued, transport) == 1

    message = the_message(queued)
    assert (message["status"], message["attempts"]) == ("sent", 2)
    (attempt,) = transport.attempts
    assert attempt.message_id == message_id(claimed.idempotency_key, claimed.sender)


def test_suppressed_messages_are_never_handed_to_a_transport(app: App) -> None:
    app.apply_workflow(workflow(email_step()))
    app.import_contacts_csv(["EMAIL\n", f"{JANE}\n"])
    with transaction(app.engine) as connection:
        connection.exec_driver_sql("UPDATE contacts SET email_blocklisted = true")
    send(app, ("signup", JANE))
    tick_until_idle(app)
    transport = ScriptedTransport()

    clock_of(app).advance(dt.timedelta(days=1))
    assert dispatch_once(app, transport) == 0

    assert transport.attempts == []
    assert the_message(app)["status"] == "suppressed"


def test_one_bad_message_does_not_hold_up_the_others(app: App) -> None:
    app.apply_workflow(workflow(email_step()))
    send(app, ("signup", "a@example.com"), ("signup", "b@example.com"), ("signup", "c@example.com"))
    tick_until_idle(app)

    class RefuseB(ScriptedTransport):
        async def send_many(
            self, emails: Sequence[OutgoingEmail], *, on_result: object = None
        ) -> list[Delivered | DeliveryError]:
            return [
                PermanentDeliveryError("550 unknown user")
                if e.recipient == "b@example.com"
                else Delivered(provider_id=e.recipient)
                for e in emails
            ]

    assert dispatch_once(app, RefuseB()) == 3

    assert {m["recipient"]: m["status"] for m in rows(app, "messages")} == {
        "a@example.com": "sent",
        "b@example.com": "failed",
        "c@example.com": "sent",
    }


class ReportingTransport:
    """Reports results one by one; after ``stall_after`` of them, notes the outbox statuses
    (as a crash would leave them) ``pause`` seconds later, then reports the rest."""

    def __init__(self, app: App, stall_after: int, pause: float = 0.0) -> None:
        self.app, self.stall_after, self.pause = app, stall_after, pause
        self.seen: dict[str, int] = {}

    async def send_many(
        self,
        emails: Sequence[OutgoingEmail],
        *,
        on_result: Callable[[int, Delivered | DeliveryError], None] | None = None,
    ) -> list[Delivered | DeliveryError]:
        assert on_result is not None
        results: list[Delivered | DeliveryError] = []
        for index, email in enumerate(emails):
            if index == self.stall_after:
                if self.pause:  # else no await: only a full group can have been written
                    await asyncio.sleep(self.pause)
                self.seen = dict(Counter(m["status"] for m in rows(self.app, "messages")))
            results.append(Delivered(provider_id=email.message_id))
            on_result(index, results[-1])
        return results

    async def aclose(self) -> None:
        return None


def queue_emails(app: App, count: int) -> None:
    app.apply_workflow(workflow(email_step()))
    send(app, *(("signup", f"c{i}@example.com") for i in range(count)))
    tick_until_idle(app)


def test_results_are_written_in_groups_while_the_batch_is_still_sending(app: App) -> None:
    queue_emails(app, 2 * RECORD_GROUP + 5)
    transport = ReportingTransport(app, stall_after=2 * RECORD_GROUP + 1)

    assert dispatch_once(app, transport) == 2 * RECORD_GROUP + 5

    assert transport.seen == {"sent": 2 * RECORD_GROUP, "sending": 5}
    assert count(app, "messages", status="sent") == 2 * RECORD_GROUP + 5


def test_a_result_waits_at_most_the_record_interval(app: App) -> None:
    queue_emails(app, 3)
    transport = ReportingTransport(app, stall_after=1, pause=10 * RECORD_INTERVAL)

    assert dispatch_once(app, transport) == 3

    assert transport.seen == {"sent": 1, "sending": 2}
