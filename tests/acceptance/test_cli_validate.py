"""``journeyman workflow validate`` checks what apply checks: the file always, and the names it
uses when the database exists (never creating or upgrading it), on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

from .cli_support import Cli, Reader

WORKFLOW = """\
key: scoring
name: Score and hand over
entry_points:
  - event: demo_requested
steps:
  - id: score
    update_attribute: {name: DEMO_SCORE, add: 10}
    next: hand_over
  - id: hand_over
    assign_user: {user: alice@example.com}
    next: tag
  - id: tag
    add_to_list: {lists: Demo requests}
    next: follow_up
  - id: follow_up
    start_workflow: {workflow: nurture}
"""
SCORE = "step 'score', field 'update_attribute.name': attribute 'DEMO_SCORE' does not exist"
ALICE = "step 'hand_over', field 'assign_user.user': user 'alice@example.com' does not exist"
NURTURE = "step 'follow_up', field 'start_workflow.workflow': workflow 'nurture' does not exist"


def test_without_a_database_only_the_file_is_checked_and_nothing_is_created(
    cli: Cli, cli_db_url: str, tmp_path: Path
) -> None:
    (tmp_path / "scoring.yaml").write_text(WORKFLOW, encoding="utf-8")

    implicit = cli("workflow", "validate", "scoring.yaml")  # the default journeyman.db
    given = cli("workflow", "validate", "scoring.yaml", db=cli_db_url)

    for result in (implicit, given):
        assert "scoring.yaml: valid (4 steps, key scoring)" in result.out
        assert "not checked" in result.out
    assert sorted(p.name for p in tmp_path.iterdir()) == ["scoring.yaml"]
    if cli_db_url.startswith("postgresql"):
        reader = Reader(cli_db_url)
        try:
            tables = "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'"
            assert reader.value(tables) == 0
        finally:
            reader.close()


def test_with_a_database_the_names_are_checked_as_apply_checks_them(
    cli: Cli, cli_db_url: str, tmp_path: Path
) -> None:
    db = cli_db_url
    (tmp_path / "scoring.yaml").write_text(WORKFLOW, encoding="utf-8")
    cli("db", "upgrade", db=db)

    refused = cli("workflow", "validate", "scoring.yaml", db=db, expect=2)
    applied = cli("workflow", "apply", "scoring.yaml", db=db, expect=2)
    as_draft = cli("workflow", "validate", "--draft", "scoring.yaml", db=db, expect=2)
    alone = cli("workflow", "validate", "--document-only", "scoring.yaml", db=db)

    for problem in (SCORE, ALICE, NURTURE):
        assert problem in refused.err
    assert refused.err == applied.err
    assert SCORE in as_draft.err and NURTURE not in as_draft.err
    assert "valid (4 steps" in alone.out and "not checked: --document-only" in alone.out
    assert "scoring" not in cli("workflow", "list", db=db).out
    assert "Demo requests" not in cli("lists", "list", db=db).out

    cli("attributes", "define", "DEMO_SCORE", "number", db=db)
    cli("users", "create", "Alice", "alice@example.com", db=db)
    nurture = WORKFLOW.replace("key: scoring", "key: nurture").split("  - id: score")[0]
    nurture += "  - id: wait\n    delay: {days: 2}\n"
    (tmp_path / "nurture.yaml").write_text(nurture, encoding="utf-8")
    cli("workflow", "apply", "nurture.yaml", db=db)

    accepted = cli("workflow", "validate", "scoring.yaml", db=db)

    assert "scoring.yaml: valid (4 steps, key scoring)" in accepted.out
    assert "apply creates list 'Demo requests'" in accepted.out
    assert "scoring" not in cli("workflow", "list", db=db).out
    assert "Demo requests" not in cli("lists", "list", db=db).out
