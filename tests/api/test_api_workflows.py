"""Changes made through the API start workflows as CLI ones do: the server's engine enrols,
steps and delivers (captured), and the email lands in the outbox. On SQLite and PostgreSQL."""

from __future__ import annotations

import signal
import subprocess
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from command import journeyman_command

from .api_support import Reader, Server, cli, environment, wait_for

WELCOME = """\
key: api-welcome
name: Welcome from the API
entry_points:
  - event: signed_up
steps:
  - id: welcome
    send_email:
      from: "Shop <shop@example.com>"
      subject: "Welcome {{ contact.FIRSTNAME }}"
      html: "<p>Your plan: {{ event.properties.plan }}</p>"
"""

MEMBERS = """\
key: api-members
name: New members
entry_points:
  - list_added: API VIP
  - attribute_changed: {name: LEVEL}
steps:
  - id: hello
    send_email:
      from: "Shop <shop@example.com>"
      subject: "Hello member"
      html: "<p>Hello</p>"
"""


def sent_to(reader: Reader, email: str) -> list[tuple[Any, ...]]:
    return reader.rows(
        "SELECT subject, html, status FROM messages WHERE recipient = :email", email=email
    )


def delivered(reader: Reader, email: str) -> list[tuple[Any, ...]] | None:
    rows = sent_to(reader, email)
    return rows if rows and all(r[2] == "sent" for r in rows) else None


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def server(request: pytest.FixtureRequest) -> Server:
    name = "api_server" if request.param == "sqlite" else "pg_api_server"
    found: Server = request.getfixturevalue(name)
    return found


def test_an_api_event_starts_a_workflow_whose_email_lands_in_the_outbox(
    server: Server, tmp_path: Path
) -> None:
    document = tmp_path / "welcome.yaml"
    document.write_text(WELCOME)
    cli(tmp_path, server.db_url, "workflow", "apply", str(document))
    reader = Reader(server.db_url)
    try:
        with server.client() as http:
            answer = http.post(
                "/v3/events",
                json={
                    "event_name": "signed_up",
                    "identifiers": {"email_id": "newbie@example.com"},
                    "contact_properties": {"FIRSTNAME": "Jo"},
                    "event_properties": {"plan": "pro"},
                },
            )
        assert answer.status_code == 204, answer.text

        rows = wait_for(lambda: delivered(reader, "newbie@example.com"), what="the welcome email")
    finally:
        reader.close()

    assert rows == [("Welcome Jo", "<p>Your plan: pro</p>", "sent")]
    listed = cli(tmp_path, server.db_url, "outbox", "list").stdout
    assert "newbie@example.com" in listed and "Welcome Jo" in listed


def test_list_and_attribute_changes_through_the_api_start_workflows(
    api_server: Server, tmp_path: Path, reader: Reader
) -> None:
    with api_server.client() as http:
        assert http.post("/v3/contacts/attributes/normal/LEVEL", json={"type": "float"}).is_success
        vip = http.post("/v3/contacts/lists", json={"name": "API VIP"}).json()["id"]
        document = tmp_path / "members.yaml"
        document.write_text(MEMBERS)
        cli(tmp_path, api_server.db_url, "workflow", "apply", str(document))
        for email in ("joiner@example.com", "climber@example.com", "bystander@example.com"):
            assert http.post("/v3/contacts", json={"email": email}).status_code == 201

        joined = http.post(
            f"/v3/contacts/lists/{vip}/contacts/add", json={"emails": ["joiner@example.com"]}
        )
        climbed = http.put("/v3/contacts/climber@example.com", json={"attributes": {"LEVEL": 2}})
        assert (joined.status_code, climbed.status_code) == (201, 204)

    for email in ("joiner@example.com", "climber@example.com"):
        rows = wait_for(partial(delivered, reader, email), what=f"the email to {email}")
        assert rows == [("Hello member", "<p>Hello</p>", "sent")]
    assert sent_to(reader, "bystander@example.com") == []


def test_the_worker_runs_the_engine_without_the_api(tmp_path: Path) -> None:
    """``journeyman worker``: the engine and the dispatcher alone, stopped by SIGTERM."""
    db_url = f"sqlite:///{tmp_path / 'worker.db'}"
    document = tmp_path / "welcome.yaml"
    document.write_text(WELCOME)
    cli(tmp_path, db_url, "workflow", "apply", str(document))
    cli(
        tmp_path,
        db_url,
        "event",
        "send",
        "signed_up",
        "--email",
        "w@example.com",
        "--prop",
        "plan=free",
    )
    log = tmp_path / "worker.log"
    with log.open("wb") as output:
        worker = subprocess.Popen(
            [journeyman_command(), "--db", db_url, "worker"],
            cwd=tmp_path,
            env=environment(),
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    reader = Reader(db_url)
    try:
        rows = wait_for(lambda: delivered(reader, "w@example.com"), what="the worker's email")
    finally:
        reader.close()
        worker.send_signal(signal.SIGTERM)
        code = worker.wait(timeout=30)

    assert rows == [("Welcome", "<p>Your plan: free</p>", "sent")]
    assert code == 0, log.read_text()
    assert "Traceback" not in log.read_text()
