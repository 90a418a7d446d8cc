"""``store.bulk`` on PostgreSQL: rows go in by binary COPY, typed from the schema, and read
back as written; ids come from the table's sequence."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from journeyman.store import database, schema, transaction
from journeyman.store.bulk import Bulk, _copy_plan

pytestmark = pytest.mark.postgres

POSTGRES = postgresql.dialect()  # type: ignore[no-untyped-call]
EVENT_COLUMNS = tuple(c.name for c in schema.events.c if c.name != "taken_as")  # set by claims
AT = dt.datetime(2026, 12, 2, 10, 30, 15, 123456, tzinfo=dt.UTC)


def test_every_column_of_every_table_has_a_binary_copy_type() -> None:
    for table in schema.metadata.sorted_tables:
        sql, types, json_at = _copy_plan(table, tuple(table.c.keys()))
        assert sql.endswith("FROM STDIN (FORMAT BINARY)")
        assert len(types) == len(table.c)
        json_columns = [c.name for c in table.c if str(c.type.compile(POSTGRES)) == "JSONB"]
        assert [table.c.keys()[i] for i in json_at] == json_columns


def test_rows_read_back_as_written(pg_db_url: str) -> None:
    engine = database.make_engine(pg_db_url)
    try:
        with transaction(engine) as connection:
            bulk = Bulk(connection)
            contact_ids = bulk.allocate_ids(schema.contacts, 2)
            bulk.insert(
                schema.contacts,
                ("id", "email", "attributes", "created_at", "modified_at", "owner_id"),
                [
                    (
                        contact_ids[0],
                        "ana@example.com",
                        '{"FIRSTNAME": "Ana", "n": [1, 2.5]}',
                        AT,
                        AT,
                        None,
                    ),
                    (contact_ids[1], "bo@example.com", "{}", AT, AT, 7),
                ],
            )
            event_ids = bulk.allocate_ids(schema.events, 1)
            bulk.insert(
                schema.events,
                EVENT_COLUMNS,
                [
                    (
                        event_ids[0],
                        "purchase",
                        contact_ids[0],
                        AT,
                        '{"total": "9.90"}',
                        "api",
                        True,
                        AT,
                    )
                ],
            )
            bulk.insert(
                schema.conversions,
                ("id", "name", "value", "currency", "contact_id", "at"),
                [(1, "order", 19, "EUR", contact_ids[1], AT)],  # an int for a FLOAT column
            )
            bulk.insert(
                schema.anniversary_marks,
                ("contact_id", "attribute", "days_before", "due_on"),
                [(contact_ids[0], "BIRTHDAY", 3, dt.date(2027, 2, 28))],
            )
        with transaction(engine) as connection:
            people = connection.execute(
                sa.select(
                    schema.contacts.c.email,
                    schema.contacts.c.attributes,
                    schema.contacts.c.owner_id,
                    schema.contacts.c.created_at,
                ).order_by(schema.contacts.c.id)
            ).all()
            event = connection.execute(sa.select(schema.events)).one()
            conversion = connection.execute(sa.select(schema.conversions.c.value)).scalar_one()
            due_on = connection.execute(sa.select(schema.anniversary_marks.c.due_on)).scalar_one()
        assert contact_ids[1] == contact_ids[0] + 1
        assert [tuple(p) for p in people] == [
            ("ana@example.com", {"FIRSTNAME": "Ana", "n": [1, 2.5]}, None, AT),
            ("bo@example.com", {}, 7, AT),
        ]
        assert (event.id, event.properties, event.historical, event.occurred_at) == (
            event_ids[0],
            {"total": "9.90"},
            True,
            AT,
        )
        assert conversion == 19.0
        assert due_on == dt.date(2027, 2, 28)
    finally:
        engine.dispose()


def test_a_json_column_refuses_anything_but_json_text(pg_db_url: str) -> None:
    engine = database.make_engine(pg_db_url)
    try:
        with (
            pytest.raises(TypeError, match="JSONB column takes JSON text"),
            transaction(engine) as connection,
        ):
            Bulk(connection).insert(
                schema.contacts,
                ("email", "attributes", "created_at", "modified_at"),
                [("ana@example.com", {"FIRSTNAME": "Ana"}, AT, AT)],
            )
    finally:
        engine.dispose()


def test_a_string_too_long_for_its_column_is_refused(pg_db_url: str) -> None:
    engine = database.make_engine(pg_db_url)
    try:
        with pytest.raises(Exception, match="too long"), transaction(engine) as connection:
            Bulk(connection).insert(
                schema.events,
                EVENT_COLUMNS,
                [(1, "x" * 201, 1, AT, "{}", "api", False, AT)],
            )
    finally:
        engine.dispose()
