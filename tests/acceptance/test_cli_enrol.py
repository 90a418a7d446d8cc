"""Manual enrolment through the ``journeyman`` command, on SQLite and on PostgreSQL:
``workflow enrol KEY --email ... --list ...`` queues the contacts, the next run enrols them
as the workflow's re-entry rules allow; bad names exit 2 with every problem on stderr."""

from __future__ import annotations

from pathlib import Path

from .cli_support import Cli, Reader

TAGGER = """\
key: tagger
name: Leads from signups
entry_points:
  - event: signup
steps:
  - id: lead
    add_to_list: {lists: Leads}
"""

ONBOARDING = """\
key: onboarding
name: Onboarding, by hand
entry_points:
  - list_added: Onboarded          # never happens here: contacts come in by hand
reentry: once
steps:
  - id: welcome
    send_email:
      subject: "Welcome aboard"
      html: "<p>Hello {{ contact.email }}</p>"
"""


def test_enrol_contacts_and_list_members_by_hand(cli: Cli, cli_db_url: str, tmp_path: Path) -> None:
    db = cli_db_url
    (tmp_path / "tagger.yaml").write_text(TAGGER, encoding="utf-8")
    (tmp_path / "onboarding.yaml").write_text(ONBOARDING, encoding="utf-8")
    (tmp_path / "people.csv").write_text("EMAIL\nann@example.com\n", encoding="utf-8")
    cli("workflow", "apply", "tagger.yaml", db=db)
    cli("workflow", "apply", "onboarding.yaml", db=db)
    cli("contacts", "import", "people.csv", db=db)
    for email in ("jo@example.com", "max@example.com"):
        cli("event", "send", "signup", "--email", email, db=db)
    cli("run", "--until-idle", db=db)

    queued = cli("workflow", "enrol", "onboarding", "--email", "Ann@Example.com",
                 "--list", "Leads", db=db)  # fmt: skip
    cli("run", "--until-idle", db=db)
    again = cli("workflow", "enrol", "onboarding", "--email", "jo@example.com", db=db)
    cli("run", "--until-idle", db=db)
    unknown = cli("workflow", "enrol", "onboarding", "--email", "nobody@example.com",
                  "--list", "Nowhere", db=db, expect=2)  # fmt: skip

    assert "workflow onboarding: 3 contact(s) queued for enrolment" in queued.out
    assert "1 contact(s) queued" in again.out
    assert (
        "no contact with email 'nobody@example.com'; list 'Nowhere' does not exist" in unknown.err
    )
    reader = Reader(db)
    try:
        recipients = reader.rows("SELECT recipient FROM messages ORDER BY recipient")
        runs = reader.value(
            "SELECT count(*) FROM runs JOIN workflows ON workflows.id = runs.workflow_id "
            "WHERE workflows.key = 'onboarding'"
        )
    finally:
        reader.close()
    assert recipients == [("ann@example.com",), ("jo@example.com",), ("max@example.com",)]
    assert runs == 3  # jo's second enrolment was refused: re-entry is off
