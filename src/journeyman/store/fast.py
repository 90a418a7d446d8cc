"""Reads on the hot paths (the engine's passes, event ingestion), executed through the driver.

SQLAlchemy builds the SQL; the driver runs it and returns plain tuples. That skips the
per-row result machinery (Row objects, result processors), which cost several times the
database's own work for the engine's per-batch reads. Only for statements whose bound
values need no conversion (ids, names, JSON text): values go to the driver as they are.
The few reads run once per ingestion transaction are written by hand (``rows_matching``,
``driver_rows``): there, compiling a statement cost more than running it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import Compiled, Connection

# Compiled statements by (dialect, SQLAlchemy's cache key of the statement): the engine's
# passes build the same few statements again and again, and compiling one (about 120 us)
# cost ten times working out its key. Emptied when full: the shapes in use come back at once.
_COMPILED: dict[tuple[str, Any], Compiled] = {}
MAX_COMPILED = 500


def rows(connection: Connection, statement: sa.Select[Any]) -> list[tuple[Any, ...]]:
    dialect = connection.dialect
    key = statement._generate_cache_key()  # what SQLAlchemy's own statement cache keys on
    if key is None:  # a construct that cannot be cached: compiled each time
        compiled = statement.compile(dialect=dialect)
        params: Any = compiled.params
    else:
        compiled = _COMPILED.get((dialect.name, key.key))  # type: ignore[assignment]
        if compiled is None:
            if len(_COMPILED) >= MAX_COMPILED:
                _COMPILED.clear()
            compiled = statement.compile(dialect=dialect, cache_key=key)
            _COMPILED[(dialect.name, key.key)] = compiled
        # This statement's own values, put where the cached compilation has its parameters.
        params = compiled.construct_params(extracted_parameters=key.bindparams)
    if compiled.positiontup is not None:  # qmark (SQLite): values in order
        params = tuple(params[name] for name in compiled.positiontup)
    cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(str(compiled), params)
        return list(cursor.fetchall())
    finally:
        cursor.close()


def rows_matching(
    connection: Connection,
    table: str,
    columns: Sequence[str],
    key: str,
    values: Iterable[str] | Iterable[int],
    *,
    key_share: bool = False,
) -> list[tuple[Any, ...]]:
    """``columns`` of the rows of ``table`` whose ``key`` (an indexed column) is one of
    ``values``, which go as ONE parameter (as in ``dialects.one_of``). With ``key_share``
    the rows found are locked ``FOR KEY SHARE`` until the transaction ends (PostgreSQL; an
    SQLite writer holds the whole database): what a foreign key check would lock.

    Hand-written rather than compiled by SQLAlchemy: compiling costs more than the query on
    a per-event path. PostgreSQL looks each value up in the index (a lateral join): psycopg
    prepares a statement run often, and the generic plan of ``key = ANY($1)`` compares every
    row of the table with every value (no hashing of a parameter array), which took 0.2 s
    for 500 emails among 20,000 contacts.
    """
    items = list(values)
    if not items:
        return []
    selected = ", ".join(columns)
    if connection.dialect.name == "postgresql":
        kind = "text" if isinstance(items[0], str) else "bigint"
        sql = (
            f"SELECT {', '.join(f't.{c}' for c in columns)} FROM unnest(%s::{kind}[]) AS v(value), "
            f"LATERAL (SELECT {selected} FROM {table} WHERE {key} = v.value OFFSET 0"
            f"{' FOR KEY SHARE' if key_share else ''}) AS t"
        )
        return driver_rows(connection, sql, (items,))
    sql = f"SELECT {selected} FROM {table} WHERE {key} IN (SELECT value FROM json_each(?))"
    return driver_rows(connection, sql, (orjson.dumps(items).decode(),))


def driver_rows(connection: Connection, sql: str, params: Any = ()) -> list[tuple[Any, ...]]:
    """The rows of SQL written for the connection's dialect (its driver's placeholders)."""
    cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(sql, params)
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
