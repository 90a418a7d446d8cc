"""Reads on the engine's hot path, executed through the driver.

SQLAlchemy builds the SQL; the driver runs it and returns plain tuples. That skips the
per-row result machinery (Row objects, result processors), which cost several times the
database's own work for the engine's per-batch reads. Only for statements whose bound
values need no conversion (ids, names, JSON text): values go to the driver as they are.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import Connection


def rows(connection: Connection, statement: sa.Select[Any]) -> list[tuple[Any, ...]]:
    compiled = statement.compile(dialect=connection.dialect)
    params: Any = compiled.params
    if compiled.positiontup is not None:  # qmark (SQLite): values in order
        params = tuple(params[name] for name in compiled.positiontup)
    cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(str(compiled), params)
        return list(cursor.fetchall())
    finally:
        cursor.close()


def json_value(value: Any) -> Any:
    """A JSON column's value: SQLite hands over the text, psycopg the decoded value."""
    return orjson.loads(value) if isinstance(value, str | bytes) else value


def time_text(value: Any) -> str:
    """A time column's value as ISO 8601 text (SQLite stores text in UTC without zone)."""
    if isinstance(value, str):
        return value.replace(" ", "T") + "+00:00"
    return str(value.astimezone(dt.UTC).isoformat())
