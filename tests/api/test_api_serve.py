"""``journeyman serve``'s processes: by default the engine runs in a child process, woken by
the API when events are stored; SIGTERM stops both and exits 0, an engine child that dies
stops the server with a non-zero exit, and a child whose server was killed stops too.
``--engine in-process`` keeps one process."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from command import journeyman_command

from .api_support import (
    Reader,
    Server,
    cli,
    start_server,
    stop_server,
    wait_for,
)

WELCOME = """\
key: serve-welcome
name: Welcome
entry_points:
  - event: serve_signup
steps:
  - id: hello
    send_email:
      from: "Shop <shop@example.com>"
      subject: "Hello"
      html: "<p>Hello</p>"
"""


def children(pid: int) -> list[int]:
    """The live child processes of ``pid`` (Linux /proc)."""
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except FileNotFoundError:
        return []
    return [int(child) for child in text.split()]


def alive(pid: int) -> bool:
    """Running (not gone, not a zombie waiting for its parent)."""
    try:
        status = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return status != "Z"


def serve(tmp_path: Path, *options: str) -> Server:
    db_url = f"sqlite:///{tmp_path / 'journeyman.db'}"
    document = tmp_path / "welcome.yaml"
    document.write_text(WELCOME)
    cli(tmp_path, db_url, "workflow", "apply", str(document))
    return start_server(tmp_path, db_url, options=options)


def email_sent(server: Server, email: str) -> None:
    """An event posted to the API has its workflow's email sent by the engine."""
    with server.client() as http:
        answer = http.post(
            "/v3/events", json={"event_name": "serve_signup", "identifiers": {"email_id": email}}
        )
    assert answer.status_code == 204, answer.text
    reader = Reader(server.db_url)
    try:
        wait_for(
            lambda: (
                reader.value(
                    "SELECT count(*) FROM messages WHERE recipient = :e AND status = 'sent'",
                    e=email,
                )
                or None
            ),
            what=f"the email to {email}",
        )
    finally:
        reader.close()


def test_the_engine_runs_in_a_child_process_stopped_by_sigterm(tmp_path: Path) -> None:
    server = serve(tmp_path)
    try:
        [engine] = children(server.process.pid)
        email_sent(server, "child@example.com")
        assert alive(engine)
    finally:
        code = stop_server(server)
    log = server.log_text()
    assert code == 0, log
    assert "Traceback" not in log, log
    assert not alive(engine), "the engine child outlived its server"


def test_an_engine_child_that_dies_stops_the_server_with_an_error(tmp_path: Path) -> None:
    server = serve(tmp_path)
    try:
        [engine] = children(server.process.pid)
        os.kill(engine, signal.SIGKILL)
        code = server.process.wait(timeout=30)
    finally:
        stop_server(server)
    log = server.log_text()
    assert code == 1, log
    assert f"the engine process exited with status -{signal.SIGKILL.value}" in log
    with pytest.raises(httpx.TransportError):
        httpx.get(f"{server.url}/openapi.json", timeout=2)


def test_an_engine_child_stops_when_its_server_is_killed(tmp_path: Path) -> None:
    server = serve(tmp_path)
    try:
        [engine] = children(server.process.pid)
        server.process.send_signal(signal.SIGKILL)
        assert server.process.wait(timeout=30) == -signal.SIGKILL
        deadline = time.monotonic() + 30
        while alive(engine) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not alive(engine), "the engine child went on without its server"
    finally:
        stop_server(server)
    assert "the server process is gone" in server.log_text()


def test_in_process_engine_runs_in_the_server_process(tmp_path: Path) -> None:
    server = serve(tmp_path, "--engine", "in-process")
    try:
        assert children(server.process.pid) == []
        email_sent(server, "inside@example.com")
    finally:
        code = stop_server(server)
    log = server.log_text()
    assert code == 0, log
    assert "Traceback" not in log, log


def test_an_unknown_engine_mode_is_refused(tmp_path: Path) -> None:
    done = subprocess.run(
        [journeyman_command(), "--db", f"sqlite:///{tmp_path / 'x.db'}", "serve", "--engine", "x"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert "Invalid value for '--engine'" in done.stderr, done.stderr
