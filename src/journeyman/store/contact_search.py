"""Searching contacts: an email substring, typed attribute filters, list membership, and a
sort by any number attribute, one page at a time.

Attributes live in one JSON column, so a filter or sort on one reads every contact the other
conditions leave (no index holds an attribute); list membership goes through the members'
primary key. Each attribute expression checks the JSON type first, so a value of another
type never matches a filter (a text stored before a number attribute was defined is not
"greater than 5") and sorts last. The two databases differ only in how a JSON value's type
and text are read (``_Json``).
"""

from __future__ import annotations

import enum
import operator
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from journeyman.model.contacts import AttributeType
from journeyman.store.schema import contacts, list_members


class Op(enum.StrEnum):
    EQ = "eq"
    NE = "ne"
    LT = "lt"
    LTE = "lte"
    GT = "gt"
    GTE = "gte"
    CONTAINS = "contains"
    SET = "set"  # the attribute has a value
    UNSET = "unset"


@dataclass(frozen=True, kw_only=True)
class AttributeFilter:
    """``name op value`` on an attribute of ``type``; ``value`` is already of that type
    (a float for numbers, a bool for booleans, ``YYYY-MM-DD`` for dates, else text)."""

    name: str
    type: AttributeType
    op: Op
    value: Any = None


@dataclass(frozen=True, kw_only=True)
class ContactSearch:
    email_contains: str | None = None  # lower case
    list_ids: tuple[int, ...] = ()  # a member of each
    filters: tuple[AttributeFilter, ...] = ()
    sort_attribute: str | None = None  # a number attribute; None: by id (creation)
    descending: bool = True


class _Json:
    """A JSON attribute's type and values, on one database."""

    def __init__(self, dialect: str, name: str) -> None:
        self.postgres = dialect == "postgresql"
        self.element = contacts.c.attributes[name]
        self.path = sa.literal(f'$."{name}"')

    def type(self) -> sa.ColumnElement[Any]:
        if self.postgres:
            return sa.func.jsonb_typeof(self.element)
        return sa.func.json_type(contacts.c.attributes, self.path)

    def is_number(self) -> sa.ColumnElement[bool]:
        return self.type() == "number" if self.postgres else self.type().in_(("integer", "real"))

    def is_text(self) -> sa.ColumnElement[bool]:
        return self.type() == ("string" if self.postgres else "text")

    def number(self) -> sa.ColumnElement[Any]:
        """The value when it is a number, else NULL."""
        value = (
            self.element.as_float()
            if self.postgres
            else sa.func.json_extract(contacts.c.attributes, self.path)
        )
        return sa.case((self.is_number(), value))

    def text(self) -> sa.ColumnElement[Any]:
        """The value when it is a text, else NULL."""
        value = (
            self.element.as_string()
            if self.postgres
            else sa.func.json_extract(contacts.c.attributes, self.path)
        )
        return sa.case((self.is_text(), value))

    def boolean(self, wanted: bool) -> sa.ColumnElement[bool]:
        word = "true" if wanted else "false"
        if self.postgres:
            return sa.and_(self.type() == "boolean", self.element.as_string() == word)
        return self.type() == word

    def is_set(self) -> sa.ColumnElement[bool]:
        return sa.and_(self.type().is_not(None), self.type() != "null")


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


_COMPARISONS = {
    Op.EQ: operator.eq,
    Op.NE: operator.ne,
    Op.LT: operator.lt,
    Op.LTE: operator.le,
    Op.GT: operator.gt,
    Op.GTE: operator.ge,
}


def _compare(column: sa.ColumnElement[Any], op: Op, value: Any) -> sa.ColumnElement[bool]:
    if op is Op.CONTAINS:
        return column.like(_like(str(value)), escape="\\")
    found: sa.ColumnElement[bool] = _COMPARISONS[op](column, value)
    return found


def attribute_condition(dialect: str, found: AttributeFilter) -> sa.ColumnElement[bool]:
    json = _Json(dialect, found.name)
    if found.op is Op.SET:
        return json.is_set()
    if found.op is Op.UNSET:
        return sa.not_(json.is_set())
    if found.type is AttributeType.BOOLEAN:
        matches = json.boolean(bool(found.value))
        return matches if found.op is Op.EQ else sa.not_(matches)
    if found.type is AttributeType.NUMBER:
        return _compare(json.number(), found.op, found.value)
    return _compare(json.text(), found.op, found.value)


def _conditions(dialect: str, search: ContactSearch) -> list[sa.ColumnElement[bool]]:
    found: list[sa.ColumnElement[bool]] = []
    if search.email_contains:
        found.append(contacts.c.email.like(_like(search.email_contains), escape="\\"))
    for list_id in search.list_ids:
        found.append(
            sa.exists().where(
                list_members.c.list_id == list_id, list_members.c.contact_id == contacts.c.id
            )
        )
    found += [attribute_condition(dialect, f) for f in search.filters]
    return found


def search_contacts_txn(
    connection: Connection, search: ContactSearch, *, limit: int, offset: int
) -> tuple[list[int], int]:
    """The ids of one page of matching contacts, in the order asked, and how many match.
    Ties (and contacts without the sort attribute, last) go by id, newest first."""
    dialect = connection.dialect.name
    conditions = _conditions(dialect, search)
    total = connection.execute(
        sa.select(sa.func.count()).select_from(contacts).where(*conditions)
    ).scalar_one()
    order: Sequence[Any]
    by_id = contacts.c.id.desc() if search.descending else contacts.c.id.asc()
    if search.sort_attribute is None:
        order = (by_id,)
    else:
        value = _Json(dialect, search.sort_attribute).number()
        first = value.desc() if search.descending else value.asc()
        order = (first.nulls_last(), contacts.c.id.desc())
    statement = (
        sa.select(contacts.c.id).where(*conditions).order_by(*order).limit(limit).offset(offset)
    )
    return list(connection.execute(statement).scalars()), int(total)
