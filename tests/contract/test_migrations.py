"""A database Journeyman has never seen is migrated on first use, once."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from journeyman import App, Settings
from journeyman.store import make_engine, migrate, schema


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

        assert migrate.current_revision(engine) == migrate.head_revision(engine)
        assert migrate.ensure_current(engine) is False
        tables = set(sa.inspect(engine).get_table_names())
        assert set(schema.metadata.tables) <= tables
        with engine.connect() as connection:
            seeded = connection.execute(sa.select(schema.attribute_definitions.c.name)).scalars()
            assert sorted(seeded) == ["FIRSTNAME", "LASTNAME"]
    finally:
        engine.dispose()


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
