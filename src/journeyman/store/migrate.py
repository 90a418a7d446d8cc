"""Alembic, driven from code: ``journeyman db upgrade`` and the automatic first-use upgrade.

Every command opens the database with a revision check, so the check reads the
``alembic_version`` row with plain SQL and takes the newest revision from the migration
files' names (``NNNN_what.py`` holds revision ``NNNN``; tests/unit/test_migrations.py holds
the scripts to that rule). Alembic itself, a third of a second to import, is loaded only to
upgrade.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from journeyman.store.database import READ_ONLY

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).parent / "migrations"
VERSION_TABLE = "alembic_version"


def script_revisions() -> list[str]:
    """The revisions of the migration scripts, oldest first, from their file names."""
    return sorted(
        path.name[:4] for path in (MIGRATIONS / "versions").glob("[0-9][0-9][0-9][0-9]_*.py")
    )


HEAD = script_revisions()[-1]


def _config(engine: Engine) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = engine
    return config


def current_revision(engine: Engine) -> str | None:
    """Read without the write lock (SQLite): every command opens the database with this
    check, and a read-only one must not wait for a writer."""
    with engine.connect() as connection:
        reading = connection.execution_options(**{READ_ONLY: True})
        if not sa.inspect(reading).has_table(VERSION_TABLE):
            return None
        found = reading.execute(sa.text(f"SELECT version_num FROM {VERSION_TABLE}")).scalars()
        revisions = list(found)
    return revisions[0] if len(revisions) == 1 else None


def upgrade(engine: Engine, revision: str = "head") -> None:
    from alembic import command

    command.upgrade(_config(engine), revision)


def ensure_current(engine: Engine) -> bool:
    """Upgrade when the database is behind; True when it did."""
    if current_revision(engine) == HEAD:
        return False
    upgrade(engine)
    return True
