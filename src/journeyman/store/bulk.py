"""The hot path's bulk writes, straight through the driver.

SQLAlchemy's executemany builds and type-processes a parameter dict per row; for the
engine's per-tick inserts (runs, run log, outbox rows) that bookkeeping cost more than the
database work. Here rows are plain tuples, encoded once: SQLite gets ``executemany``
(one prepared statement), PostgreSQL gets ``COPY``. The column lists come from
``schema`` tables, so the SQL stays in step with the schema.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from functools import cache
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection


class Bulk:
    """Bulk writes within the caller's transaction."""

    def __init__(self, connection: Connection) -> None:
        self._connection = connection
        self.postgres = connection.dialect.name == "postgresql"

    def time(self, value: dt.datetime | None) -> Any:
        """A UTC time as the column type stores it (SQLite: the text form SQLAlchemy uses)."""
        if value is None or self.postgres:
            return value
        v = value.astimezone(dt.UTC)
        return (
            f"{v.year:04d}-{v.month:02d}-{v.day:02d} "
            f"{v.hour:02d}:{v.minute:02d}:{v.second:02d}.{v.microsecond:06d}"
        )

    @staticmethod
    def json(value: Any) -> str:
        return json.dumps(value, separators=(",", ":"))

    def allocate_ids(self, table: sa.Table, count: int) -> list[int]:
        """``count`` fresh primary keys for ``table``, before inserting its rows.

        SQLite: the caller holds the write lock (BEGIN IMMEDIATE), so max(id) + 1... is ours.
        PostgreSQL: drawn from the column's sequence.
        """
        if count == 0:
            return []
        if self.postgres:
            rows = self._connection.exec_driver_sql(
                f"SELECT nextval(pg_get_serial_sequence('{table.name}', 'id')) "
                f"FROM generate_series(1, {int(count)})"
            )
            return [r[0] for r in rows]
        top = self._connection.exec_driver_sql(f"SELECT max(id) FROM {table.name}").scalar()
        start = int(top or 0) + 1
        return list(range(start, start + count))

    def insert(
        self,
        table: sa.Table,
        columns: Sequence[str],
        rows: Sequence[tuple[Any, ...]],
        *,
        ignore_conflicts: bool = False,
    ) -> None:
        if not rows:
            return
        names = tuple(columns)
        if self.postgres and not ignore_conflicts:
            raw = self._connection.connection.driver_connection
            with raw.cursor() as cursor, cursor.copy(_copy_sql(table.name, names)) as copy:  # type: ignore[union-attr]
                for row in rows:
                    copy.write_row(row)
            return
        sql = _insert_sql(table.name, names, self.postgres, ignore_conflicts)
        self._connection.exec_driver_sql(sql, list(rows))

    def update_by_id(
        self,
        table: sa.Table,
        columns: Sequence[str],
        rows: Sequence[tuple[Any, ...]],
        *,
        only_if: tuple[str, str] | None = None,
    ) -> None:
        """``rows`` are (value, ..., id) tuples; ``only_if`` = (column, text value) guards."""
        if rows:
            mark = "%s" if self.postgres else "?"
            assignments = ", ".join(f"{c} = {mark}" for c in columns)
            sql = f"UPDATE {table.name} SET {assignments} WHERE id = {mark}"
            if only_if is not None:
                column, value = only_if
                if not value.isidentifier() or column not in table.c:
                    raise ValueError(f"bad guard {only_if!r}")
                sql += f" AND {column} = '{value}'"
            self._connection.exec_driver_sql(sql, list(rows))

    def update_checked(self, sql: str, rows: Sequence[tuple[Any, ...]]) -> int:
        """Run an UPDATE (written with ``?`` marks) for every row; the rows it changed."""
        if not rows:
            return 0
        if self.postgres:
            sql = sql.replace("?", "%s")
        cursor = self._connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
        try:
            cursor.executemany(sql, list(rows))
            return int(cursor.rowcount)
        finally:
            cursor.close()


@cache
def _copy_sql(table: str, columns: tuple[str, ...]) -> str:
    return f"COPY {table} ({', '.join(columns)}) FROM STDIN"


@cache
def _insert_sql(table: str, columns: tuple[str, ...], postgres: bool, ignore: bool) -> str:
    marks = ", ".join(["%s" if postgres else "?"] * len(columns))
    verb = "INSERT OR IGNORE" if ignore and not postgres else "INSERT"
    tail = " ON CONFLICT DO NOTHING" if ignore and postgres else ""
    return f"{verb} INTO {table} ({', '.join(columns)}) VALUES ({marks}){tail}"
