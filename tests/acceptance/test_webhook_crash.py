"""A ``journeyman run --until-idle`` killed with SIGKILL while a webhook call waits for its
answer: started again, it calls again with the same idempotency key, and the run completes
through the success branch, having executed the webhook step once."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from journeyman.app import App
from journeyman.channels.webhook import verify
from journeyman.config import Settings
from journeyman.links import workflow_secret
from journeyman.services.events import EventInput
from journeyman.store.contacts import ContactInput

from .cli_support import (
    Reader,
    http_server_module,
    logged,
    start_logged,
)

http_server = http_server_module()
KEY = "enrich-on-signup"
EMAIL = "jane@example.com"
SLOW_ANSWER = 5.0  # seconds the first call waits for its answer; the kill comes before
ALLOW_LOOPBACK = {"JOURNEYMAN_WEBHOOK_ALLOW_NETWORKS": "127.0.0.0/8"}


@pytest.fixture
def server() -> Iterator[Any]:
    with http_server.HttpServer() as server:
        yield server


def prepare(url: str, webhook_url: str) -> None:
    app = App.open(Settings(database_url=url))
    try:
        app.apply_workflow(
            {
                "key": KEY,
                "name": "Enrich on signup",
                "entry_points": [{"event": "signup"}],
                "steps": [
                    {
                        "id": "lookup",
                        "call_webhook": {
                            "url": webhook_url,
                            "body": {"email": "{{ contact.email }}"},
                            "timeout": 30,
                        },
                        "success": "welcome",
                        "failure": "end",
                    },
                    {
                        "id": "welcome",
                        "send_email": {
                            "subject": "Welcome, {{ webhook.lookup.json.tier }} member",
                            "html": "<p>Hello</p>",
                        },
                    },
                ],
            }
        )
        app.upsert_contacts([ContactInput(email=EMAIL)])
        app.record_events([EventInput(name="signup", email=EMAIL)])
    finally:
        app.close()


def start(url: str, tmp_path: Path, name: str) -> subprocess.Popen[bytes]:
    return start_logged(("run", "--until-idle"), db=url, cwd=tmp_path, name=name, **ALLOW_LOOPBACK)


def context(value: Any) -> dict[str, Any]:
    """A JSON column as read with plain SQL: text on SQLite, parsed on PostgreSQL."""
    return json.loads(value) if isinstance(value, str) else dict(value)


def test_a_run_killed_while_waiting_for_the_webhook_answer_completes_after_a_restart(
    cli_db_url: str, server: Any, tmp_path: Path
) -> None:
    Reply = http_server.Reply
    server.reply(Reply(json={"tier": "never seen"}, delay=SLOW_ANSWER))
    server.answer = lambda _: Reply(json={"tier": "gold"})
    prepare(cli_db_url, server.url("/enrich"))

    first = start(cli_db_url, tmp_path, "first")
    deadline = time.monotonic() + 60
    while not server.requests:
        if first.poll() is not None:
            pytest.fail(f"the run ended before calling:\n{logged(tmp_path, 'first')}")
        if time.monotonic() > deadline:
            first.kill()
            pytest.fail("no webhook call within 60 s")
        time.sleep(0.01)
    called = time.monotonic()  # the answer is due SLOW_ANSWER after the call arrived
    os.kill(first.pid, signal.SIGKILL)
    assert first.wait(timeout=30) == -signal.SIGKILL
    assert time.monotonic() - called < SLOW_ANSWER, "killed before the answer came"

    reader = Reader(cli_db_url)
    try:
        assert reader.rows("SELECT status, step_id FROM runs") == [("waiting", "lookup")]
        assert reader.rows("SELECT status, attempts FROM messages") == [("sending", 1)]

        second = start(cli_db_url, tmp_path, "second")
        assert second.wait(timeout=60) == 0, logged(tmp_path, "second")

        ((status, step, raw_context),) = reader.rows("SELECT status, step_id, context FROM runs")
        log = reader.rows("SELECT step_id, result, branch, reason FROM run_log ORDER BY seq")
        webhook_rows = reader.rows(
            "SELECT idempotency_key, status, attempts FROM messages WHERE channel = 'webhook'"
        )
        subjects = reader.rows("SELECT subject FROM messages WHERE channel = 'email'")
    finally:
        reader.close()

    killed, answered = server.requests
    ((key, call_status, attempts),) = webhook_rows
    app = App.open(Settings(database_url=cli_db_url), upgrade=False)
    try:
        secret = workflow_secret(app.keys.current(), KEY)  # the database's own, generated
    finally:
        app.close()
    for request in (killed, answered):
        headers = request.headers
        assert headers["idempotency-key"] == headers["webhook-id"] == key
        assert request.json() == {"email": EMAIL}
        signature = headers["webhook-signature"]
        assert verify(secret, key, headers["webhook-timestamp"], request.body, signature)
    assert (call_status, attempts) == ("sent", 2)
    assert (status, step) == ("completed", None)
    assert context(raw_context)["webhook"]["lookup"]["json"] == {"tier": "gold"}
    assert [row[:3] for row in log] == [
        ("lookup", "called", None),
        ("lookup", "success", "success"),
        ("welcome", "queued", "next"),
    ], "the webhook step ran once before the answer and once after it"
    assert log[1][3] == "webhook answered: HTTP 200"
    assert subjects == [("Welcome, gold member",)]
