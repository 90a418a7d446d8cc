"""Where SQLite and PostgreSQL differ in the queries, behind one function each."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Connection


def one_of(connection: Connection, column: sa.ColumnElement[Any], values: Iterable[Any]) -> Any:
    """``column IN values`` with the values as ONE parameter, whatever their number.

    An expanding IN costs a bound parameter (and its Python processing) per value and hits
    SQLite's parameter limit; a JSON array (SQLite ``json_each``) or a PostgreSQL array
    (``= ANY``) does not.
    """
    items = sorted(set(values))
    if not items:
        # PostgreSQL cannot type an empty array against a text column: nothing matches.
        return sa.false()
    if connection.dialect.name == "postgresql":
        kind: Any = sa.String if items and isinstance(items[0], str) else sa.BigInteger
        return column == sa.any_(sa.bindparam(None, items, type_=postgresql.ARRAY(kind)))
    each = sa.func.json_each(sa.bindparam(None, json.dumps(items), type_=sa.String))
    return column.in_(sa.select(each.table_valued("value").c.value))
