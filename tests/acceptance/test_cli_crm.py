"""Users, deals and tasks through the ``journeyman`` command, on SQLite and on PostgreSQL."""

from __future__ import annotations

from pathlib import Path

from .cli_support import Cli, Reader

WORKFLOW = """\
key: trial-deal
name: Deal for every trial
entry_points:
  - event: trial_started
steps:
  - id: assign
    assign_user: {round_robin: [alice@example.com, bob@example.com]}
    next: deal
  - id: deal
    create_deal:
      name: "Trial {{ event.properties.plan }} for {{ contact.email }}"
      pipeline: sales
      stage: trial
      amount: {from_event: seats}
      owner: contact_owner
    next: call
  - id: call
    create_task:
      title: "Call {{ contact.email }}"
      type: call
      due_in_days: 2
      assignee: {user: bob@example.com}
"""


def table_rows(stdout: str) -> list[list[str]]:
    """The body rows of a rich table (one line per row: the tests run with COLUMNS=250)."""
    return [
        [cell.strip() for cell in line.strip().strip("│").split("│")]
        for line in stdout.splitlines()
        if line.startswith("│")
    ]


def test_users_then_a_workflow_that_creates_deals_and_tasks(
    cli: Cli, cli_db_url: str, tmp_path: Path
) -> None:
    db = cli_db_url
    (tmp_path / "trial.yaml").write_text(WORKFLOW, encoding="utf-8")

    refused = cli("workflow", "apply", "trial.yaml", db=db, expect=2)
    created = cli("users", "create", "Alice Smith", "Alice@Example.com", db=db)
    cli("users", "create", "Bob Jones", "bob@example.com", db=db)
    duplicate = cli("users", "create", "Alice again", "alice@example.com", db=db, expect=2)
    listed = cli("users", "list", db=db)

    assert "step 'assign', field 'assign_user.round_robin.0'" in refused.err
    assert "user 'alice@example.com' does not exist" in refused.err
    assert "user alice@example.com created (id 1)" in created.out
    assert "user alice@example.com exists already" in duplicate.err
    assert table_rows(listed.stdout) == [
        ["1", "Alice Smith", "alice@example.com"],
        ["2", "Bob Jones", "bob@example.com"],
    ]

    cli("workflow", "apply", "trial.yaml", db=db)
    for email in ("jo@example.com", "max@example.com"):
        cli("event", "send", "trial_started", "--email", email, "--prop", "plan=Pro",
            "--prop", "seats=12", db=db)  # fmt: skip
    ran = cli("run", "--until-idle", db=db)
    deals = table_rows(cli("deals", "list", db=db).stdout)
    tasks = table_rows(cli("tasks", "list", db=db).stdout)

    assert "6 steps" in ran.out
    assert deals == [  # newest first; owners in turn: alice, then bob
        ["2", "Trial Pro for max@example.com", "sales", "trial", "12.0", "open",
         "bob@example.com", "max@example.com"],
        ["1", "Trial Pro for jo@example.com", "sales", "trial", "12.0", "open",
         "alice@example.com", "jo@example.com"],
    ]  # fmt: skip
    assert [(t[1], t[2], t[4], t[5], t[6], t[7]) for t in tasks] == [
        ("Call max@example.com", "call", "bob@example.com", "max@example.com", "2", "False"),
        ("Call jo@example.com", "call", "bob@example.com", "jo@example.com", "1", "False"),
    ]
    reader = Reader(db)
    try:
        owners = reader.rows("SELECT email, owner_id FROM contacts ORDER BY email")
    finally:
        reader.close()
    assert owners == [("jo@example.com", 1), ("max@example.com", 2)]
