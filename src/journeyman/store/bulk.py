"""The hot path's bulk writes, straight through the driver.

SQLAlchemy's executemany builds and type-processes a parameter dict per row; for the
engine's per-tick inserts (runs, run log, outbox rows) that bookkeeping cost more than the
database work. Here rows are plain tuples, encoded once: SQLite gets ``executemany``
(one prepared statement), PostgreSQL gets ``COPY``. The column lists come from
``schema`` tables, so the SQL stays in step with the schema.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from functools import cache
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Connection


class Bulk:
    """Bulk writes within the caller's transaction."""

    def __init__(self, connection: Connection) -> None:
        self._connection = connection
        self.postgres = connection.dialect.name == "postgresql"
        self._times: dict[dt.datetime, str] = {}

    def time(self, value: dt.datetime | None) -> Any:
        """A UTC time as the column type stores it (SQLite: the text form SQLAlchemy uses);
        a naive time is refused, as ``schema.UtcDateTime`` refuses it."""
        if value is None:
            return value
        if self.postgres:
            if value.tzinfo is None:
                raise ValueError(f"naive datetime {value!r}: Journeyman stores aware UTC times")
            return value
        text = self._times.get(value)  # most rows of a batch share the same few times
        if text is None:
            if value.tzinfo is None:
                raise ValueError(f"naive datetime {value!r}: Journeyman stores aware UTC times")
            v = value.astimezone(dt.UTC)
            text = (
                f"{v.year:04d}-{v.month:02d}-{v.day:02d} "
                f"{v.hour:02d}:{v.minute:02d}:{v.second:02d}.{v.microsecond:06d}"
            )
            self._times[value] = text
        return text

    @staticmethod
    def json(value: Any) -> str:
        return orjson.dumps(value).decode()

    def allocate_ids(self, table: sa.Table, count: int) -> list[int]:
        """``count`` fresh primary keys for ``table``, before inserting its rows.

        SQLite: the caller holds the write lock (BEGIN IMMEDIATE), so the ids after the
        highest one ever used are ours.
        PostgreSQL: drawn from the column's sequence.
        """
        if count == 0:
            return []
        with self._cursor() as cursor:
            if self.postgres:
                # The sequence looked up once, not once per id (``nextval(text)`` per row
                # resolved the name each time: 8 µs per id instead of 1).
                cursor.execute(
                    "SELECT nextval(q.s) FROM (SELECT pg_get_serial_sequence("
                    f"'{table.name}', 'id')::regclass AS s OFFSET 0) AS q "
                    f"CROSS JOIN generate_series(1, {int(count)})"
                )
                return [r[0] for r in cursor.fetchall()]
            # Past the highest id the table ever gave out (``sqlite_sequence``, kept by
            # AUTOINCREMENT, migration 0012), not only past the rows there now: a deleted
            # row's id is never given to another. Inserting them moves the sequence on.
            cursor.execute(
                f"SELECT max(coalesce((SELECT max(id) FROM {table.name}), 0), coalesce(("
                f"SELECT seq FROM sqlite_sequence WHERE name = '{table.name}'), 0))"
            )
            start = int(cursor.fetchone()[0]) + 1
        return list(range(start, start + count))

    def insert(
        self,
        table: sa.Table,
        columns: Sequence[str],
        rows: Sequence[tuple[Any, ...]],
        *,
        ignore_conflicts: bool = False,
    ) -> None:
        """Insert rows; with ``ignore_conflicts`` a row hitting a unique key is skipped."""
        if not rows:
            return
        names = tuple(columns)
        if self.postgres and not ignore_conflicts:
            sql, types, json_at = _copy_plan(table, names)
            with self._cursor() as cursor, cursor.copy(sql) as copy:
                copy.set_types(types)
                if not json_at:
                    for row in rows:
                        copy.write_row(row)
                    return
                for row in rows:
                    cells = list(row)
                    for i in json_at:
                        if cells[i] is not None:
                            cells[i] = _jsonb(cells[i])
                    copy.write_row(cells)
        elif self.postgres:
            sql = (
                f"INSERT INTO {table.name} ({', '.join(names)}) "
                f"SELECT * FROM unnest({_arrays(table, names)}) ON CONFLICT DO NOTHING"
            )
            with self._cursor() as cursor:
                cursor.execute(sql, _columns_of(rows, len(names)))
        else:
            verb = "INSERT OR IGNORE" if ignore_conflicts else "INSERT"
            marks = ", ".join("?" * len(names))
            sql = f"{verb} INTO {table.name} ({', '.join(names)}) VALUES ({marks})"
            with self._cursor() as cursor:
                cursor.executemany(sql, rows)

    def update(
        self,
        table: sa.Table,
        columns: Sequence[str],
        rows: Sequence[tuple[Any, ...]],
        *,
        guard: tuple[str, Any] | None = None,
    ) -> int:
        """Set ``columns`` from rows of (value, ..., id); with ``guard`` = (column, value)
        only rows where that column holds that value change. The number of rows changed."""
        if not rows:
            return 0
        names = (*columns, "id")
        if self.postgres:
            sets = ", ".join(f"{c} = v.{c}" for c in columns)
            sql = (
                f"UPDATE {table.name} AS t SET {sets} FROM unnest({_arrays(table, names)}) "
                f"AS v({', '.join(names)}) WHERE t.id = v.id"
            )
            params: list[Any] = _columns_of(rows, len(names))
            if guard is not None:
                sql += f" AND t.{table.c[guard[0]].name} = %s"
                params.append(guard[1])
            with self._cursor() as cursor:
                cursor.execute(sql, params)
                return int(cursor.rowcount)
        sql = f"UPDATE {table.name} SET {', '.join(f'{c} = ?' for c in columns)} WHERE id = ?"
        if guard is not None:
            sql += f" AND {table.c[guard[0]].name} = ?"
            rows = [(*row, guard[1]) for row in rows]
        with self._cursor() as cursor:
            cursor.executemany(sql, rows)
            return int(cursor.rowcount)

    @contextmanager
    def cursor(self) -> Iterator[Any]:
        """The driver's cursor, for statements written per dialect."""
        with self._cursor() as cursor:
            yield cursor

    @contextmanager
    def _cursor(self) -> Iterator[Any]:
        cursor = self._connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
        try:
            yield cursor
        finally:
            cursor.close()


def _columns_of(rows: Sequence[tuple[Any, ...]], width: int) -> list[Any]:
    """Rows to one list per column (PostgreSQL takes each as an array parameter)."""
    return [list(column) for column in zip(*rows, strict=True)] if rows else [[]] * width


def _arrays(table: sa.Table, names: tuple[str, ...]) -> str:
    return ", ".join(f"%b::{_pg_type(table, n)}[]" for n in names)  # binary: no quoting


_POSTGRES = postgresql.dialect()  # type: ignore[no-untyped-call]


@cache
def _pg_type(table: sa.Table, name: str) -> str:
    return str(table.c[name].type.compile(dialect=_POSTGRES))


# COPY in PostgreSQL's binary format: the server takes each value as it is stored, without
# parsing text (timestamps above all). A 500-row COPY into ``events`` took 19.8 µs per row
# in text and 10.3–12.2 in binary (both including the client's encoding), the same machine.
# The psycopg type each column is sent as, by the compiled column type; JSONB goes as the
# bytes of its binary form (a version byte, then the JSON text the callers pass).
_COPY_TYPES = {
    "BIGINT": "int8",
    "INTEGER": "int4",
    "SMALLINT": "int2",
    "VARCHAR": "text",  # the same binary form; the server still checks the length
    "TEXT": "text",
    "BOOLEAN": "bool",
    "TIMESTAMP WITH TIME ZONE": "timestamptz",
    "FLOAT": "float8",
    "DOUBLE PRECISION": "float8",
    "DATE": "date",
    "JSONB": "bytea",
}
_JSONB_VERSION = b"\x01"


@cache
def _copy_plan(table: sa.Table, columns: tuple[str, ...]) -> tuple[str, list[str], list[int]]:
    """The COPY statement, the type each column is sent as, and where the JSONB columns are."""
    kinds = [_pg_type(table, name).split("(")[0] for name in columns]
    unknown = [
        f"{table.name}.{n}: {k}"
        for n, k in zip(columns, kinds, strict=True)
        if k not in _COPY_TYPES
    ]
    if unknown:
        raise TypeError(f"no binary COPY type for {', '.join(unknown)}")
    sql = f"COPY {table.name} ({', '.join(columns)}) FROM STDIN (FORMAT BINARY)"
    json_at = [i for i, kind in enumerate(kinds) if kind == "JSONB"]
    return sql, [_COPY_TYPES[k] for k in kinds], json_at


def _jsonb(text: str) -> bytes:
    """JSON text (what ``Bulk.json`` returns) in JSONB's binary form."""
    if type(text) is not str:
        raise TypeError(f"a JSONB column takes JSON text here, not {type(text).__name__}")
    return _JSONB_VERSION + text.encode()
