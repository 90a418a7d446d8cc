"""Timing rules on both databases with the FakeClock: delays across DST changes, waiting
until a date or a date attribute (Feb 29 birthdays), and weekly windows in each contact's own
time zone. Runs wake exactly when due, not a second earlier, and the run log says why."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa

from journeyman import App
from journeyman.model.contacts import AttributeDefinition, AttributeType
from journeyman.store.contacts import ContactInput

from .support import (
    clock_of,
    contact_id,
    email_step,
    log_of,
    messages_to,
    rows,
    send,
    tick_until_idle,
    workflow,
)

UTC = dt.UTC
BERLIN = "berlin@example.com"
NEW_YORK = "new-york@example.com"
TOKYO = "tokyo@example.com"
NOWHERE = "nowhere@example.com"  # no time zone of its own: the default (UTC)
ZONES = {BERLIN: "Europe/Berlin", NEW_YORK: "America/New_York", TOKYO: "Asia/Tokyo"}


def contacts(app: App, *emails: str, **attributes: dict[str, Any]) -> None:
    """Contacts in their zones; ``attributes`` by email local part (``berlin={...}``)."""
    app.upsert_contacts(
        [
            ContactInput(
                email=email,
                timezone=ZONES.get(email),
                attributes=attributes.get(email.split("@")[0].replace("-", "_"), {}),
            )
            for email in emails
        ]
    )


def enter(app: App, *emails: str) -> None:
    send(app, *(("signup", email) for email in emails))
    tick_until_idle(app)


def due(app: App, email: str) -> dt.datetime | None:
    (run,) = rows(app, "runs", contact_id=contact_id(app, email))
    return run["due_at"] if run["status"] == "waiting" else None


def wait_reason(app: App, email: str) -> tuple[str, str]:
    first = log_of(app, email)[0]
    return first["result"], first["reason"]


def mailed(app: App) -> list[str]:
    return sorted(e for e in (BERLIN, NEW_YORK, TOKYO, NOWHERE) if messages_to(app, e))


def at(app: App, when: dt.datetime) -> None:
    clock_of(app).set(when)
    tick_until_idle(app)


def test_a_one_day_delay_across_the_switch_to_summer_time_wakes_at_the_same_local_time(
    app: App,
) -> None:
    clock_of(app).set(dt.datetime(2027, 3, 27, 8, 0, tzinfo=UTC))  # 09:00 in Berlin
    app.apply_workflow(workflow({"id": "wait", "delay": {"days": 1}, "next": "mail"}, email_step()))
    contacts(app, BERLIN, NEW_YORK, NOWHERE)

    enter(app, BERLIN, NEW_YORK, NOWHERE)

    berlin_wake = dt.datetime(2027, 3, 28, 7, 0, tzinfo=UTC)  # 09:00 CEST: 23 hours later
    assert due(app, BERLIN) == berlin_wake
    assert due(app, NEW_YORK) == due(app, NOWHERE) == dt.datetime(2027, 3, 28, 8, 0, tzinfo=UTC)
    assert wait_reason(app, BERLIN) == ("waiting", "wait 1 days until 2027-03-28T09:00:00+02:00")

    at(app, berlin_wake - dt.timedelta(seconds=1))
    assert mailed(app) == []
    at(app, berlin_wake)
    assert mailed(app) == [BERLIN]
    at(app, dt.datetime(2027, 3, 28, 8, 0, tzinfo=UTC))
    assert mailed(app) == [BERLIN, NEW_YORK, NOWHERE]


def test_a_one_week_delay_across_the_switch_to_winter_time_in_new_york(app: App) -> None:
    clock_of(app).set(dt.datetime(2027, 11, 1, 13, 0, tzinfo=UTC))  # 09:00 EDT, a Monday
    app.apply_workflow(
        workflow({"id": "wait", "delay": {"weeks": 1, "hours": 2}, "next": "mail"}, email_step())
    )
    contacts(app, NEW_YORK)

    enter(app, NEW_YORK)

    wake = dt.datetime(2027, 11, 8, 16, 0, tzinfo=UTC)  # 11:00 EST: 7 days + 3 hours later
    assert due(app, NEW_YORK) == wake
    assert wait_reason(app, NEW_YORK)[1] == "wait 1 weeks 2 hours until 2027-11-08T11:00:00-05:00"
    at(app, wake - dt.timedelta(seconds=1))
    assert mailed(app) == []
    at(app, wake)
    assert mailed(app) == [NEW_YORK]


def test_wait_until_a_date_is_that_time_where_each_contact_lives(app: App) -> None:
    app.apply_workflow(
        workflow(
            {"id": "wait", "wait_until": {"date": "2027-03-01T09:00"}, "next": "mail"},
            email_step(),
        )
    )
    contacts(app, BERLIN, NEW_YORK)

    enter(app, BERLIN, NEW_YORK)

    assert due(app, BERLIN) == dt.datetime(2027, 3, 1, 8, 0, tzinfo=UTC)
    assert due(app, NEW_YORK) == dt.datetime(2027, 3, 1, 14, 0, tzinfo=UTC)
    assert wait_reason(app, NEW_YORK) == (
        "waiting",
        "wait until 2027-03-01T09:00:00-05:00 (date 2027-03-01T09:00 in America/New_York)",
    )
    at(app, dt.datetime(2027, 3, 1, 8, 0, tzinfo=UTC))
    assert mailed(app) == [BERLIN]
    at(app, dt.datetime(2027, 3, 1, 14, 0, tzinfo=UTC))
    assert mailed(app) == [BERLIN, NEW_YORK]


def test_three_days_before_each_birthday_including_february_29(app: App) -> None:
    app.define_attribute(AttributeDefinition(name="BIRTHDAY", type=AttributeType.DATE))
    app.apply_workflow(
        workflow(
            {
                "id": "wait",
                "wait_until": {"attribute": "BIRTHDAY", "days": -3, "at": "09:00", "yearly": True},
                "next": "mail",
            },
            email_step(),
        )
    )
    contacts(
        app,
        BERLIN,
        NEW_YORK,
        NOWHERE,
        berlin={"BIRTHDAY": "1996-02-29"},  # 2027 is a common year: Feb 28
        new_york={"BIRTHDAY": "1990-03-04"},
    )

    enter(app, BERLIN, NEW_YORK, NOWHERE)

    berlin_wake = dt.datetime(2027, 2, 25, 8, 0, tzinfo=UTC)
    assert due(app, BERLIN) == berlin_wake
    assert due(app, NEW_YORK) == dt.datetime(2027, 3, 1, 14, 0, tzinfo=UTC)
    assert wait_reason(app, BERLIN) == (
        "waiting",
        "wait until 2027-02-25T09:00:00+01:00 "
        "(3 days before BIRTHDAY 2027-02-28, anniversary of 1996-02-29)",
    )
    assert wait_reason(app, NOWHERE) == ("no_wait", "go on: BIRTHDAY is not set")
    assert mailed(app) == [NOWHERE]  # went on at once
    at(app, berlin_wake - dt.timedelta(seconds=1))
    assert mailed(app) == [NOWHERE]
    at(app, berlin_wake)
    assert mailed(app) == [BERLIN, NOWHERE]


def test_a_weekday_window_in_each_contacts_own_time_zone(app: App) -> None:
    # The fixture's clock: Monday 2027-01-04 09:00 UTC.
    app.apply_workflow(
        workflow(
            {
                "id": "office_hours",
                "wait_window": {
                    "days": ["mon", "tue", "wed", "thu", "fri"],
                    "from": "09:00",
                    "to": "18:00",
                },
                "next": "mail",
            },
            email_step(),
        )
    )
    contacts(app, BERLIN, NEW_YORK, TOKYO)

    enter(app, BERLIN, NEW_YORK, TOKYO)

    assert mailed(app) == [BERLIN]  # 10:00 there: inside
    assert wait_reason(app, BERLIN) == (
        "no_wait",
        "inside Mon-Fri 09:00-18:00 in Europe/Berlin: go on",
    )
    assert due(app, NEW_YORK) == dt.datetime(2027, 1, 4, 14, 0, tzinfo=UTC)  # 04:00 there
    assert due(app, TOKYO) == dt.datetime(2027, 1, 5, 0, 0, tzinfo=UTC)  # 18:00 there: closed
    assert wait_reason(app, TOKYO) == (
        "waiting",
        "outside Mon-Fri 09:00-18:00 in Asia/Tokyo: wait until 2027-01-05T09:00:00+09:00",
    )
    at(app, dt.datetime(2027, 1, 4, 14, 0, tzinfo=UTC))
    assert mailed(app) == [BERLIN, NEW_YORK]
    at(app, dt.datetime(2027, 1, 5, 0, 0, tzinfo=UTC))
    assert mailed(app) == [BERLIN, NEW_YORK, TOKYO]


def test_a_friday_evening_waits_for_monday_morning(app: App) -> None:
    clock_of(app).set(dt.datetime(2027, 1, 8, 17, 30, tzinfo=UTC))  # Friday 18:30 in Berlin
    app.apply_workflow(
        workflow(
            {
                "id": "w",
                "wait_window": {"days": "mon", "from": "08:00", "to": "12:00"},
                "next": "mail",
            },
            email_step(),
        )
    )
    contacts(app, BERLIN)

    enter(app, BERLIN)

    assert due(app, BERLIN) == dt.datetime(2027, 1, 11, 7, 0, tzinfo=UTC)


def test_timing_steps_load_a_batch_with_the_same_queries_whatever_its_size(app: App) -> None:
    app.define_attribute(AttributeDefinition(name="BIRTHDAY", type=AttributeType.DATE))
    app.apply_workflow(
        workflow(
            {"id": "d", "delay": {"days": 1}, "next": "w"},
            {"id": "w", "wait_window": {"from": "09:00", "to": "10:00"}, "next": "b"},
            {"id": "b", "wait_until": {"attribute": "BIRTHDAY", "yearly": True}, "next": "mail"},
            email_step(),
        )
    )
    zones = ["Europe/Berlin", "America/New_York", "Asia/Tokyo", None]

    def statements_for(prefix: str, size: int) -> int:
        emails = [f"{prefix}{i}@example.com" for i in range(size)]
        app.upsert_contacts(
            [
                ContactInput(email=e, timezone=zones[i % 4], attributes={"BIRTHDAY": "1990-06-01"})
                for i, e in enumerate(emails)
            ]
        )
        send(app, *(("signup", e) for e in emails))
        tick_until_idle(app)  # the delay
        clock_of(app).advance(dt.timedelta(days=2))
        executed: list[str] = []

        def record(connection: Any, cursor: Any, statement: str, *more: Any) -> None:
            executed.append(statement)

        sa.event.listen(app.engine, "before_cursor_execute", record)
        try:
            tick_until_idle(app)  # the window (in or out) and the birthday
        finally:
            sa.event.remove(app.engine, "before_cursor_execute", record)
        return len(executed)

    assert statements_for("few", 4) == statements_for("many", 40)
