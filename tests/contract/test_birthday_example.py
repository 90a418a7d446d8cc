"""examples/birthday.yaml: the anniversary entry point, in the contact's time zone."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from journeyman.app import App
from journeyman.documents import load_document
from journeyman.model.contacts import AttributeDefinition, AttributeType
from journeyman.store.contacts import ContactInput

from .support import clock_of, rows, tick_until_idle

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "birthday.yaml"


def test_the_birthday_greeting_arrives_on_the_day_in_the_local_morning(app: App) -> None:
    clock = clock_of(app)
    clock.set(dt.datetime(2027, 3, 3, 23, 30, tzinfo=dt.UTC))  # 00:30 on 4 March in Berlin
    app.define_attribute(AttributeDefinition(name="BIRTHDAY", type=AttributeType.DATE))
    app.upsert_contacts(
        [
            ContactInput(
                email="jane@example.com",
                attributes={"FIRSTNAME": "Jane", "BIRTHDAY": "1990-03-04"},
                timezone="Europe/Berlin",
            ),
            ContactInput(
                email="max@example.com",
                attributes={"FIRSTNAME": "Max", "BIRTHDAY": "1985-07-01"},
                timezone="Europe/Berlin",
            ),
        ]
    )
    app.apply_workflow(load_document(EXAMPLE))

    stepper = app.stepper()
    for _ in range(5):
        stepper.enter_scheduled()
        if stepper.tick().idle:
            break

    (run,) = rows(app, "runs")  # Jane only: it is her birthday in Berlin, not Max's
    assert run["status"] == "waiting"  # for 09:00 local
    assert run["due_at"] == dt.datetime(2027, 3, 4, 8, 0, tzinfo=dt.UTC)
    assert rows(app, "messages") == []

    clock.set(dt.datetime(2027, 3, 4, 8, 0, tzinfo=dt.UTC))
    tick_until_idle(app)
    (message,) = rows(app, "messages")
    assert message["recipient"] == "jane@example.com"
    assert message["subject"] == "Happy birthday, Jane!"
    assert "37th birthday" in message["html"] and "BDAY-" in message["html"]

    # the same day again: no second greeting
    clock.set(dt.datetime(2027, 3, 4, 20, 0, tzinfo=dt.UTC))
    stepper = app.stepper()
    stepper.enter_scheduled()
    tick_until_idle(app)
    assert len(rows(app, "messages")) == 1
