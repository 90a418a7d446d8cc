"""``journeyman workflow simulate`` as a user runs it: from a file and from a stored key, a
stored contact whose history sends it the other way, the skipped time in the table, the email
it would send, ``--json``, and a bad option refused with exit status 2."""

from __future__ import annotations

import json
from pathlib import Path

from .cli_support import Cli, Reader

WORKFLOW = """\
key: sim-cli
name: Welcome, then a reminder
entry_points:
  - event: signup
steps:
  - id: known
    if: {event_count: {event: signup, equals: 1}}
    then: hello
    else: end
  - id: hello
    send_email:
      from: "Shop <shop@example.com>"
      subject: "Welcome {{ contact.FIRSTNAME | default('friend', true) }}"
      html: "<p>Hello</p>"
    next: wait
  - id: wait
    delay: {days: 3, hours: 2}
    next: remind
  - id: remind
    send_email:
      from: "Shop <shop@example.com>"
      subject: "Still there?"
      html: "<p>Hello again</p>"
"""


def test_simulate_a_file_and_a_stored_workflow(cli: Cli, tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'journeyman.db'}"
    (tmp_path / "welcome.yaml").write_text(WORKFLOW, encoding="utf-8")

    made_up = cli("workflow", "simulate", "welcome.yaml", "--attribute", "FIRSTNAME=Zoe", db=db).out
    assert "new contact simulated.contact@example.com, event signup" in made_up
    assert "Welcome Zoe" in made_up
    assert "+3d 2h" in made_up  # the reminder, after the skipped delay
    assert "Still there?" in made_up
    assert "ended after +3d 2h: completed" in made_up

    cli("workflow", "apply", "welcome.yaml", db=db)
    cli("event", "send", "signup", "--email", "old@example.com", db=db)
    stored = json.loads(
        cli("workflow", "simulate", "sim-cli", "--email", "old@example.com", "--json", db=db).out
    )
    assert stored["stored_contact"] is True
    assert [(s["step_id"], s["branch"]) for s in stored["steps"]] == [("known", "else")]
    assert stored["messages"] == []
    reader = Reader(db)
    try:  # the simulation sent nothing and ran nothing in the real store
        assert reader.value("SELECT count(*) FROM messages") == 0
        assert reader.value("SELECT count(*) FROM runs") == 0
    finally:
        reader.close()

    # The contact signs up again a day later: re-entry is off, so that entry is refused.
    again = json.loads(
        cli(
            "workflow", "simulate", "sim-cli", "--then", "signup@1d2h source=ad", "--json", db=db
        ).out
    )
    assert [(s["step_id"], s["branch"]) for s in again["steps"] if s["kind"] == "if"] == [
        ("known", "then"),
    ]
    assert again["refusals"] == ["re-entry is off and the contact already entered this workflow"]
    bad_delay = cli("workflow", "simulate", "sim-cli", "--then", "signup@soon", db=db, expect=2)
    assert "expected NAME@DELAY [key=value ...]" in bad_delay.err  # brackets kept, not markup

    refused = cli("workflow", "simulate", "sim-cli", "--webhook-json", "{not json", db=db, expect=2)
    assert "--webhook-json is not JSON" in refused.err
    missing = cli("workflow", "simulate", "sim-none", db=db, expect=1)
    assert "no workflow with key 'sim-none'" in missing.err
