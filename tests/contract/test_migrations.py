"""A database Journeyman has never seen is migrated on first use, once."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from journeyman import App, Settings
from journeyman.store import make_engine, migrate, schema
from journeyman.store.bulk import Bulk


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'new.db'}"
    return str(request.getfixturevalue("pg_url"))


def test_a_new_database_is_migrated_once_on_first_use(empty_url: str) -> None:
    engine = make_engine(empty_url)
    try:
        assert migrate.current_revision(engine) is None

        App.open(Settings(database_url=empty_url)).close()

        assert migrate.current_revision(engine) == migrate.HEAD
        with engine.connect() as connection:  # the plain-SQL reading agrees with Alembic's
            assert MigrationContext.configure(connection).get_current_revision() == migrate.HEAD
        assert migrate.ensure_current(engine) is False
        tables = set(sa.inspect(engine).get_table_names())
        assert set(schema.metadata.tables) <= tables
        with engine.connect() as connection:
            seeded = connection.execute(sa.select(schema.attribute_definitions.c.name)).scalars()
            assert sorted(seeded) == ["FIRSTNAME", "LASTNAME"]
    finally:
        engine.dispose()


def test_the_newest_script_by_file_name_is_alembics_head() -> None:
    """The start-up check takes the head from the file names without importing Alembic:
    each script's revision is its file's four-digit prefix, in one line of descent."""
    scripts = ScriptDirectory(str(migrate.MIGRATIONS))
    assert scripts.get_current_head() == migrate.HEAD
    for script in scripts.walk_revisions():
        assert Path(script.path).name[:4] == script.revision
    assert [s.revision for s in reversed(list(scripts.walk_revisions()))] == (
        migrate.script_revisions()
    )


def test_the_migrations_build_exactly_the_schema_the_code_declares(empty_url: str) -> None:
    """Alembic's autogenerate finds nothing to add: schema.py and the migrations agree
    (tables, columns, indexes) on both databases."""
    App.open(Settings(database_url=empty_url)).close()
    engine = make_engine(empty_url)
    try:
        with engine.connect() as connection:
            drift = compare_metadata(MigrationContext.configure(connection), schema.metadata)
        assert drift == []
    finally:
        engine.dispose()


def test_sqlite_ids_deleted_before_the_upgrade_to_0012_are_not_given_out_again(
    tmp_path: Path,
) -> None:
    """Rows are kept through the rebuild, and the next ids pass those that only the kept
    messages and CRM records still name: contact 5, run 9 (deleted before the upgrade)."""
    engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    at = "2026-01-01 00:00:00"
    try:
        migrate.upgrade(engine, "0011")
        with engine.begin() as connection:
            for sql in (
                "INSERT INTO contacts (id, email, attributes, created_at, modified_at)"
                f" VALUES (1, 'a@example.com', '{{}}', '{at}', '{at}'),"
                f" (2, 'b@example.com', '{{}}', '{at}', '{at}')",
                "INSERT INTO runs (id, workflow_id, version_id, contact_id, status, seq,"
                " context, entered_at, updated_at)"
                f" VALUES (3, 1, 1, 2, 'completed', 1, '{{}}', '{at}', '{at}')",
                "INSERT INTO messages (idempotency_key, contact_id, channel, sender, subject,"
                " html, status, created_at)"
                f" VALUES ('7:mail:0', 5, 'email', 's', '', '', 'sent', '{at}')",
                "INSERT INTO deals (name, pipeline, stage, status, source_key, created_at)"
                f" VALUES ('d', 'p', 's', 'open', '9:deal:2', '{at}')",
            ):
                connection.execute(sa.text(sql))

        migrate.upgrade(engine)

        with engine.begin() as connection:
            emails = connection.execute(sa.text("SELECT email FROM contacts ORDER BY id"))
            assert emails.scalars().all() == ["a@example.com", "b@example.com"]
            assert connection.execute(sa.text("SELECT contact_id FROM runs")).scalar() == 2
            table_sql = connection.execute(
                sa.text("SELECT sql FROM sqlite_master WHERE name = 'contacts'")
            ).scalar_one()
            assert "AUTOINCREMENT" in table_sql
            bulk = Bulk(connection)
            assert bulk.allocate_ids(schema.contacts, 2) == [6, 7]
            assert bulk.allocate_ids(schema.runs, 1) == [10]
            connection.execute(
                sa.text("INSERT INTO lists (name, created_at) VALUES ('x', :at), ('y', :at)"),
                {"at": at},
            )
            connection.execute(sa.text("DELETE FROM lists WHERE name = 'y'"))
            connection.execute(
                sa.text("INSERT INTO lists (name, created_at) VALUES ('z', :at)"), {"at": at}
            )
            ids = connection.execute(sa.text("SELECT id FROM lists ORDER BY id")).scalars()
            assert ids.all() == [1, 3]
    finally:
        engine.dispose()


def test_the_folder_ids_lists_named_before_0016_become_folders(empty_url: str) -> None:
    """Lists kept their folder id as text, naming no folder: each id becomes a folder, the
    first folder holds the others, and new folders take the next id (PostgreSQL's sequence
    is moved past the ids given)."""
    engine = make_engine(empty_url)
    try:
        migrate.upgrade(engine, "0015")
        with engine.begin() as connection:
            connection.execute(
                sa.text(
                    "INSERT INTO lists (name, folder, created_at) VALUES"
                    " ('a', '7', :at), ('b', NULL, :at), ('c', 'Archive', :at), ('d', '7', :at)"
                ),
                {"at": "2026-01-01 00:00:00+00:00"},
            )

        migrate.upgrade(engine)

        with engine.begin() as connection:
            rows = connection.execute(sa.text("SELECT id, name FROM contact_folders ORDER BY id"))
            assert [tuple(r) for r in rows] == [(1, "Your first folder"), (7, "Folder 7")]
            new = connection.execute(
                sa.insert(schema.contact_folders)
                .values(name="New")
                .returning(schema.contact_folders.c.id)
            ).scalar_one()
            assert new == 8
    finally:
        engine.dispose()
