"""Events on both databases: stored and queued, historical ones kept out of the triggers,
malformed ones refused one by one."""

from __future__ import annotations

import datetime as dt

import pytest

from journeyman import App, EventInput
from journeyman.errors import InvalidEvent
from journeyman.store import events, transaction
from journeyman.store.contacts import ContactInput

from .support import contact_id, count, rows, tick_until_idle, workflow

UPSERTED, AMY, ZED = "upserted@example.com", "amy@example.com", "zed@example.com"


def test_events_are_stored_with_their_properties_and_queued(app: App) -> None:
    earlier = app.clock.now() - dt.timedelta(hours=2)

    report = app.record_events(
        [
            EventInput(
                name="purchase",
                email="jane@example.com",
                properties={"amount": 49.9, "items": [{"sku": "A1"}]},
            ),
            EventInput(
                name="page_visited", email="max@example.com", occurred_at=earlier, source="web"
            ),
        ]
    )

    assert len(report.ids) == 2 and report.rejected == ()
    purchase, visit = rows(app, "events")
    assert [purchase["id"], visit["id"]] == list(report.ids)
    assert purchase["contact_id"] == contact_id(app, "jane@example.com")  # created on the fly
    assert purchase["properties"] == {"amount": 49.9, "items": [{"sku": "A1"}]}
    assert purchase["occurred_at"] == app.clock.now()
    assert purchase["received_at"] == app.clock.now()
    assert (visit["occurred_at"], visit["source"], visit["historical"]) == (earlier, "web", False)
    assert [r["event_id"] for r in rows(app, "event_queue")] == list(report.ids)


def test_historical_events_are_stored_but_do_not_trigger(app: App) -> None:
    app.apply_workflow(
        workflow({"id": "tag", "add_to_list": {"lists": "Buyers"}}, event="purchase")
    )

    report = app.record_events(
        [EventInput(name="purchase", email="jane@example.com", historical=True)]
    )
    tick_until_idle(app)

    (event,) = rows(app, "events")
    assert event["historical"] is True and event["id"] == report.ids[0]
    assert count(app, "event_queue") == 0
    assert count(app, "runs") == 0
    assert count(app, "list_members") == 0


def test_historical_events_still_count_in_the_history(app: App) -> None:
    """An imported past order makes the next live purchase not the first one."""
    app.apply_workflow(
        workflow(
            {
                "id": "first",
                "if": {"event_count": {"event": "purchase", "equals": 1}},
                "then": "end",
                "else": "repeat",
            },
            {"id": "repeat", "add_to_list": {"lists": "Repeat buyers"}},
            event="purchase",
        )
    )
    past = app.clock.now() - dt.timedelta(days=30)
    app.record_events(
        [EventInput(name="purchase", email="jane@example.com", occurred_at=past, historical=True)]
    )
    app.record_events([EventInput(name="purchase", email="jane@example.com")])

    tick_until_idle(app)

    (first_step, _) = rows(app, "run_log", "seq")
    assert first_step["reason"] == "purchase count = 2, expected exactly 1"
    assert count(app, "list_members") == 1


def test_a_malformed_event_is_rejected_with_its_index_and_the_rest_stored(app: App) -> None:
    naive = dt.datetime(2027, 1, 1, 12, 0)

    report = app.record_events(
        [
            EventInput(name="purchase", email="jane@example.com"),
            EventInput(name="bad name!", email="jane@example.com"),
            EventInput(name="purchase", email="not an email"),
            EventInput(name="purchase", email="max@example.com", occurred_at=naive),
            EventInput(name="purchase", email="max@example.com", properties=["x"]),  # type: ignore[arg-type]
            EventInput(name="", email="max@example.com"),
            EventInput(name="purchase", email="ann@example.com"),
        ]
    )

    assert len(report.ids) == 2
    assert [index for index, _ in report.rejected] == [1, 2, 3, 4, 5]
    reasons = dict(report.rejected)
    assert "'bad name!'" in reasons[1]
    assert "'not an email'" in reasons[2]
    assert "time zone" in reasons[3]
    assert "properties" in reasons[4]
    assert "''" in reasons[5]
    stored = rows(app, "events")
    assert [e["contact_id"] for e in stored] == [
        contact_id(app, "jane@example.com"),
        contact_id(app, "ann@example.com"),
    ]
    assert count(app, "contacts") == 2  # no contact for rejected events
    assert count(app, "event_queue") == 2


def test_times_in_other_zones_are_stored_in_utc(app: App) -> None:
    berlin = dt.timezone(dt.timedelta(hours=1))
    local = dt.datetime(2027, 1, 4, 10, 30, tzinfo=berlin)

    app.record_events([EventInput(name="purchase", email="jane@example.com", occurred_at=local)])

    (event,) = rows(app, "events")
    assert event["occurred_at"] == local
    assert event["occurred_at"].utcoffset() == dt.timedelta(0)


def test_the_engine_takes_events_out_of_the_queue_even_when_nothing_matches(app: App) -> None:
    app.record_events([EventInput(name="newsletter_opened", email="jane@example.com")])

    reports = tick_until_idle(app)

    assert sum(r.events for r in reports) == 1
    assert count(app, "event_queue") == 0
    assert count(app, "events") == 1


def test_contacts_created_by_events_are_stored_as_an_upsert_stores_them(app: App) -> None:
    """Events write contacts and events through the driver: the rows must read back as the
    ones SQLAlchemy writes (JSON, times, defaults)."""
    app.upsert_contacts([ContactInput(email="upserted@example.com")])
    app.record_events(
        [
            EventInput(name="visit", email="zed@example.com"),
            EventInput(name="visit", email="Amy@Example.com"),
            EventInput(name="visit", email="zed@example.com"),
        ]
    )

    upserted, amy, zed = (rows(app, "contacts", email=e)[0] for e in (UPSERTED, AMY, ZED))
    for created in (amy, zed):
        assert {k: v for k, v in created.items() if k not in ("id", "email")} == {
            k: v for k, v in upserted.items() if k not in ("id", "email")
        }
    assert created["attributes"] == {} and created["email_blocklisted"] is False
    assert created["created_at"] == app.clock.now()
    assert amy["id"] < zed["id"]  # new contacts are created in email order


def test_ids_come_back_in_input_order_across_contacts_and_kinds(app: App) -> None:
    app.record_events([EventInput(name="visit", email="old@example.com")])
    inputs = [
        EventInput(name="b", email="new@example.com", historical=True),
        EventInput(name="a", email="old@example.com", properties={"n": 1}),
        EventInput(name="c", email="new@example.com", properties={"nested": {"x": [1, None]}}),
    ]

    report = app.record_events(inputs)

    stored = {e["id"]: e for e in rows(app, "events")}
    assert [stored[i]["name"] for i in report.ids] == ["b", "a", "c"]
    assert list(report.ids) == sorted(report.ids)
    assert stored[report.ids[2]]["properties"] == {"nested": {"x": [1, None]}}
    assert [stored[i]["historical"] for i in report.ids] == [True, False, False]
    queued = [r["event_id"] for r in rows(app, "event_queue")]
    assert queued[-2:] == list(report.ids[1:])


def test_properties_json_cannot_hold_refuse_the_call_and_store_nothing(app: App) -> None:
    with pytest.raises(InvalidEvent, match="cannot be stored as JSON"):
        app.record_events(
            [
                EventInput(name="ok", email="jane@example.com"),
                EventInput(name="big", email="jane@example.com", properties={"n": 2**70}),
            ]
        )

    assert count(app, "events") == 0 and count(app, "contacts") == 0


def test_the_store_refuses_a_naive_time(app: App) -> None:
    naive = dt.datetime(2027, 1, 1, 12, 0)
    with pytest.raises(ValueError, match="naive"), transaction(app.engine) as connection:
        events.record_events_txn(
            connection, [events.NewEvent(name="x", contact_id=1, occurred_at=naive)], naive
        )
