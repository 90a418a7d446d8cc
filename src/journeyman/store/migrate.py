"""Alembic, driven from code: ``journeyman db upgrade`` and the automatic first-use upgrade."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Engine

from journeyman.store.database import READ_ONLY

MIGRATIONS = Path(__file__).parent / "migrations"


def _config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = engine
    return config


def current_revision(engine: Engine) -> str | None:
    """Read without the write lock (SQLite): every command opens the database with this
    check, and a read-only one must not wait for a writer."""
    with engine.connect() as connection:
        reading = connection.execution_options(**{READ_ONLY: True})
        return MigrationContext.configure(reading).get_current_revision()


def head_revision(engine: Engine) -> str | None:
    return ScriptDirectory.from_config(_config(engine)).get_current_head()


def upgrade(engine: Engine, revision: str = "head") -> None:
    command.upgrade(_config(engine), revision)


def ensure_current(engine: Engine) -> bool:
    """Upgrade when the database is behind; True when it did."""
    if current_revision(engine) == head_revision(engine):
        return False
    upgrade(engine)
    return True
