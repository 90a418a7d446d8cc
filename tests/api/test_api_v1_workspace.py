"""What the marketer's workspace reads, over real HTTP on SQLite and PostgreSQL: contacts
searched by email, attributes and lists and sorted by a number attribute; the outbox with
reasons and captured messages; the email funnel per workflow and day."""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx

from .api_support import Server, wait_for

FUNNEL = """\
key: ws-funnel
name: Funnel
entry_points:
  - event: ws_ordered
steps:
  - id: thanks
    send_email:
      from: "Shop <shop@example.com>"
      subject: "Thanks"
      html: "<p>Thanks</p>"
    next: convert
  - id: convert
    record_conversion: {name: order, value: {from_event: amount}, currency: EUR}
"""


def emails(page: dict[str, Any]) -> list[str]:
    return [c["email"].split("@")[0] for c in page["contacts"]]


def make_contacts(http: httpx.Client, prefix: str) -> int:
    for name, kind in (("SCORE", "float"), ("CITY", "text"), ("VIP", "boolean")):
        http.post(f"/v3/contacts/attributes/normal/{prefix}_{name}", json={"type": kind})
    list_id = int(http.post("/v3/contacts/lists", json={"name": f"{prefix} L"}).json()["id"])
    for email, attributes, lists in (
        ("a", {"SCORE": 10, "CITY": "Berlin", "VIP": True}, [list_id]),
        ("b", {"SCORE": 50, "CITY": "Hamburg", "VIP": False}, []),
        ("c", {"SCORE": 30.5, "CITY": "Berlin"}, [list_id]),
        ("d", {"CITY": "Bonn_100%"}, []),
    ):
        answer = http.post(
            "/v3/contacts",
            json={
                "email": f"{prefix.lower()}-{email}@example.com",
                "attributes": {f"{prefix}_{k}": v for k, v in attributes.items()},
                "listIds": lists,
            },
        )
        assert answer.status_code == 201, answer.text
    return list_id


def test_contacts_are_searched_filtered_and_sorted(backend_server: Server) -> None:
    prefix = f"S{backend_server.process.pid}"
    p = prefix.lower()
    with backend_server.client() as http:
        list_id = make_contacts(http, prefix)

        def search(**params: Any) -> dict[str, Any]:
            answer = http.get("/api/v1/contacts", params={"search": f"{p}-", **params})
            assert answer.status_code == 200, answer.text
            return dict(answer.json())

        top = search(sort=f"-{prefix}_SCORE")
        assert emails(top) == [f"{p}-b", f"{p}-c", f"{p}-a", f"{p}-d"]  # no score: last
        assert top["count"] == 4
        assert top["contacts"][0]["attributes"][f"{prefix}_SCORE"] == 50
        assert emails(search(sort=f"{prefix}_SCORE")) == [f"{p}-a", f"{p}-c", f"{p}-b", f"{p}-d"]
        page = search(sort=f"-{prefix}_SCORE", limit=2, offset=1)
        assert (emails(page), page["count"]) == ([f"{p}-c", f"{p}-a"], 4)
        assert emails(search(filter=f"{prefix}_SCORE:gte:30.5")) == [f"{p}-c", f"{p}-b"]
        assert emails(search(filter=f"{prefix}_SCORE:unset")) == [f"{p}-d"]
        assert emails(search(filter=f"{prefix}_VIP:eq:yes")) == [f"{p}-a"]
        assert emails(search(filter=f"{prefix}_CITY:contains:_100%")) == [f"{p}-d"]
        berliners = search(filter=[f"{prefix}_CITY:eq:Berlin"], list=[list_id])
        assert emails(berliners) == [f"{p}-c", f"{p}-a"]  # newest first
        assert berliners["contacts"][0]["listIds"] == [list_id]
        assert emails(search(search=f"{p}-B@EXAMPLE")) == [f"{p}-b"]

        for params, words in (
            ({"filter": "NOPE:eq:1"}, "no attribute 'NOPE'"),
            ({"filter": f"{prefix}_SCORE:like:1"}, "not an operator"),
            ({"filter": f"{prefix}_SCORE:gt:many"}, "expected a number"),
            ({"filter": f"{prefix}_CITY:gt:B"}, "is a text attribute"),
            ({"filter": "just-a-name"}, "ATTRIBUTE:op:value"),
            ({"sort": f"-{prefix}_CITY"}, "number attribute"),
            ({"list": 2_000_000_000}, "no list with id"),
            ({"limit": 0}, "limit"),
        ):
            answer = http.get("/api/v1/contacts", params=params)
            assert answer.status_code == 400, (params, answer.text)
            assert words in answer.json()["message"], answer.text


def test_outbox_reasons_captured_messages_and_the_funnel(backend_server: Server) -> None:
    prefix = f"wsf{backend_server.process.pid}"
    started = dt.datetime.now(dt.UTC)
    with backend_server.client() as http:
        applied = http.post(
            "/api/v1/workflows", content=FUNNEL, headers={"content-type": "application/yaml"}
        )
        assert applied.status_code == 200, applied.text
        blocked = f"{prefix}-blocked@example.com"
        http.post("/v3/contacts", json={"email": blocked, "emailBlacklisted": True})
        for name in ("ann", "bob", "blocked"):
            answer = http.post(
                "/v3/events",
                json={
                    "event_name": "ws_ordered",
                    "identifiers": {"email_id": f"{prefix}-{name}@example.com"},
                    "event_properties": {"amount": 20},
                },
            )
            assert answer.status_code == 204, answer.text

        def outbox() -> list[dict[str, Any]] | None:
            page = http.get("/api/v1/messages", params={"workflow": "ws-funnel"}).json()
            done = [m for m in page["messages"] if m["status"] in ("sent", "suppressed")]
            return page["messages"] if len(done) == 3 else None

        messages = {m["recipient"].split("@")[0]: m for m in wait_for(outbox, what="the outbox")}
        ann, suppressed = (messages[f"{prefix}-{n}"] for n in ("ann", "blocked"))
        assert (ann["status"], ann["captured"], ann["reason"]) == ("sent", True, None)
        assert (suppressed["status"], suppressed["captured"]) == ("suppressed", False)
        assert suppressed["reason"] == "contact is blocklisted for email"
        detail = http.get(f"/api/v1/messages/{ann['id']}").json()
        assert detail["captured"] is True
        for name in ("email_opened", "email_clicked"):
            http.post(
                "/v3/events",
                json={
                    "event_name": name,
                    "identifiers": {"email_id": ann["recipient"]},
                    "event_properties": {"message_key": detail["idempotency_key"]},
                },
            )

        def funnel() -> dict[str, Any] | None:
            found = http.get(
                "/api/v1/reports/funnel",
                params={"workflow": "ws-funnel", "since": started.isoformat()},
            ).json()
            rows = found["workflows"]
            ready = rows and rows[0]["totals"]["converted"] == 2 and rows[0]["totals"]["opened"]
            return dict(found) if ready else None

        report = wait_for(funnel, what="the conversions and opens")
        assert report["workflows"] == [
            {
                "workflow": "ws-funnel",
                "totals": {"sent": 2, "opened": 1, "clicked": 1, "converted": 2},
                "days": [
                    {
                        "date": dt.datetime.now(dt.UTC).date().isoformat(),
                        "sent": 2,
                        "opened": 1,
                        "clicked": 1,
                        "converted": 2,
                    }
                ],
            }
        ]
        for params in (
            {"since": "2027-01-02", "until": "2027-01-01"},
            {"since": "2020-01-01", "until": "2027-01-01"},
            {"since": "yesterday"},
        ):
            answer = http.get("/api/v1/reports/funnel", params=params)
            assert answer.status_code == 400, answer.text
        assert http.get("/api/v1/reports/funnel", params={"workflow": "nope"}).status_code == 404
