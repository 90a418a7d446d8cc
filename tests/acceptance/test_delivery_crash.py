"""``journeyman run --until-idle`` killed with SIGKILL in the middle of delivering, started
again: every message arrives at least once, and the copies sent twice are at most what was in
flight at the kill (the transport's parallel sends) plus one group of answered but not yet
recorded results (``RECORD_GROUP``), for email (a real SMTP server counting Message-IDs), SMS
(a Twilio-shaped HTTP server counting idempotency tokens) and webhooks (an HTTP server
counting idempotency keys). Before results were recorded as they came, a kill in the second
batch of 500 sent the whole unrecorded part of that batch again (hundreds of copies)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from journeyman.app import App
from journeyman.channels import sms, smtp, webhook
from journeyman.channels.senders import message_id
from journeyman.config import Settings
from journeyman.engine.dispatch import RECORD_GROUP
from journeyman.services.events import EventInput
from journeyman.store.contacts import ContactInput

from .cli_support import (
    Reader,
    SmtpServer,
    http_server_module,
    kill_when,
    logged,
    start_logged,
)

http_server = http_server_module()
MESSAGES = 1_500  # three dispatcher batches of 500
RUN = ("run", "--until-idle")
KILL_AT = 700  # arrivals: inside the second batch, the first one recorded long ago
SID, TOKEN = "AC0123456789", "s3cret-token"


def prepare(url: str, step: dict[str, Any]) -> None:
    """One workflow of ``step`` alone, MESSAGES contacts, and the event that starts it for
    each; the app closed again."""
    app = App.open(Settings(database_url=url))
    try:
        app.apply_workflow(
            {
                "key": "one-message",
                "name": "One message each",
                "entry_points": [{"event": "signup"}],
                "steps": [{"id": "message", **step}],
            }
        )
        emails = [f"contact{i:05d}@example.com" for i in range(MESSAGES)]
        app.upsert_contacts(
            [ContactInput(email=e, sms=f"+4915100{i:06d}") for i, e in enumerate(emails)]
        )
        report = app.record_events([EventInput(name="signup", email=e) for e in emails])
        assert not report.rejected
    finally:
        app.close()


def crash_and_restart(url: str, tmp_path: Path, arrivals: Callable[[], int], **env: str) -> int:
    """Run, SIGKILL once ``KILL_AT`` messages arrived, run again until idle; the arrivals at
    the kill."""
    first = start_logged(RUN, db=url, cwd=tmp_path, name="first", **env)
    kill_when(first, lambda: arrivals() >= KILL_AT, tmp_path, "first", poll=0.005)
    at_kill = arrivals()
    assert at_kill < MESSAGES, "killed before the end of the delivery"
    second = start_logged(RUN, db=url, cwd=tmp_path, name="second", **env)
    assert second.wait(timeout=240) == 0, logged(tmp_path, "second")
    return at_kill


def outbox(url: str) -> tuple[dict[str, int], list[tuple[str, str]]]:
    """The messages' statuses counted, and each message's (key, sender)."""
    reader = Reader(url)
    try:
        statuses = dict(reader.rows("SELECT status, count(*) FROM messages GROUP BY status"))
        return statuses, reader.rows("SELECT idempotency_key, sender FROM messages")
    finally:
        reader.close()


def assert_bounded_copies(
    arrived: list[str], expected: set[str], statuses: dict[str, int], in_flight: int, at_kill: int
) -> None:
    """Every message arrived (``arrived``: what identified each arrival), all recorded as sent,
    and at most ``in_flight + RECORD_GROUP`` arrived twice."""
    copies = Counter(arrived)
    duplicates = len(arrived) - len(copies)
    bound = in_flight + RECORD_GROUP
    print(f"{at_kill} arrived before the kill; {duplicates} copies sent twice (bound {bound})")
    assert statuses == {"sent": MESSAGES}
    assert set(copies) == expected, "every message arrived, and nothing else"
    assert max(copies.values()) <= 2
    assert duplicates <= bound, f"{duplicates} copies sent twice; at most {bound} were in flight"


@pytest.fixture
def http() -> Iterator[Any]:
    with http_server.HttpServer() as server:
        yield server


def test_email_copies_after_a_kill_are_bounded_by_what_was_in_flight(
    cli_db_url: str, cli_smtp_server: SmtpServer, tmp_path: Path
) -> None:
    prepare(cli_db_url, {"send_email": {"subject": "Hello", "html": "<p>Hello</p>"}})
    handler = cli_smtp_server.handler
    smtp_url = cli_smtp_server.url
    at_kill = crash_and_restart(cli_db_url, tmp_path, handler.count, JOURNEYMAN_SMTP_URL=smtp_url)

    connections = smtp.SmtpSettings.from_url(smtp_url).connections
    statuses, rows = outbox(cli_db_url)
    arrived = [arrival.message_id for arrival in handler.snapshot()]
    expected = {message_id(key, sender) for key, sender in rows}
    assert_bounded_copies(arrived, expected, statuses, connections, at_kill)


def test_sms_copies_after_a_kill_are_bounded_by_what_was_in_flight(
    cli_db_url: str, http: Any, tmp_path: Path
) -> None:
    http.answer = lambda request: http_server.Reply(status=201, json={"sid": "SM" + "0" * 32})
    prepare(cli_db_url, {"send_sms": {"text": "Hello"}})
    provider = f"twilio+http://{SID}:{TOKEN}@127.0.0.1:{http.port}?from=%2B15550001111"
    at_kill = crash_and_restart(
        cli_db_url, tmp_path, lambda: len(http.requests), JOURNEYMAN_SMS_URL=provider
    )

    statuses, rows = outbox(cli_db_url)
    arrived = [r.headers["i-twilio-idempotency-token"] for r in list(http.requests)]
    assert_bounded_copies(
        arrived, {key for key, _ in rows}, statuses, sms.DEFAULT_CONCURRENCY, at_kill
    )


def test_webhook_copies_after_a_kill_are_bounded_by_what_was_in_flight(
    cli_db_url: str, http: Any, tmp_path: Path
) -> None:
    http.answer = lambda request: http_server.Reply(json={"ok": True})
    prepare(
        cli_db_url,
        {
            "call_webhook": {"url": http.url("/hook"), "body": {"n": 1}},
            "success": "end",
            "failure": "end",
        },
    )
    at_kill = crash_and_restart(
        cli_db_url,
        tmp_path,
        lambda: len(http.requests),
        JOURNEYMAN_WEBHOOK_ALLOW_NETWORKS="127.0.0.0/8",
    )

    statuses, rows = outbox(cli_db_url)
    arrived = [r.headers["idempotency-key"] for r in list(http.requests)]
    assert_bounded_copies(
        arrived, {key for key, _ in rows}, statuses, webhook.DEFAULT_CONCURRENCY, at_kill
    )
