"""The email funnel per day over a date range, on SQLite and PostgreSQL: emails bucketed by the
UTC day they were sent (on both sides of midnight), ``since``/``until`` bounding the range
(dates, and date-times with an offset), opens counted on the day of sending."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa

from journeyman.store import normalize_url
from journeyman.store.schema import messages

from .api_support import Server, wait_for

FLOW = """\
key: {key}
name: Range
entry_points:
  - event: {key}_ordered
steps:
  - id: thanks
    send_email:
      from: "Shop <shop@example.com>"
      subject: "Thanks"
      html: "<p>Thanks</p>"
"""

UTC = dt.UTC
SENT_AT = {  # who -> when the email was sent; midnight of 29 March is the edge
    "ann": dt.datetime(2026, 3, 28, 23, 59, 59, tzinfo=UTC),
    "bob": dt.datetime(2026, 3, 29, 0, 0, 1, tzinfo=UTC),
    "cid": dt.datetime(2026, 3, 31, 12, 0, tzinfo=UTC),
}


def sent_on(db_url: str, moved: dict[int, dt.datetime]) -> None:
    """Date the messages back: what the server would have stored had it sent them then."""
    engine = sa.create_engine(normalize_url(db_url))
    try:
        with engine.begin() as connection:
            for message_id, when in moved.items():
                connection.execute(
                    sa.update(messages)
                    .where(messages.c.id == message_id)
                    .values(sent_at=when, created_at=when)
                )
    finally:
        engine.dispose()


def test_the_funnel_is_counted_per_utc_day_within_the_range(backend_server: Server) -> None:
    key = f"range{backend_server.process.pid}"
    with backend_server.client() as http:
        answer = http.post(
            "/api/v1/workflows",
            content=FLOW.format(key=key),
            headers={"content-type": "application/yaml"},
        )
        assert answer.status_code == 200, answer.text
        for who in SENT_AT:
            answer = http.post(
                "/v3/events",
                json={
                    "event_name": f"{key}_ordered",
                    "identifiers": {"email_id": f"{key}-{who}@example.com"},
                },
            )
            assert answer.status_code == 204, answer.text

        def outbox() -> dict[str, dict[str, Any]] | None:
            page = http.get("/api/v1/messages", params={"workflow": key}).json()
            sent = {m["recipient"].split("@")[0][len(key) + 1 :]: m for m in page["messages"]}
            return (
                sent
                if all(m["status"] == "sent" for m in sent.values()) and len(sent) == 3
                else None
            )

        sent = wait_for(outbox, what="three emails sent")
        sent_on(backend_server.db_url, {sent[w]["id"]: when for w, when in SENT_AT.items()})
        key_of_ann = http.get(f"/api/v1/messages/{sent['ann']['id']}").json()["idempotency_key"]
        answer = http.post(
            "/v3/events",
            json={
                "event_name": "email_opened",
                "identifiers": {"email_id": sent["ann"]["recipient"]},
                "event_properties": {"message_key": key_of_ann},
            },
        )
        assert answer.status_code == 204, answer.text

        def days(since: str, until: str) -> list[tuple[str, int, int]]:
            answer = http.get(
                "/api/v1/reports/funnel", params={"workflow": key, "since": since, "until": until}
            )
            assert answer.status_code == 200, answer.text
            rows = answer.json()["workflows"]
            return [(d["date"], d["sent"], d["opened"]) for d in rows[0]["days"]] if rows else []

        def opened() -> list[tuple[str, int, int]] | None:
            found = days("2026-03-28", "2026-04-01")
            return found if found and found[0][2] == 1 else None

        everything = wait_for(opened, what="the open counted")
        assert everything == [("2026-03-28", 1, 1), ("2026-03-29", 1, 0), ("2026-03-31", 1, 0)]
        assert days("2026-03-29", "2026-03-31") == [("2026-03-29", 1, 0)]
        assert days("2026-04-01", "2026-04-05") == []
        # A range in another time zone: Berlin's 29 March starts at 22:00 UTC on the 28th.
        assert days("2026-03-29T00:00:00+01:00", "2026-03-29T12:00:00+02:00") == [
            ("2026-03-28", 1, 1),
            ("2026-03-29", 1, 0),
        ]
