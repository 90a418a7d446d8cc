"""The database itself: which schema revision it is at."""

from __future__ import annotations

from journeyman.services.context import Context
from journeyman.store import migrate


def revision(context: Context) -> str | None:
    """The schema revision the database is at (None: not created yet)."""
    return migrate.current_revision(context.engine)
