"""Contacts and attributes on both databases: upsert, email identity, validation on write."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from journeyman import App, EventInput
from journeyman.errors import InvalidContact, StoreError
from journeyman.model.contacts import AttributeDefinition, AttributeType
from journeyman.store import schema, transaction
from journeyman.store.bulk import Bulk
from journeyman.store.contacts import ContactInput

from .support import count, rows


def attributes_of(app: App, email: str) -> dict[str, object]:
    (row,) = rows(app, "contacts", email=email)
    return dict(row["attributes"])


def test_the_seeded_attributes_exist(app: App) -> None:
    definitions = app.attribute_definitions()

    assert {"FIRSTNAME", "LASTNAME"} <= definitions.keys()
    assert definitions["FIRSTNAME"].type is AttributeType.TEXT


def test_upsert_creates_then_merges_attributes(app: App) -> None:
    app.define_attribute(AttributeDefinition(name="LEAD_SCORE", type=AttributeType.NUMBER))

    assert app.upsert_contacts(
        [ContactInput(email="jane@example.com", attributes={"FIRSTNAME": "Jane"})]
    ) == (1, 0)
    assert app.upsert_contacts(
        [ContactInput(email="jane@example.com", attributes={"LASTNAME": "Doe", "LEAD_SCORE": 7})]
    ) == (0, 1)
    assert attributes_of(app, "jane@example.com") == {
        "FIRSTNAME": "Jane",
        "LASTNAME": "Doe",
        "LEAD_SCORE": 7,
    }

    app.upsert_contacts(
        [ContactInput(email="jane@example.com", attributes={"LASTNAME": None, "FIRSTNAME": "J."})]
    )

    assert attributes_of(app, "jane@example.com") == {"FIRSTNAME": "J.", "LEAD_SCORE": 7}
    assert count(app, "contacts") == 1


def test_rows_for_one_email_in_one_batch_are_merged(app: App) -> None:
    created, updated = app.upsert_contacts(
        [
            ContactInput(email="jane@example.com", attributes={"FIRSTNAME": "Jane"}),
            ContactInput(email="max@example.com"),
            ContactInput(email="jane@example.com", attributes={"LASTNAME": "Doe"}),
        ]
    )

    assert (created, updated) == (2, 0)
    assert attributes_of(app, "jane@example.com") == {"FIRSTNAME": "Jane", "LASTNAME": "Doe"}


def test_the_email_identifies_a_contact_whatever_its_case(app: App) -> None:
    first = app.import_contacts_csv(["EMAIL,FIRSTNAME\n", "Jane@Example.COM,Jane\n"])
    again = app.import_contacts_csv(["EMAIL,LASTNAME\n", "jane@example.com,Doe\n"])
    events = app.record_events([EventInput(name="visit", email="  JANE@EXAMPLE.com ")])

    assert (first.created, first.updated, again.created, again.updated) == (1, 0, 0, 1)
    assert events.rejected == ()
    (contact,) = rows(app, "contacts")
    assert contact["email"] == "jane@example.com"
    assert contact["attributes"] == {"FIRSTNAME": "Jane", "LASTNAME": "Doe"}
    assert [e["contact_id"] for e in rows(app, "events")] == [contact["id"]]


def test_the_database_refuses_a_second_contact_with_the_same_email(app: App) -> None:
    app.upsert_contacts([ContactInput(email="jane@example.com")])
    now = app.clock.now()

    with pytest.raises(StoreError), transaction(app.engine) as connection:
        connection.execute(
            sa.insert(schema.contacts).values(
                email="jane@example.com", attributes={}, created_at=now, modified_at=now
            )
        )

    assert count(app, "contacts") == 1


def test_a_driver_error_of_a_bulk_write_leaves_as_a_store_error(app: App) -> None:
    """Writes through the driver's cursor bypass SQLAlchemy's error wrapping."""
    app.upsert_contacts([ContactInput(email="jane@example.com")])
    now = app.clock.now()

    with (
        pytest.raises(StoreError, match=r"uq_contacts_email|UNIQUE"),
        transaction(app.engine) as connection,
    ):
        bulk = Bulk(connection)
        at = bulk.time(now)
        bulk.insert(
            schema.contacts,
            ("email", "attributes", "created_at", "modified_at"),
            [("jane@example.com", "{}", at, at)],
        )

    assert count(app, "contacts") == 1


def test_csv_import_keeps_good_rows_and_reports_bad_ones(app: App) -> None:
    app.define_attribute(
        AttributeDefinition(
            name="PLAN", type=AttributeType.CATEGORY, allowed_values=("free", "pro")
        )
    )
    app.define_attribute(AttributeDefinition(name="BIRTHDAY", type=AttributeType.DATE))

    report = app.import_contacts_csv(
        [
            "EMAIL,FIRSTNAME,PLAN,BIRTHDAY\n",
            "jane@example.com,Jane,pro,1990-05-17\n",
            "max@example.com,Max,platinum,\n",
            "ann@example.com,Ann,,17.05.1990\n",
            "nobody,Bob,free,\n",
            "eve@example.com,Eve,free,\n",
        ]
    )

    assert (report.created, report.updated) == (2, 0)
    assert [(e.line, e.message.split(":")[0]) for e in report.errors] == [
        (3, "attribute PLAN"),
        (4, "attribute BIRTHDAY"),
        (5, "email 'nobody' is not a valid email address"),
    ]
    assert "'platinum'" in report.errors[0].message
    assert [r["email"] for r in rows(app, "contacts", "email")] == [
        "eve@example.com",
        "jane@example.com",
    ]
    assert attributes_of(app, "jane@example.com") == {
        "FIRSTNAME": "Jane",
        "PLAN": "pro",
        "BIRTHDAY": "1990-05-17",
    }


def test_an_unknown_column_imports_nothing(app: App) -> None:
    with pytest.raises(InvalidContact, match="SHOE_SIZE"):
        app.import_contacts_csv(["EMAIL,SHOE_SIZE\n", "jane@example.com,42\n"])

    assert count(app, "contacts") == 0


def test_an_attribute_keeps_its_type(app: App) -> None:
    app.define_attribute(AttributeDefinition(name="SCORE", type=AttributeType.NUMBER))

    with pytest.raises(InvalidContact, match="already defined as number"):
        app.define_attribute(AttributeDefinition(name="SCORE", type=AttributeType.TEXT))

    app.define_attribute(
        AttributeDefinition(name="SCORE", type=AttributeType.NUMBER)
    )  # the same again is fine
    assert app.attribute_definitions()["SCORE"].type is AttributeType.NUMBER


def test_category_values_can_be_extended(app: App) -> None:
    plan = AttributeDefinition(name="PLAN", type=AttributeType.CATEGORY, allowed_values=("free",))
    app.define_attribute(plan)
    app.define_attribute(
        AttributeDefinition(
            name="PLAN", type=AttributeType.CATEGORY, allowed_values=("free", "pro")
        )
    )

    report = app.import_contacts_csv(["EMAIL,PLAN\n", "jane@example.com,pro\n"])

    assert report.errors == ()
    assert app.attribute_definitions()["PLAN"].allowed_values == ("free", "pro")
