"""``/api/v1`` reads after the server's engine ran real events, on SQLite and PostgreSQL:
per-step stats (entered, waiting now, branches, sent, opened, clicked, conversions), pages
of runs, a contact's timeline with reasons, message detail with tracking, the conversions
report."""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx
import pytest

from .api_support import Server, wait_for

KEY = "v1-orders"
# Orders of 100 or more: thanks email, then a conversion worth the amount. Smaller ones wait
# three days for a second order (nobody orders: they stay waiting on that step).
ORDERS = f"""\
key: {KEY}
name: Big orders
entry_points:
  - event: v1_ordered
steps:
  - id: big
    if: {{trigger: {{property: amount, gte: 100}}}}
    then: thanks
    else: wait_again
  - id: thanks
    send_email:
      from: "Shop <shop@example.com>"
      subject: "Thanks {{{{ contact.FIRSTNAME }}}}"
      html: "<p>Your order of {{{{ event.properties.amount }}}} EUR</p>"
      text: "Order {{{{ event.properties.amount }}}}"
    next: convert
  - id: convert
    record_conversion: {{name: big_order, value: {{from_event: amount}}, currency: EUR}}
  - id: wait_again
    wait_for_event: {{event: v1_ordered_again, timeout: {{days: 3}}}}
    then: end
    else: end
"""
AMOUNTS = {"ann": 150, "bob": 200, "cy": 300, "dee": 20, "eve": 50}


def email(name: str, prefix: str) -> str:
    return f"{prefix}-{name}@example.com"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def server(request: pytest.FixtureRequest) -> Server:
    name = "api_server" if request.param == "sqlite" else "pg_api_server"
    found: Server = request.getfixturevalue(name)
    return found


def send_event(http: httpx.Client, name: str, address: str, **properties: Any) -> None:
    answer = http.post(
        "/v3/events",
        json={
            "event_name": name,
            "identifiers": {"email_id": address},
            "contact_properties": {"FIRSTNAME": address.split("@")[0].split("-")[-1].title()},
            "event_properties": properties,
        },
    )
    assert answer.status_code == 204, answer.text


def settled(http: httpx.Client) -> dict[str, Any] | None:
    stats = http.get(f"/api/v1/workflows/{KEY}/stats").json()
    steps = {s["id"]: s for s in stats["steps"]}
    runs = stats["runs"]
    done = runs["completed"] == 3 and runs["waiting"] == 2 and runs["active"] == 0
    return stats if done and steps["thanks"]["messages"]["sent"] == 3 else None


def test_stats_runs_timeline_messages_and_conversions(server: Server) -> None:
    prefix = f"v1j{server.process.pid}"
    started = dt.datetime.now(dt.UTC)
    with server.client() as http:
        applied = http.post(
            "/api/v1/workflows", content=ORDERS, headers={"content-type": "application/yaml"}
        )
        assert applied.status_code == 200, applied.text
        for name, amount in AMOUNTS.items():
            send_event(http, "v1_ordered", email(name, prefix), amount=amount)
        stats = wait_for(lambda: settled(http), what="the engine to run every order")

        steps = {s["id"]: s for s in stats["steps"]}
        assert [s["id"] for s in stats["steps"]] == ["big", "thanks", "convert", "wait_again"]
        assert steps["big"]["kind"] == "if"
        assert (steps["big"]["entered"], steps["big"]["branches"]) == (5, {"then": 3, "else": 2})
        assert steps["thanks"]["entered"] == 3
        assert steps["thanks"]["messages"] == {
            "total": 3,
            "queued": 0,
            "sent": 3,
            "failed": 0,
            "suppressed": 0,
        }
        assert (steps["convert"]["conversions"], steps["convert"]["revenue"]) == (3, {"EUR": 650})
        assert (steps["wait_again"]["entered"], steps["wait_again"]["waiting_now"]) == (2, 2)
        assert steps["wait_again"]["branches"] == {}
        assert stats["runs"] == {
            "entered": 5,
            "inside": 2,
            "active": 0,
            "waiting": 2,
            "completed": 3,
            "exited": 0,
            "failed": 0,
            "converted": 3,
        }

        listed = {w["key"]: w for w in http.get("/api/v1/workflows").json()["workflows"]}
        detail = http.get(f"/api/v1/workflows/{KEY}").json()
        overall = {k: v for k, v in stats["runs"].items() if k != "converted"}
        assert listed[KEY]["runs"] == detail["runs"] == overall
        assert [(v["version"], v["runs"]) for v in detail["versions"]] == [(1, 5)]

        check_tracking(http, prefix)
        check_runs_pages(http)
        check_timeline(http, prefix)
        check_conversions_report(http, started)


def check_tracking(http: httpx.Client, prefix: str) -> None:
    """Opens and clicks are counted per message from ``email_*`` events naming its key,
    as the tracking routes record them."""
    page = http.get("/api/v1/messages", params={"workflow": KEY, "status": "sent"}).json()
    assert page["count"] == 3
    by_recipient = {m["recipient"]: m for m in page["messages"]}
    assert set(by_recipient) == {email(n, prefix) for n in ("ann", "bob", "cy")}
    ann = http.get(f"/api/v1/messages/{by_recipient[email('ann', prefix)]['id']}").json()
    bob = http.get(f"/api/v1/messages/{by_recipient[email('bob', prefix)]['id']}").json()
    for message, events in (
        (ann, ["email_opened", "email_opened", "email_clicked"]),
        (bob, ["email_opened"]),
    ):
        for name in events:
            send_event(http, name, message["recipient"], message_key=message["idempotency_key"])
    # An open of another key (a message of no workflow) counts for nobody.
    send_event(http, "email_opened", email("cy", prefix), message_key="not-a-message")

    stats = wait_for(
        lambda: _tracked(http), what="the opens and clicks to show in the stats", timeout=15
    )
    thanks = next(s for s in stats["steps"] if s["id"] == "thanks")
    assert (thanks["opened"], thanks["clicked"]) == (2, 1)

    detail = http.get(f"/api/v1/messages/{ann['id']}").json()
    assert detail["subject"] == "Thanks Ann"
    assert detail["html"] == "<p>Your order of 150 EUR</p>"
    assert detail["text"] == "Order 150"
    assert (detail["workflow"], detail["step_id"], detail["channel"]) == (KEY, "thanks", "email")
    assert isinstance(detail["headers"], dict)
    assert [t["name"] for t in detail["tracking"]] == [
        "email_opened",
        "email_opened",
        "email_clicked",
    ]
    assert {t["properties"]["message_key"] for t in detail["tracking"]} == {ann["idempotency_key"]}
    only_bob = http.get("/api/v1/messages", params={"email": email("bob", prefix).upper()})
    assert [m["id"] for m in only_bob.json()["messages"]] == [bob["id"]]
    assert http.get("/api/v1/messages/999999999").status_code == 404


def _tracked(http: httpx.Client) -> dict[str, Any] | None:
    stats = http.get(f"/api/v1/workflows/{KEY}/stats").json()
    thanks = next(s for s in stats["steps"] if s["id"] == "thanks")
    return stats if thanks["opened"] == 2 and thanks["clicked"] == 1 else None


def check_runs_pages(http: httpx.Client) -> None:
    first = http.get(f"/api/v1/workflows/{KEY}/runs", params={"limit": 2}).json()
    second = http.get(f"/api/v1/workflows/{KEY}/runs", params={"limit": 2, "offset": 2}).json()
    last = http.get(f"/api/v1/workflows/{KEY}/runs", params={"limit": 2, "offset": 4}).json()
    waiting = http.get(f"/api/v1/workflows/{KEY}/runs", params={"status": "waiting"}).json()

    assert (first["count"], len(first["runs"]), len(second["runs"]), len(last["runs"])) == (
        5,
        2,
        2,
        1,
    )
    ids = [r["id"] for page in (first, second, last) for r in page["runs"]]
    assert ids == sorted(set(ids), reverse=True)
    assert waiting["count"] == 2
    assert {r["step_id"] for r in waiting["runs"]} == {"wait_again"}
    assert all(r["trigger_event"] == "v1_ordered" for r in first["runs"])
    bad = http.get(f"/api/v1/workflows/{KEY}/runs", params={"status": "sleeping"})
    assert bad.status_code == 400 and bad.json()["code"] == "invalid_parameter"


def check_timeline(http: httpx.Client, prefix: str) -> None:
    """Ann's journey: entered on her event, every step with its reason; a second order is
    refused (re-entry is once) and the refusal shows with its reason."""
    ann = email("ann", prefix)
    send_event(http, "v1_ordered", ann, amount=999)

    def refused() -> dict[str, Any] | None:
        found = http.get(f"/api/v1/contacts/{ann}/timeline").json()
        return found if any(e["type"] == "refused" for e in found["timeline"]) else None

    timeline = wait_for(refused, what="the refused second entry")
    entries = timeline["timeline"]
    assert timeline["contact"]["email"] == ann
    assert [(e["type"], e["step_id"]) for e in entries] == [
        ("entered", None),
        ("step", "big"),
        ("step", "thanks"),
        ("step", "convert"),
        ("refused", None),
    ]
    entered, big, thanks, convert, refusal = entries
    assert entered["event"] == "v1_ordered" and "entered on event v1_ordered" in entered["reason"]
    assert (big["result"], big["branch"]) == ("yes", "then")
    assert "150" in big["reason"] and "100" in big["reason"]
    assert thanks["kind"] == "send_email" and thanks["reason"]
    assert convert["reason"] == "conversion big_order: 150 EUR"
    assert refusal["workflow"] == KEY and "already entered" in refusal["reason"]

    by_id = http.get(f"/api/v1/contacts/{timeline['contact']['id']}/runs").json()
    by_email = http.get(f"/api/v1/contacts/{ann}/runs").json()
    assert by_id == by_email
    assert [(r["workflow"], r["status"]) for r in by_id["runs"]] == [(KEY, "completed")]
    missing = http.get("/api/v1/contacts/nobody-v1@example.com/timeline")
    assert missing.status_code == 404


def check_conversions_report(http: httpx.Client, started: dt.datetime) -> None:
    report = http.get("/api/v1/reports/conversions").json()
    mine = [w for w in report["workflows"] if w["workflow"] == KEY]
    steps = [s for s in report["steps"] if s["workflow"] == KEY]
    assert mine == [{"workflow": KEY, "currency": "EUR", "conversions": 3, "revenue": 650.0}]
    assert steps == [
        {"workflow": KEY, "step": "convert", "currency": "EUR", "conversions": 3, "revenue": 650.0}
    ]
    eur = next(t for t in report["totals"] if t["currency"] == "EUR")
    assert eur["conversions"] >= 3 and eur["revenue"] >= 650.0

    before = (started - dt.timedelta(minutes=1)).isoformat()
    later = http.get("/api/v1/reports/conversions", params={"since": before}).json()
    earlier = http.get("/api/v1/reports/conversions", params={"until": before}).json()
    assert [w for w in later["workflows"] if w["workflow"] == KEY] == mine
    assert [w for w in earlier["workflows"] if w["workflow"] == KEY] == []
    bad = http.get("/api/v1/reports/conversions", params={"since": "yesterday"})
    assert bad.status_code == 400 and "since" in bad.json()["message"]
