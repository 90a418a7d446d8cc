"""Events on both databases: stored and queued, historical ones kept out of the triggers,
malformed ones refused one by one."""

from __future__ import annotations

import datetime as dt

from journeyman import App, EventInput

from .support import contact_id, count, rows, tick_until_idle, workflow


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
