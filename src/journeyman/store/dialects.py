"""The few places where SQLite and PostgreSQL differ, behind one function each."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection


def insert_ignoring_conflicts(
    connection: Connection, table: sa.Table, rows: Sequence[dict[str, Any]]
) -> int:
    """Insert rows; rows that hit a unique key are skipped. Returns how many were inserted."""
    if not rows:
        return 0
    dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
    statement = dialect.insert(table).on_conflict_do_nothing()
    return connection.execute(statement, list(rows)).rowcount


def chunks(items: Sequence[Any], size: int = 900) -> list[Sequence[Any]]:
    """SQLite allows a bounded number of bound parameters per statement."""
    return [items[i : i + size] for i in range(0, len(items), size)]
