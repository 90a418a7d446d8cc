"""``journeyman workflow history|diff|rollback|migrate|stop`` as a user runs them (SQLite): a
run waits on version 1 while version 2 is applied, moves to version 2 with a step map, the
old version is published again, and stopping the workflow makes the runs inside exit."""

from __future__ import annotations

from pathlib import Path

from .cli_support import Cli, Reader

VERSION = """\
key: welcome-later
name: Welcome, a day later
reentry: every_time
entry_points:
  - event: signup
steps:
  - id: wait
    delay: {{days: 1}}
    next: {mail}
  - id: {mail}
    send_email:
      from: "Shop <shop@example.com>"
      subject: "{subject}"
      html: "<p>Hello</p>"
"""
MONDAY = "2027-01-04T09:00:00+00:00"
TUESDAY = "2027-01-05T10:00:00+00:00"


def write(tmp_path: Path, mail: str, subject: str) -> str:
    (tmp_path / f"{mail}.yaml").write_text(
        VERSION.format(mail=mail, subject=subject), encoding="utf-8"
    )
    return f"{mail}.yaml"


def table(stdout: str) -> list[list[str]]:
    """The body rows of a rich table, cell by cell."""
    return [
        [cell.strip() for cell in line.strip().strip("│").split("│")]
        for line in stdout.splitlines()
        if line.startswith("│")
    ]


def test_history_diff_migrate_rollback(cli: Cli, tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'journeyman.db'}"
    first = cli("workflow", "apply", write(tmp_path, "mail", "Version one"), db=db)
    cli("event", "send", "signup", "--email", "jane@example.com", db=db)
    cli("run", "--until-idle", "--now", MONDAY, db=db)
    second = cli("workflow", "apply", write(tmp_path, "welcome", "Version two"), db=db)

    history = cli("workflow", "history", "welcome-later", db=db)
    diff = cli("workflow", "diff", "welcome-later", "1", db=db)
    refused = cli(
        "workflow", "migrate", "welcome-later", "--from", "1", "--map", "mail=true", db=db, expect=2
    )
    moved = cli(
        "workflow", "migrate", "welcome-later", "--from", "1", "--map", "mail=welcome", db=db
    )
    reader = Reader(db)
    try:
        on_version = reader.rows(
            "SELECT v.version, r.step_id, r.status FROM runs r"
            " JOIN workflow_versions v ON v.id = r.version_id"
        )
        cli("run", "--until-idle", "--now", TUESDAY, db=db)
        sent = reader.rows("SELECT subject, step_id FROM messages")
        rolled = cli("workflow", "rollback", "welcome-later", "--to", "1", db=db)
        same = cli("workflow", "diff", "welcome-later", "1", "3", db=db)
        documents = reader.rows(
            "SELECT definition FROM workflow_versions WHERE version IN (1, 3) ORDER BY version"
        )
        current = reader.value(
            "SELECT v.version FROM workflows w JOIN workflow_versions v"
            " ON v.id = w.current_version_id"
        )
    finally:
        reader.close()

    assert "workflow welcome-later: version 1 (active)" in first.out
    assert "workflow welcome-later: version 2 (active)" in second.out
    versions = [(version, runs, now) for version, _, runs, now in table(history.stdout)]
    assert versions == [("1", "1", ""), ("2", "0", "*")]
    assert "--- welcome-later v1" in diff.stdout and "+++ welcome-later v2" in diff.stdout
    assert "-  next: mail" in diff.stdout and "+  next: welcome" in diff.stdout
    assert "-    subject: Version one" in diff.stdout
    assert "+    subject: Version two" in diff.stdout
    assert "steps true do not exist in version 2: map them (--map OLD=NEW)" in refused.err
    assert "workflow welcome-later: 1 run(s) moved from version 1" in moved.out
    assert on_version == [(2, "welcome", "waiting")]
    assert sent == [("Version two", "welcome")]
    assert "workflow welcome-later: version 1 published again as version 3" in rolled.out
    assert same.stdout == ""  # version 3 is version 1
    assert documents[0] == documents[1]
    assert current == 3


def test_stop_exits_the_runs_inside_with_the_reason(cli: Cli, tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'journeyman.db'}"
    cli("workflow", "apply", write(tmp_path, "mail", "Hello"), db=db)
    cli("event", "send", "signup", "--email", "jane@example.com", db=db)
    cli("run", "--until-idle", "--now", MONDAY, db=db)

    stopped = cli("workflow", "stop", "welcome-later", db=db)
    missing = cli("workflow", "history", "no-such-flow", db=db, expect=1)
    no_version = cli("workflow", "rollback", "welcome-later", "--to", "9", db=db, expect=1)
    reader = Reader(db)
    try:
        runs = reader.rows("SELECT status, step_id, due_at FROM runs")
        reasons = reader.rows("SELECT result, reason FROM run_log WHERE kind = 'lifecycle'")
        status = reader.value("SELECT status FROM workflows")
    finally:
        reader.close()

    assert "workflow welcome-later: stopped; 1 run(s) exited" in stopped.out
    assert runs == [("exited", "mail", None)]  # no longer due
    assert reasons == [("exited", "workflow stopped")]
    assert status == "stopped"
    assert "no workflow with key 'no-such-flow'" in missing.err
    assert "workflow 'welcome-later' has no version 9" in no_version.err
