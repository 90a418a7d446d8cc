"""``journeyman secret`` and the secret as processes see it (issue 16, point 4): generated once
by whichever process comes first, on SQLite and PostgreSQL; overridden by JOURNEYMAN_SECRET,
which may not be the old public development value; rotated with a grace period."""

from __future__ import annotations

import datetime as dt
import subprocess
from pathlib import Path

from journeyman.app import App
from journeyman.config import Settings
from journeyman.links import workflow_secret
from journeyman.store import read_transaction, signing_secrets

from .cli_support import Cli, Reader, clean_environment, command_line


def test_the_secret_is_generated_once_by_processes_starting_at_once(
    cli_db_url: str, tmp_path: Path
) -> None:
    App.open(Settings(database_url=cli_db_url)).close()  # migrated: the race is the secret's
    started = [
        subprocess.Popen(
            command_line("workflow", "secret", "wf", db=cli_db_url),
            cwd=tmp_path,
            env=clean_environment(),
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    printed = {process.communicate(timeout=180)[0].strip() for process in started}

    assert [process.returncode for process in started] == [0, 0, 0, 0]
    reader = Reader(cli_db_url)
    try:
        stored = reader.rows("SELECT generation, value FROM signing_secrets")
    finally:
        reader.close()
    assert [generation for generation, _ in stored] == [1]
    assert printed == {workflow_secret(stored[0][1].encode(), "wf")}


def test_journeyman_secret_overrides_and_the_old_development_value_is_refused(
    cli: Cli, cli_db_url: str
) -> None:
    explicit = "an explicit secret of 32 chars.."
    stored = cli("workflow", "secret", "wf", db=cli_db_url).stdout.strip()
    overridden = cli("workflow", "secret", "wf", db=cli_db_url, JOURNEYMAN_SECRET=explicit)
    development = cli(
        "workflow",
        "secret",
        "wf",
        db=cli_db_url,
        expect=2,
        JOURNEYMAN_SECRET="journeyman-development-secret",
    )
    rotate = cli("secret", "rotate", db=cli_db_url, expect=2, JOURNEYMAN_SECRET=explicit)

    assert overridden.stdout.strip() == workflow_secret(explicit.encode(), "wf") != stored
    assert development.stdout == ""
    assert "JOURNEYMAN_SECRET is the old development value" in development.err
    assert "Traceback" not in development.stderr
    assert len(development.stderr.strip().splitlines()) == 1
    assert "JOURNEYMAN_SECRET is set" in rotate.err


def test_secret_rotate_keeps_the_previous_one_for_the_grace_period(
    cli: Cli, cli_db_url: str
) -> None:
    before = cli("workflow", "secret", "wf", db=cli_db_url).stdout.strip()
    rotated = cli("secret", "rotate", "--grace", "30d", db=cli_db_url)
    after = cli("workflow", "secret", "wf", db=cli_db_url).stdout.strip()
    listed = cli("secret", "list", db=cli_db_url)
    garbage = cli("secret", "rotate", "--grace", "soon", db=cli_db_url, expect=2)

    assert after != before
    assert "secret rotated (generation 2)" in rotated.err
    journeyman = App.open(Settings(database_url=cli_db_url))
    try:
        with read_transaction(journeyman.engine) as connection:
            current, previous = signing_secrets.history_txn(connection)
    finally:
        journeyman.close()
    assert (current.generation, current.retired_at, current.verifies_until) == (2, None, None)
    assert previous.retired_at == current.created_at
    assert previous.verifies_until == current.created_at + dt.timedelta(days=30)
    assert "(current)" in listed.out and "generation" in listed.out
    assert stored_value_not_shown(listed.stdout, cli_db_url)
    assert "--grace 'soon': expected a number and a unit" in garbage.err


def stored_value_not_shown(output: str, db_url: str) -> bool:
    reader = Reader(db_url)
    try:
        values = [v for (v,) in reader.rows("SELECT value FROM signing_secrets")]
    finally:
        reader.close()
    return not any(value[:12] in output for value in values)
