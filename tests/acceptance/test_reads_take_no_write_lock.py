"""Reading never waits for a writer on SQLite: while another connection holds the database's
one write lock (``BEGIN IMMEDIATE``, as the engine's and the API's writes take it), the
read-only commands and the services' reads answer at once.

They open read transactions (``BEGIN``: a WAL snapshot). A read that took the write lock
would wait up to the busy timeout (60 s) and then fail with "database is locked".
"""

from __future__ import annotations

import sqlite3
import subprocess
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from cli_support import Cli, clean_environment, command_line

from journeyman.app import App
from journeyman.config import Settings
from journeyman.services import journeys, messages, reports, stats, versions, workflows

WORKFLOW = """\
key: welcome
name: Welcome
entry_points:
  - event: signup
steps:
  - id: mail
    send_email:
      from: "Shop <shop@example.com>"
      subject: "Welcome"
      html: "<p>Hello</p>"
"""
WAIT = 20  # seconds: far beyond a read, far below the busy timeout

READS = (
    ("workflow", "list"),
    ("workflow", "history", "welcome"),
    ("workflow", "diff", "welcome", "1"),
    ("workflow", "validate", "welcome.yaml"),
    ("workflow", "simulate", "welcome", "--email", "ann@example.com"),
    ("contacts", "show", "ann@example.com"),
    ("users", "list"),
    ("deals", "list"),
    ("tasks", "list"),
    ("report", "conversions"),
    ("outbox", "list"),
    ("outbox", "show", "1"),
)


@pytest.fixture
def database(cli: Cli, tmp_path: Path) -> str:
    """A SQLite file with a workflow, a contact that went through it and its email."""
    db = f"sqlite:///{tmp_path / 'journeyman.db'}"
    (tmp_path / "welcome.yaml").write_text(WORKFLOW, encoding="utf-8")
    cli("workflow", "apply", "welcome.yaml", db=db)
    cli("event", "send", "signup", "--email", "ann@example.com", db=db)
    cli("run", "--until-idle", db=db)
    return db


@pytest.fixture
def write_locked(tmp_path: Path, database: str) -> Iterator[None]:
    """Another connection holds the write lock for the test's duration."""
    holder = sqlite3.connect(tmp_path / "journeyman.db", isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    holder.execute("UPDATE workflows SET name = name")
    try:
        yield
    finally:
        holder.execute("ROLLBACK")
        holder.close()


@pytest.mark.parametrize("args", READS, ids=" ".join)
def test_a_read_only_command_answers_while_a_writer_holds_the_lock(
    args: tuple[str, ...], database: str, write_locked: None, tmp_path: Path
) -> None:
    try:
        done = subprocess.run(
            command_line(*args, db=database),
            cwd=tmp_path,
            env=clean_environment(),
            capture_output=True,
            text=True,
            timeout=WAIT,
            check=False,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"journeyman {' '.join(args)} waited for the write lock")
    assert done.returncode == 0, done.stderr


def test_the_services_read_while_a_writer_holds_the_lock(
    database: str, write_locked: None, tmp_path: Path
) -> None:
    app = App.open(Settings(database_url=database))
    reads: dict[str, Callable[[], Any]] = {
        "workflows.list_workflows": lambda: workflows.list_workflows(app),
        "workflows.summaries": lambda: workflows.summaries(app),
        "workflows.detail": lambda: workflows.detail(app, "welcome"),
        "workflows.validate": lambda: workflows.validate(app, _document(tmp_path)),
        "versions.history": lambda: versions.history(app, "welcome"),
        "versions.document": lambda: versions.document(app, "welcome", 1),
        "versions.current": lambda: versions.current(app, "welcome"),
        "versions.diff": lambda: versions.diff(app, "welcome", 1),
        "segment_emails": lambda: app.segment_emails({"did_event": {"name": "signup"}}),
        "journeys.of_email": lambda: journeys.of_email(app, "ann@example.com"),
        "journeys.workflow_runs": lambda: journeys.workflow_runs(
            app, "welcome", status=None, limit=10, offset=0
        ),
        "messages.page": lambda: messages.page(app, limit=10, offset=0),
        "messages.detail": lambda: messages.detail(app, 1),
        "reports.conversions": lambda: reports.conversions(app, by_step=True),
        "stats.of_workflow": lambda: stats.of_workflow(app, "welcome"),
    }
    try:
        waited = [name for name, read in reads.items() if not _answers(read)]
    finally:
        app.close()
    assert waited == []


def _document(tmp_path: Path) -> dict[str, Any]:
    import yaml

    document: dict[str, Any] = yaml.safe_load((tmp_path / "welcome.yaml").read_text())
    return document


def _answers(read: Callable[[], Any]) -> bool:
    """True when ``read()`` returns within WAIT seconds, False when it is still waiting (it
    finishes once the lock is released, when the test ends); its error is raised here."""
    failed: list[BaseException] = []

    def reading() -> None:
        try:
            read()
        except BaseException as exc:  # raised in the test's thread, below
            failed.append(exc)

    thread = threading.Thread(target=reading, daemon=True)
    thread.start()
    thread.join(WAIT)
    if failed:
        raise failed[0]
    return not thread.is_alive()
