"""The abandoned-cart example end to end, on both databases with the FakeClock: a cart update
waits an hour for an order of the same cart, reminds, waits a day, reminds again; an order or
a deleted cart ends the run, another update of the same cart starts the hour again."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

import journeyman
from journeyman import App, EventInput
from journeyman.channels.capture import CaptureTransport
from journeyman.documents import load_document
from journeyman.store.contacts import ContactInput

from .support import clock_of, contact_id, dispatch_once, log_of, rows, send, tick_until_idle

EXAMPLE = Path(journeyman.__file__).parent / "examples" / "abandoned-cart.yaml"
JANE = "jane@example.com"
FIRST = "Jane, your cart is waiting"
SECOND = "Still thinking about it? Your cart is saved"
MINUTE, HOUR, DAY = dt.timedelta(minutes=1), dt.timedelta(hours=1), dt.timedelta(days=1)


@pytest.fixture
def shop(app: App) -> App:
    report = app.apply_workflow(load_document(EXAMPLE))
    assert (report.key, report.status) == ("abandoned-cart", "active")
    app.upsert_contacts([ContactInput(email=JANE, attributes={"FIRSTNAME": "Jane"})])
    return app


def cart(name: str, cart_id: str = "C1", **properties: Any) -> EventInput:
    return EventInput(name=name, email=JANE, properties={"cart_id": cart_id, **properties})


def at(app: App, step: dt.timedelta, *events: EventInput) -> None:
    """``step`` later: record ``events`` (if any) and run the engine until idle."""
    clock_of(app).advance(step)
    if events:
        send(app, *events)
    tick_until_idle(app)


def subjects(app: App) -> list[str]:
    return [m["subject"] for m in rows(app, "messages", "id", recipient=JANE)]


def run_states(app: App) -> list[tuple[str, str | None]]:
    return [(r["status"], r["step_id"]) for r in rows(app, "runs", "id")]


def lifecycle(app: App) -> list[tuple[str, str]]:
    return [(r["result"], r["reason"]) for r in log_of(app, JANE) if r["kind"] == "lifecycle"]


def test_no_order_within_the_hour_first_reminder_then_a_second_a_day_later(shop: App) -> None:
    at(shop, dt.timedelta(0), cart("cart_updated", total=42, items=3))
    at(shop, HOUR - MINUTE)
    waited = subjects(shop)
    at(shop, MINUTE)
    first = subjects(shop)
    at(shop, DAY - MINUTE)
    before_second = subjects(shop)
    at(shop, MINUTE)
    dispatch_once(shop, CaptureTransport())

    assert waited == []
    assert first == [FIRST]
    assert before_second == [FIRST]
    assert subjects(shop) == [FIRST, SECOND]
    assert run_states(shop) == [("completed", None)]
    (reminder, again) = rows(shop, "messages", "id", recipient=JANE)
    assert "3 item(s) worth 42 EUR" in reminder["html"]
    assert "https://shop.example.com/cart/C1" in again["html"]
    assert [(r["step_id"], r["result"], r["branch"]) for r in log_of(shop, JANE)][:2] == [
        ("wait_for_order", "waiting", None),
        ("wait_for_order", "timed out", "else"),
    ]
    assert [m["status"] for m in rows(shop, "messages")] == ["sent", "sent"]


def test_an_order_for_the_same_cart_within_the_hour_ends_the_run_without_email(
    shop: App,
) -> None:
    at(shop, dt.timedelta(0), cart("cart_updated"))
    at(shop, 40 * MINUTE, cart("order_created"))
    at(shop, 2 * DAY)

    assert subjects(shop) == []
    assert run_states(shop) == [("exited", "wait_for_order")]
    assert lifecycle(shop) == [("exited", "exit: order_created")]


def test_an_order_for_another_cart_does_not_stop_the_reminder(shop: App) -> None:
    at(shop, dt.timedelta(0), cart("cart_updated"))
    at(shop, 40 * MINUTE, cart("order_created", cart_id="C2"))
    at(shop, 20 * MINUTE)

    assert subjects(shop) == [FIRST]
    assert run_states(shop) == [("waiting", "second_reminder")]
    assert lifecycle(shop) == []


def test_a_deleted_cart_after_the_first_reminder_ends_the_run_before_the_second(
    shop: App,
) -> None:
    at(shop, dt.timedelta(0), cart("cart_updated"))
    at(shop, HOUR)
    at(shop, 3 * HOUR, cart("cart_deleted"))
    at(shop, 2 * DAY)

    assert subjects(shop) == [FIRST]
    assert run_states(shop) == [("exited", "second_reminder")]
    assert lifecycle(shop) == [("exited", "exit: cart_deleted")]


def test_another_update_of_the_same_cart_starts_the_hour_again(shop: App) -> None:
    at(shop, dt.timedelta(0), cart("cart_updated"))
    at(shop, 40 * MINUTE, cart("cart_updated"))
    at(shop, 20 * MINUTE)  # an hour after the first update
    quiet = subjects(shop)
    at(shop, 40 * MINUTE - MINUTE)
    still_quiet = subjects(shop)
    at(shop, MINUTE)  # an hour after the second update

    assert quiet == still_quiet == []
    assert subjects(shop) == [FIRST]
    assert [status for status, _ in run_states(shop)] == ["waiting"]  # one run, restarted
    assert lifecycle(shop) == [("restarted", "restart: cart_updated")]


def test_an_update_of_another_cart_while_the_run_waits_is_refused(shop: App) -> None:
    """One run per contact at a time: the second cart waits for no reminder of its own."""
    at(shop, dt.timedelta(0), cart("cart_updated"))
    at(shop, 10 * MINUTE, cart("cart_updated", cart_id="C2"))
    at(shop, HOUR)

    assert len(rows(shop, "runs")) == 1
    assert subjects(shop) == [FIRST]


def test_an_order_in_the_same_batch_as_the_cart_update_still_counts(shop: App) -> None:
    """The engine was behind: both events wait in the queue when it ticks."""
    send(shop, cart("cart_updated"))
    clock_of(shop).advance(2 * MINUTE)
    send(shop, cart("order_created"))
    tick_until_idle(shop)
    at(shop, 2 * DAY)

    assert subjects(shop) == []
    assert [status for status, _ in run_states(shop)] == ["exited"]
    assert lifecycle(shop) == [("exited", "exit: order_created")]


def test_an_update_and_an_order_of_the_same_cart_in_one_batch_both_count(shop: App) -> None:
    """The update restarts the hour, the order then ends the run: neither is dropped."""
    at(shop, dt.timedelta(0), cart("cart_updated"))
    clock_of(shop).advance(30 * MINUTE)
    send(shop, cart("cart_updated", total=50), cart("order_created"))
    tick_until_idle(shop)
    at(shop, 2 * DAY)

    assert subjects(shop) == []
    assert lifecycle(shop) == [
        ("restarted", "restart: cart_updated"),
        ("exited", "exit: order_created"),
    ]


def test_the_contact_of_each_run_is_the_one_reminded(shop: App) -> None:
    other = "john@example.com"
    theirs = {"cart_id": "C9"}
    send(
        shop, cart("cart_updated"), EventInput(name="cart_updated", email=other, properties=theirs)
    )
    tick_until_idle(shop)
    at(shop, 30 * MINUTE, EventInput(name="order_created", email=other, properties=theirs))
    at(shop, 30 * MINUTE)

    assert subjects(shop) == [FIRST]
    assert rows(shop, "messages", recipient=other) == []
    assert [r["status"] for r in rows(shop, "runs", contact_id=contact_id(shop, other))] == [
        "exited"
    ]
