"""Manual enrolment of a segment: every contact matching a condition now."""

from __future__ import annotations

from journeyman.app import App
from journeyman.store.contacts import ContactInput

from .support import email_step, rows, tick_until_idle, workflow


def test_the_contacts_matching_a_segment_are_enrolled(app: App) -> None:
    app.upsert_contacts(
        [
            ContactInput(email=f"c{i}@example.com", attributes={"FIRSTNAME": name})
            for i, name in enumerate(["Ann", "Bob", "Ann", "Cy"])
        ]
    )
    app.apply_workflow(workflow(email_step(), key="hello", reentry="every_time"))

    count = app.enrol("hello", segment={"attribute": {"name": "FIRSTNAME", "equals": "Ann"}})
    tick_until_idle(app)

    assert count == 2
    assert sorted(m["recipient"] for m in rows(app, "messages")) == [
        "c0@example.com",
        "c2@example.com",
    ]
