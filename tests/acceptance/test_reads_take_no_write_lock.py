"""Reading never waits for a writer on SQLite: while another connection holds the database's
one write lock (``BEGIN IMMEDIATE``, as the engine's and the API's writes take it), the
read-only commands and the services' reads answer at once.

They open read transactions (``BEGIN``: a WAL snapshot). A read that took the write lock
would wait for it, and fail with "database is locked" after the busy timeout (60 s): the lock
is held until the read has ended, so it must succeed without it, however slow the machine.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from journeyman.app import App
from journeyman.config import Settings
from journeyman.services import journeys, messages, reports, stats, versions, workflows

from .cli_support import Cli

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
READS = (
    ("workflow", "list"),
    ("workflow", "history", "welcome"),
    ("workflow", "validate", "welcome.yaml"),
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
    args: tuple[str, ...], cli: Cli, database: str, write_locked: None
) -> None:
    cli(*args, db=database)


def test_the_services_read_while_a_writer_holds_the_lock(
    database: str, write_locked: None, tmp_path: Path
) -> None:
    app = App.open(Settings(database_url=database))
    reads: list[Callable[[], Any]] = [
        lambda: workflows.list_workflows(app),
        lambda: workflows.summaries(app),
        lambda: workflows.detail(app, "welcome"),
        lambda: workflows.validate(app, _document(tmp_path)),
        lambda: versions.history(app, "welcome"),
        lambda: versions.document(app, "welcome", 1),
        lambda: versions.current(app, "welcome"),
        lambda: versions.diff(app, "welcome", 1),
        lambda: app.segment_emails({"did_event": "signup"}),
        lambda: journeys.of_email(app, "ann@example.com"),
        lambda: journeys.workflow_runs(app, "welcome", status=None, limit=10, offset=0),
        lambda: messages.page(app, limit=10, offset=0),
        lambda: messages.detail(app, 1),
        lambda: reports.conversions(app, by_step=True),
        lambda: stats.of_workflow(app, "welcome"),
    ]
    try:
        for read in reads:
            read()
    finally:
        app.close()


def _document(tmp_path: Path) -> dict[str, Any]:
    import yaml

    document: dict[str, Any] = yaml.safe_load((tmp_path / "welcome.yaml").read_text())
    return document
