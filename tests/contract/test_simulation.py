"""The dry-run simulator on both databases: a stored contact's history decides its path, a
made-up contact takes the other one, time is skipped, webhooks are answered as told, the
horizon stops a long wait, bad input is refused, and the real store is never written."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

import journeyman
from journeyman import links
from journeyman.app import App
from journeyman.clock import FakeClock
from journeyman.documents import load_document
from journeyman.errors import InvalidInput, InvalidWorkflow
from journeyman.model.contacts import AttributeDefinition, AttributeType
from journeyman.services.events import EventInput
from journeyman.simulation import LaterEvent, Scenario, simulate

EXAMPLES = Path(journeyman.__file__).parent / "examples"
COUPON = load_document(EXAMPLES / "first-purchase-coupon.yaml")
CART = load_document(EXAMPLES / "abandoned-cart.yaml")
SHOP = "https://shop.example.com"
TABLES = ("contacts", "events", "event_queue", "runs", "run_log", "messages", "list_members")


def counts(app: App) -> dict[str, int]:
    with app.engine.connect() as connection:
        return {
            t: connection.execute(sa.text(f"SELECT count(*) FROM {t}")).scalar_one() for t in TABLES
        }


def path(found: Any) -> list[tuple[str, str, str | None]]:
    return [(s.step_id, s.result, s.branch) for s in found.steps]


def test_a_stored_contacts_history_decides_and_a_new_contact_takes_the_other_way(
    app: App,
) -> None:
    app.apply_workflow(COUPON)
    app.record_events([EventInput(name="purchase", email="ann@example.com", properties={})])
    app.run_until_idle(None)
    before = counts(app)

    stored = simulate(app, COUPON, Scenario(email="ANN@example.com"))
    assert (stored.email, stored.stored_contact, stored.event) == (
        "ann@example.com",
        True,
        "purchase",
    )
    assert path(stored) == [
        ("is_first_purchase", "no", "else"),
        ("add_to_loyal", "changed", "next"),
    ]
    assert "purchase count = 2, expected exactly 1" in stored.steps[0].reason
    assert stored.messages == ()
    assert (stored.entered, stored.finished) == (True, True)
    assert [r["status"] for r in stored.runs] == ["completed"]

    new = simulate(app, COUPON, Scenario(email="bo@example.com", attributes={"firstname": "Bo"}))
    assert new.stored_contact is False
    assert path(new) == [("is_first_purchase", "yes", "then"), ("send_coupon", "queued", "next")]
    [email] = new.messages
    assert (email.channel, email.recipient) == ("email", "bo@example.com")
    assert email.subject == "Thank you, Bo: 10% off your next order"
    assert email.text is not None and "THANKS-" in email.text

    # Nothing of either simulation is in the real store.
    assert counts(app) == before
    with app.engine.connect() as connection:
        emails = connection.execute(sa.text("SELECT email FROM contacts")).scalars().all()
    assert emails == ["ann@example.com"]


def test_a_purchase_received_before_counts_whatever_its_time_as_in_the_engine(
    app: App, clock: FakeClock
) -> None:
    """An order stored with a time after now (a shop's clock ahead) was received before the
    simulated purchase: the simulation says "repeat buyer", as the engine would."""
    app.apply_workflow(COUPON)
    ahead = clock.now() + dt.timedelta(hours=2)
    app.record_events(
        [EventInput(name="purchase", email="ann@example.com", occurred_at=ahead, historical=True)]
    )

    found = simulate(app, COUPON, Scenario(email="ann@example.com"))

    assert path(found)[0] == ("is_first_purchase", "no", "else")
    assert "purchase count = 2, expected exactly 1" in found.steps[0].reason


def test_time_is_skipped_through_a_wait_and_a_delay(app: App, clock: FakeClock) -> None:
    found = simulate(app, CART, Scenario(properties={"cart_id": "C1", "total": 40}))
    start = clock.now()
    assert found.started_at == start and clock.now() == start  # the real clock stays
    assert [(s.step_id, s.result, s.at - start) for s in found.steps] == [
        ("wait_for_order", "waiting", dt.timedelta(0)),
        ("wait_for_order", "timed out", dt.timedelta(hours=1)),
        ("first_reminder", "queued", dt.timedelta(hours=1)),
        ("wait_a_day", "waiting", dt.timedelta(hours=1)),
        ("second_reminder", "queued", dt.timedelta(days=1, hours=1)),
    ]
    assert [m.subject for m in found.messages] == [
        "Hello, your cart is waiting",
        "Still thinking about it? Your cart is saved",
    ]
    assert all(m.status == "sent" for m in found.messages)  # to the capture transport
    assert found.ended_at == start + dt.timedelta(days=1, hours=1) and found.finished


def hook_document(then_wait_days: int = 0) -> dict[str, Any]:
    steps: list[dict[str, Any]] = [
        {
            "id": "ask",
            "call_webhook": {
                "url": "https://crm.example.com/score",
                "body": {"email": "{{ contact.email }}"},
            },
            "success": "check",
            "failure": "end",
        },
        {
            "id": "check",
            "if": {"webhook": {"step": "ask", "path": "json.score", "gte": 50}},
            "then": "hot",
            "else": "end",
        },
        {"id": "hot", "delay": {"days": then_wait_days or 1}, "next": "tag"},
        {"id": "tag", "add_to_list": {"lists": ["Hot leads"]}},
    ]
    return {"key": "hook", "name": "Hook", "entry_points": [{"event": "signup"}], "steps": steps}


def test_webhooks_are_answered_as_the_scenario_says_and_never_called(app: App) -> None:
    hot = simulate(app, hook_document(), Scenario(webhook_json={"score": 70}))
    assert path(hot)[:3] == [
        ("ask", "called", None),
        ("ask", "success", "success"),
        ("check", "yes", "then"),
    ]
    assert path(hot)[-1] == ("tag", "changed", "next")
    [call] = hot.webhooks
    assert (call.method, call.url) == ("POST", "https://crm.example.com/score")
    assert call.body == {"email": "simulated.contact@example.com"}

    cold = simulate(app, hook_document(), Scenario(webhook_json={"score": 10}))
    assert ("check", "no", "else") in path(cold)
    failed = simulate(app, hook_document(), Scenario(webhook_status=503))
    assert path(failed)[1][:2] == ("ask", "failure")
    assert "503" in failed.steps[1].reason


def test_the_horizon_stops_a_wait_that_outlasts_it(app: App, clock: FakeClock) -> None:
    found = simulate(
        app,
        hook_document(then_wait_days=30),
        Scenario(webhook_json={"score": 99}, horizon=dt.timedelta(days=7)),
    )
    assert found.finished is False
    assert [r["status"] for r in found.runs] == ["waiting"]
    assert found.ended_at < clock.now() + dt.timedelta(days=7)
    assert path(found)[-1] == ("hot", "waiting", "next")


def test_a_blocklisted_contact_is_copied_with_its_flags(app: App) -> None:
    app.apply_workflow(COUPON)
    app.define_attribute(AttributeDefinition(name="VIP", type=AttributeType.BOOLEAN))
    app.record_events([EventInput(name="visit", email="cy@example.com", properties={})])
    with app.engine.begin() as connection:
        connection.execute(sa.text("UPDATE contacts SET email_blocklisted = true"))
    found = simulate(app, COUPON, Scenario(email="cy@example.com", attributes={"VIP": True}))
    assert path(found) == [
        ("is_first_purchase", "yes", "then"),
        ("send_coupon", "suppressed", "next"),
    ]
    assert found.steps[1].reason == "contact is blocklisted for email"
    [email] = found.messages
    assert (email.status, email.reason) == ("suppressed", "contact is blocklisted for email")


def test_bad_input_is_refused_with_the_reason(app: App) -> None:
    with pytest.raises(InvalidInput, match="unknown attribute 'SHOE_SIZE'"):
        simulate(app, COUPON, Scenario(attributes={"SHOE_SIZE": 42}))
    with pytest.raises(InvalidInput, match="event 'bad name!'"):
        simulate(app, COUPON, Scenario(event="bad name!"))
    broken = {**COUPON, "steps": [{"id": "x", "go_to": "nowhere"}]}
    with pytest.raises(InvalidWorkflow) as caught:
        simulate(app, broken, Scenario())
    assert caught.value.problems[0].step == "x"


def test_an_event_no_entry_point_takes_enters_nothing(app: App) -> None:
    found = simulate(app, COUPON, Scenario(event="newsletter_signup"))
    assert (found.entered, found.steps, found.runs) == (False, (), ())


def test_links_in_simulated_emails_do_not_verify_on_the_real_server(
    app: App, clock: FakeClock
) -> None:
    public = App(app.engine, clock=clock, settings=replace(app.settings, public_url=SHOP))
    app.record_events([EventInput(name="visit", email="real@example.com", properties={})])
    found = simulate(public, COUPON, Scenario(email="new@example.com"))
    [email] = found.messages
    assert email.text is not None
    token = email.text.split(f"{SHOP}/unsubscribe/")[1].split()[0]
    real = app.keys.current()
    assert links.verify(real, links.UNSUBSCRIBE, token) is None  # not a real contact's link


def test_later_events_end_a_wait_exit_a_run_and_enter_again(app: App, clock: FakeClock) -> None:
    start = clock.now()
    cart = {"cart_id": "C1", "total": 40}
    ordered = simulate(
        app,
        CART,
        Scenario(
            properties=cart,
            later=[
                LaterEvent(after=dt.timedelta(minutes=30), name="order_created", properties=cart)
            ],
        ),
    )
    assert [(s.step_id, s.result, s.branch, s.at - start) for s in ordered.steps] == [
        ("wait_for_order", "waiting", None, dt.timedelta(0)),
        ("wait_for_order", "exited", None, dt.timedelta(minutes=30)),  # exit_when: the order
    ]
    assert "order_created" in ordered.steps[1].reason
    assert ordered.messages == () and ordered.finished
    assert [r["status"] for r in ordered.runs] == ["exited"]

    other_cart = LaterEvent(
        after=dt.timedelta(minutes=30), name="order_created", properties={"cart_id": "C2"}
    )
    deleted = LaterEvent(after=dt.timedelta(hours=3), name="cart_deleted", properties=cart)
    exited = simulate(app, CART, Scenario(properties=cart, later=[deleted, other_cart]))
    assert [m.subject for m in exited.messages] == ["Hello, your cart is waiting"]  # after 1 h
    assert [r["status"] for r in exited.runs] == ["exited"]

    again = LaterEvent(after=dt.timedelta(days=10), name="purchase")
    twice = simulate(app, COUPON, Scenario(later=[again]))
    assert [(s.step_id, s.branch) for s in twice.steps if s.kind == "if"] == [
        ("is_first_purchase", "then"),
        ("is_first_purchase", "else"),
    ]
    assert twice.steps[-1].at - start == dt.timedelta(days=10)
    assert [r["status"] for r in twice.runs] == ["completed", "completed"]

    beyond = LaterEvent(after=dt.timedelta(days=30), name="purchase")
    cut = simulate(app, COUPON, Scenario(later=[beyond], horizon=dt.timedelta(days=7)))
    assert len(cut.runs) == 1 and cut.finished is False
    with pytest.raises(InvalidInput, match="later event 'bad name!'"):
        simulate(app, COUPON, Scenario(later=[LaterEvent(after=dt.timedelta(0), name="bad name!")]))


def test_a_later_event_in_time_takes_the_waits_then_way(app: App, clock: FakeClock) -> None:
    document = {
        "key": "sim-wait",
        "name": "Wait for a reply",
        "entry_points": [{"event": "asked"}],
        "steps": [
            {
                "id": "reply",
                "wait_for_event": {"event": "replied", "timeout": {"days": 2}},
                "then": "thanked",
                "else": "end",
            },
            {"id": "thanked", "add_to_list": {"lists": ["Replied"]}},
        ],
    }
    late = LaterEvent(after=dt.timedelta(days=3), name="replied")
    soon = LaterEvent(after=dt.timedelta(hours=5), name="replied")
    timed_out = simulate(app, document, Scenario(later=[late]))
    answered = simulate(app, document, Scenario(later=[soon]))
    assert [(s.step_id, s.branch) for s in timed_out.steps][-1] == ("reply", "else")
    assert [(s.step_id, s.result) for s in answered.steps][-1] == ("thanked", "changed")
    assert answered.steps[-1].at - clock.now() == dt.timedelta(hours=5)
