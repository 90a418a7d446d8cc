"""The source document's example end to end, on both databases."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace

import pytest

from journeyman import App, EventInput
from journeyman.channels.capture import CaptureTransport
from journeyman.store import contacts, events

from .support import (
    clock_of,
    coupon_document,
    dispatch_once,
    log_of,
    members,
    messages_to,
    rows,
    send,
    steps_taken,
    tick_until_idle,
)

CODE = re.compile(r"THANKS-[A-Z0-9]{8}")


@pytest.fixture
def shop(app: App) -> App:
    app.apply_workflow(coupon_document())
    report = app.import_contacts_csv(
        [
            "EMAIL,FIRSTNAME,LASTNAME\n",
            "jane@example.com,Jane,Doe\n",
            "max@example.com,Max,Mustermann\n",
        ]
    )
    assert report.errors == ()
    return app


def purchase(email: str, amount: float, at: dt.datetime | None = None) -> EventInput:
    return EventInput(name="purchase", email=email, properties={"amount": amount}, occurred_at=at)


def test_a_first_purchase_gets_a_personal_coupon_and_a_second_one_joins_the_loyal(
    shop: App,
) -> None:
    shop.record_events([purchase("jane@example.com", 49.90)])
    tick_until_idle(shop)

    (email,) = messages_to(shop, "jane@example.com")
    assert email["status"] == "queued"
    assert email["sender"] == "Journeyman Shop <shop@example.com>"
    assert email["subject"] == "Thank you, Jane: 10% off your next order"
    assert "<p>Hello Jane,</p>" in email["html"]
    assert "of 49.9 EUR" in email["html"]
    (code,) = set(CODE.findall(email["html"]))
    assert CODE.findall(email["text"]) == [code]
    assert email["text"].startswith("Hello Jane,")
    assert members(shop, "Loyal customers") == []
    assert steps_taken(shop, "jane@example.com") == [
        ("is_first_purchase", "yes"),
        ("send_coupon", "queued"),
    ]

    clock_of(shop).advance(dt.timedelta(days=3))
    shop.record_events([purchase("jane@example.com", 20)])
    tick_until_idle(shop)

    assert len(messages_to(shop, "jane@example.com")) == 1
    assert members(shop, "Loyal customers") == ["jane@example.com"]
    second_run = [r for r in log_of(shop, "jane@example.com") if r["step_id"] == "add_to_loyal"]
    reasons = [r["reason"] for r in log_of(shop, "jane@example.com")]
    assert reasons[0] == "purchase count = 1, expected exactly 1"
    assert "purchase count = 2, expected exactly 1" in reasons
    assert second_run[0]["result"] == "changed"
    assert second_run[0]["reason"] == "added to Loyal customers"
    assert {r["status"] for r in rows(shop, "runs")} == {"completed"}


def test_the_coupon_email_is_delivered_by_the_dispatcher(shop: App) -> None:
    shop.record_events([purchase("jane@example.com", 10), purchase("max@example.com", 12)])
    summary = shop.run_until_idle(CaptureTransport())

    assert (summary.enrolled, summary.messages) == (2, 2)
    sent = rows(shop, "messages")
    assert {m["status"] for m in sent} == {"sent"}
    assert {m["recipient"] for m in sent} == {"jane@example.com", "max@example.com"}
    assert all(m["provider_id"].startswith("captured:") for m in sent)
    assert all(m["sent_at"] == shop.clock.now() and m["attempts"] == 1 for m in sent)
    assert len({CODE.search(m["html"]).group() for m in sent}) == 2  # type: ignore[union-attr]
    assert dispatch_once(shop, CaptureTransport()) == 0


@pytest.mark.parametrize("batch_size", [1, 1000])
def test_the_answer_does_not_depend_on_when_the_engine_runs(shop: App, batch_size: int) -> None:
    """Both purchases are stored before the engine looks: still one coupon and one list add."""
    send(shop, ("purchase", "jane@example.com"), ("purchase", "jane@example.com"))

    tick_until_idle(shop, batch_size=batch_size)

    assert len(messages_to(shop, "jane@example.com")) == 1
    assert members(shop, "Loyal customers") == ["jane@example.com"]
    decisions = sorted(
        r["reason"] for r in log_of(shop, "jane@example.com") if r["step_id"] == "is_first_purchase"
    )
    assert decisions == [
        "purchase count = 1, expected exactly 1",
        "purchase count = 2, expected exactly 1",
    ]


def test_a_purchase_arriving_late_with_an_earlier_time_is_not_a_first_purchase(
    shop: App,
) -> None:
    """The first purchase was decided; a later one dated before it changes nothing."""
    ten = shop.clock.now().replace(hour=10, minute=0, second=0, microsecond=0)
    shop.record_events([purchase("jane@example.com", 99, at=ten)])
    tick_until_idle(shop)
    clock_of(shop).advance(dt.timedelta(hours=2))

    shop.record_events([purchase("jane@example.com", 15, at=ten - dt.timedelta(hours=1))])
    tick_until_idle(shop)

    (email,) = messages_to(shop, "jane@example.com")
    assert "of 99 EUR" in email["html"]
    assert members(shop, "Loyal customers") == ["jane@example.com"]
    assert _decisions(shop, "jane@example.com") == [
        "purchase count = 1, expected exactly 1",
        "purchase count = 2, expected exactly 1",
    ]


@pytest.mark.parametrize("batch_size", [1, 1000])
def test_the_first_purchase_is_the_first_received_whatever_its_time(
    shop: App, batch_size: int
) -> None:
    """Both stored before the engine runs, the second dated earlier: the same answer as
    when the engine took each at once (one coupon, for the first received)."""
    now = shop.clock.now()
    shop.record_events([purchase("jane@example.com", 99, at=now)])
    shop.record_events([purchase("jane@example.com", 15, at=now - dt.timedelta(hours=1))])

    tick_until_idle(shop, batch_size=batch_size)

    (email,) = messages_to(shop, "jane@example.com")
    assert "of 99 EUR" in email["html"]
    assert members(shop, "Loyal customers") == ["jane@example.com"]


def test_imported_old_orders_count_for_later_purchases_only(shop: App) -> None:
    """Last year's orders imported after a purchase leave its decision as it was and make
    the next purchase a repeat one; a contact whose import came first gets no coupon."""
    now = shop.clock.now()
    last_year = now - dt.timedelta(days=365)
    shop.record_events([purchase("jane@example.com", 30)])
    tick_until_idle(shop)
    old = [purchase(e, 80, at=last_year) for e in ("jane@example.com", "max@example.com")]
    shop.record_events([replace(o, historical=True) for o in old])
    shop.record_events([purchase("max@example.com", 40)])
    tick_until_idle(shop)

    assert [m["recipient"] for m in rows(shop, "messages")] == ["jane@example.com"]
    assert members(shop, "Loyal customers") == ["max@example.com"]
    assert _decisions(shop, "max@example.com") == ["purchase count = 2, expected exactly 1"]

    shop.record_events([purchase("jane@example.com", 50)])
    tick_until_idle(shop)
    assert len(rows(shop, "messages")) == 1
    assert _decisions(shop, "jane@example.com") == [
        "purchase count = 1, expected exactly 1",
        "purchase count = 3, expected exactly 1",
    ]


@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
def test_two_writers_of_one_contact_committing_against_their_ids_order(shop: App) -> None:
    """A transaction draws the lower id but commits after another one's purchase of the
    same contact, which the engine took in between: both are "first" today."""
    with late_purchase(shop):
        send(shop, ("purchase", "jane@example.com"))
        tick_until_idle(shop)
    tick_until_idle(shop)

    assert len(messages_to(shop, "jane@example.com")) == 1


@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
def test_a_purchase_committed_late_and_a_newer_one_taken_in_one_tick(shop: App) -> None:
    """The late purchase (lowest id) is taken with a newer one: it comes after both."""
    with late_purchase(shop):
        send(shop, ("purchase", "jane@example.com"))
        tick_until_idle(shop)
    send(shop, ("purchase", "jane@example.com"))
    tick_until_idle(shop)

    assert len(messages_to(shop, "jane@example.com")) == 1
    assert members(shop, "Loyal customers") == ["jane@example.com"]
    assert sorted(_decisions(shop, "jane@example.com")) == [
        "purchase count = 1, expected exactly 1",
        "purchase count = 2, expected exactly 1",
        "purchase count = 3, expected exactly 1",
    ]


@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
def test_a_purchase_committed_late_is_second_even_when_decided_after_it_is_seen(
    app: App,
) -> None:
    """The coupon workflow waits an hour before deciding, so its run decides once both
    purchases are stored (the other one is refused: already inside); the purchase the
    engine took first is still the first."""
    document = coupon_document()
    first = document["steps"][0]["id"]
    document["steps"].insert(0, {"id": "settle", "delay": {"hours": 1}, "next": first})
    app.apply_workflow(document)
    send(app, ("signup", "jane@example.com"))  # Jane exists before the two writers
    with late_purchase(app) as (jane, late):
        (taken,) = send(app, ("purchase", "jane@example.com"))
        tick_until_idle(app)
    tick_until_idle(app)
    clock_of(app).advance(dt.timedelta(hours=2))
    tick_until_idle(app)

    assert late < taken
    assert len(messages_to(app, "jane@example.com")) == 1  # before: none
    decided = {r["trigger_event_id"]: r["id"] for r in rows(app, "runs") if r["contact_id"] == jane}
    coupon_run = {
        r["run_id"] for r in log_of(app, "jane@example.com") if r["step_id"] == "send_coupon"
    }
    assert coupon_run == {decided[taken]}


@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
def test_an_entry_filter_counts_the_purchases_the_engine_took_first(app: App) -> None:
    """Only first purchases enter (a filter on the entry point): the purchase committed
    late, with the lower id, does not enter a second time."""
    document = coupon_document()
    document["key"] = "first-only"
    document["entry_points"] = [
        {"event": "purchase", "contacts": {"event_count": {"event": "purchase", "equals": 1}}}
    ]
    app.apply_workflow(document)
    send(app, ("signup", "jane@example.com"))  # Jane exists before the two writers
    with late_purchase(app):
        send(app, ("purchase", "jane@example.com"))
        tick_until_idle(app)
    tick_until_idle(app)

    assert len(rows(app, "runs")) == 1
    assert len(messages_to(app, "jane@example.com")) == 1


@contextmanager
def late_purchase(app: App) -> Iterator[tuple[int, int]]:
    """A purchase of Jane stored in a transaction that commits when the block ends, after
    what the block stores and the engine takes: (Jane's id, the late purchase's id), which
    is lower than the ids the block's events get."""
    now = app.clock.now()
    with app.engine.begin() as slow:
        jane = contacts.ensure_contacts_txn(slow, ["jane@example.com"], now)["jane@example.com"]
        (late,) = events.record_events_txn(slow, [events.NewEvent("purchase", jane, now)], now)
        yield jane, late


def _decisions(app: App, email: str) -> list[str]:
    return [r["reason"] for r in log_of(app, email) if r["step_id"] == "is_first_purchase"]


def test_a_cohort_of_contacts(app: App) -> None:
    app.apply_workflow(coupon_document())
    emails = [f"c{i:02d}@example.com" for i in range(30)]
    send(app, *[("purchase", e) for e in emails])
    send(app, *[("purchase", e) for e in emails[::3]])

    tick_until_idle(app, batch_size=7)

    messages = rows(app, "messages")
    assert sorted(m["recipient"] for m in messages) == emails
    assert members(app, "Loyal customers") == emails[::3]
    assert len({m["idempotency_key"] for m in messages}) == 30
    # without FIRSTNAME the template's default applies
    assert all(m["subject"].startswith("Thank you, friend:") for m in messages)
    assert {r["status"] for r in rows(app, "runs")} == {"completed"}
    assert len(rows(app, "runs")) == 40
