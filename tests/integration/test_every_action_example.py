"""examples/every-action.yaml end to end: every action of the source document, against real
parts (both databases, a Twilio-shaped provider and a webhook receiver on loopback)."""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from journeyman.app import App
from journeyman.channels.capture import CaptureTransport
from journeyman.channels.sms import ProviderSettings, TwilioTransport
from journeyman.channels.webhook import WebhookTransport
from journeyman.documents import load_document
from journeyman.engine.dispatch import Dispatcher
from journeyman.model.contacts import AttributeDefinition, AttributeType
from journeyman.services.events import EventInput
from journeyman.store import schema, transaction
from journeyman.store.contacts import ContactInput
from journeyman.store.crm import create_user_txn

from .http_server import HttpServer, Reply

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
JANE = "jane@example.com"


@pytest.fixture
def provider() -> Any:
    with HttpServer() as server:
        server.answer = lambda request: (
            Reply(status=201, json={"sid": f"SM{len(server.requests)}"})
            if request.path.endswith("/Messages.json")
            else Reply(json={"segment": "gold"})
        )
        yield server


def rows(app: App, table: str, **where: Any) -> list[dict[str, Any]]:
    t = schema.metadata.tables[table]
    statement = sa.select(t).where(*(t.c[k] == v for k, v in where.items()))
    with app.engine.connect() as connection:
        return [
            dict(r._mapping)
            for r in connection.execute(statement.order_by(t.c[t.primary_key.columns.keys()[0]]))
        ]


def count(app: App, table: str) -> int:
    return len(rows(app, table))


def members(app: App, list_name: str) -> list[str]:
    statement = (
        sa.select(schema.contacts.c.email)
        .select_from(schema.list_members.join(schema.lists).join(schema.contacts))
        .where(schema.lists.c.name == list_name)
    )
    with app.engine.connect() as connection:
        return sorted(r.email for r in connection.execute(statement))


def steps_taken(app: App, email: str) -> list[tuple[str, str]]:
    statement = (
        sa.select(schema.run_log.c.step_id, schema.run_log.c.result)
        .join(schema.runs, schema.runs.c.id == schema.run_log.c.run_id)
        .join(schema.contacts, schema.contacts.c.id == schema.runs.c.contact_id)
        .where(schema.contacts.c.email == email)
        .order_by(schema.run_log.c.run_id, schema.run_log.c.seq)
    )
    with app.engine.connect() as connection:
        return [(r[0], r[1]) for r in connection.execute(statement)]


def prepare(app: App, provider: HttpServer) -> None:
    app.define_attribute(AttributeDefinition(name="LEAD_SCORE", type=AttributeType.NUMBER))
    app.define_attribute(AttributeDefinition(name="LAST_ORDER", type=AttributeType.TEXT))
    with transaction(app.engine) as connection:
        for name in ("Alice", "Bob"):
            create_user_txn(connection, name, f"{name.lower()}@example.com", app.clock.now())
    app.apply_workflow(load_document(EXAMPLES / "first-purchase-coupon.yaml"))
    document = load_document(EXAMPLES / "every-action.yaml")
    for step in document["steps"]:
        if "call_webhook" in step:
            step["call_webhook"]["url"] = provider.url("/enrich")
        if step["id"] == "many_orders":  # the example blocklists after 10 orders; 2 here
            step["if"]["event_count"]["at_least"] = 2
    app.apply_workflow(document)
    app.create_lists(["Prospects"])
    app.upsert_contacts(
        [
            ContactInput(
                email=JANE,
                attributes={"FIRSTNAME": "Jane"},
                sms="+4915111111111",
                whatsapp="+4916111111111",
            )
        ]
    )


def settle(app: App, provider: HttpServer) -> None:
    """Engine and dispatcher until neither has anything due now."""

    async def run() -> None:
        texts = TwilioTransport(
            ProviderSettings.from_url(
                f"twilio+http://AC1:token@127.0.0.1:{provider.port}?from=%2B15550001111"
                "&whatsapp_from=%2B15550002222"
            )
        )
        webhooks = WebhookTransport(allow_networks=["127.0.0.0/8"], clock=app.clock)
        dispatcher = Dispatcher(
            app.engine, CaptureTransport(), app.clock, texts=texts, webhooks=webhooks
        )
        stepper = app.stepper()
        try:
            for _ in range(50):
                busy = not stepper.tick().idle
                busy = bool(await dispatcher.dispatch_once()) or busy
                if not busy:
                    return
            raise AssertionError("not idle after 50 rounds")
        finally:
            await texts.aclose()
            await webhooks.aclose()

    asyncio.run(run())


def order(app: App, number: int, amount: float) -> None:
    report = app.record_events(
        [
            EventInput(
                name="order_created",
                email=JANE,
                properties={"order_id": f"O{number}", "amount": amount},
            )
        ]
    )
    assert report.rejected == ()


def test_every_action_of_the_example_runs(app: App, provider: HttpServer) -> None:
    prepare(app, provider)
    order(app, 1, 40.0)
    settle(app, provider)

    taken = [step for step, _ in steps_taken(app, JANE)]
    assert taken[:15] == [
        "confirm",
        "text_them",
        "whatsapp",
        "to_customers",
        "off_prospects",
        "score",
        "last_order",
        "owner",
        "deal",
        "task",
        "tell_team",
        "enrich",
        "enrich",
        "vip_check",
        "convert",
    ]
    assert taken[-1] == "wait"  # the run now waits 30 days
    by_channel = {
        m["channel"]: m for m in rows(app, "messages") if m["recipient"] != "sales@example.com"
    }
    assert {m["channel"] for m in rows(app, "messages")} == {"email", "sms", "whatsapp", "webhook"}
    assert all(m["status"] == "sent" for m in rows(app, "messages"))
    sms = [r.form() for r in provider.requests if r.path.endswith("/Messages.json")]
    assert {f["To"] for f in sms} == {"+4915111111111", "whatsapp:+4916111111111"}
    assert by_channel["sms"]["text"] == "Order O1 confirmed. Thank you!"
    webhook = [r for r in provider.requests if r.path == "/enrich"]
    assert webhook[0].json() == {"email": JANE, "order": "O1"}
    assert "webhook-signature" in webhook[0].headers
    assert set(members(app, "Customers")) == {JANE} and set(members(app, "Newsletter")) == {JANE}
    contact = rows(app, "contacts", email=JANE)[0]
    assert contact["attributes"]["LEAD_SCORE"] == 10
    assert contact["attributes"]["LAST_ORDER"] == "O1"
    assert contact["owner_id"] is not None
    deal = rows(app, "deals")[0]
    assert (deal["name"], deal["amount"], deal["owner_id"]) == (
        "Order O1",
        40.0,
        contact["owner_id"],
    )
    task = rows(app, "tasks")[0]
    assert (task["type"], task["deal_id"]) == ("call", deal["id"])
    notified = {m["recipient"] for m in rows(app, "messages") if m["step_id"] == "tell_team"}
    assert "sales@example.com" in notified and len(notified) == 2  # and the owner
    conversion = rows(app, "conversions")[0]
    confirm = next(m for m in rows(app, "messages") if m["step_id"] == "confirm")
    assert (conversion["value"], conversion["step_id"]) == (40.0, "convert")
    assert conversion["message_id"] is not None and conversion["message_id"] >= confirm["id"]

    # A second order: LEAD_SCORE reaches 20, the coupon workflow is started, go_to convert
    order(app, 2, 25.0)
    settle(app, provider)
    assert count(app, "runs") >= 3  # both orders' runs and the started coupon run
    started = [r for r in rows(app, "runs") if r["context"].get("chain")]
    assert started and started[0]["context"]["chain"] == ["every-action", "first-purchase-coupon"]
    assert count(app, "conversions") == 2

    # 30 days later: two orders -> no more SMS (blocklist), then the runs complete
    app.clock.advance(dt.timedelta(days=31))  # type: ignore[attr-defined]
    settle(app, provider)
    assert rows(app, "contacts", email=JANE)[0]["sms_blocklisted"] in (True, 1)
    statuses = {r["status"] for r in rows(app, "runs")}
    assert statuses <= {"completed"}, statuses
