"""Email tracking and unsubscribe through the running server, whose public URL is itself: a
workflow's email (captured in the outbox) carries an open pixel, tracked links and an
unsubscribe link; fetching them records events that start workflows and feed conditions;
tampered tokens are refused with nothing recorded and no redirect; one-click unsubscribe
blocklists the contact and the next email is suppressed. On SQLite and PostgreSQL."""

from __future__ import annotations

import base64
import html
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from .api_support import Reader, Server, cli, wait_for

PROMO = """\
key: trk-promo
name: Spring sale
entry_points:
  - event: trk_promo
steps:
  - id: promo
    send_email:
      from: "Shop <shop@example.com>"
      subject: "Spring sale"
      html: >-
        <html><body><p>Hi {{ contact.FIRSTNAME }}</p>
        <a href="https://shop.example.com/sale?a=1&amp;b=2" class="cta">Sale</a>
        <a href="mailto:help@shop.example.com">Help</a> <a href="#top">Top</a>
        <a href='https://shop.example.com/p/{{ event.properties.sku }}'>Product</a>
        </body></html>
      text: "Hi {{ contact.FIRSTNAME }}"
    next: wait_click
  - id: wait_click
    wait_for_event:
      event: email_clicked
      timeout: {days: 3}
    then: clicked
    else: end
  - id: clicked
    if: {message: {activity: clicked, step: promo}}
    then: thanks
    else: end
  - id: thanks
    send_email:
      from: "Shop <shop@example.com>"
      subject: "Thanks for clicking"
      html: "<p>Glad you like it</p>"
"""

OPENED = """\
key: trk-opened
name: Opened the sale
entry_points:
  - email_opened: {step: promo, workflow: trk-promo}
steps:
  - id: follow
    send_email:
      from: "Shop <shop@example.com>"
      subject: "You opened the sale"
      html: "<p>Seen it?</p>"
      track: false
"""

NEWS = """\
key: trk-news
name: News
entry_points:
  - event: trk_news
steps:
  - id: news
    send_email:
      from: "Shop <shop@example.com>"
      subject: "News"
      html: "<p>News</p>"
"""


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def server(request: pytest.FixtureRequest, tmp_path: Path) -> Server:
    name = "public_api_server" if request.param == "sqlite" else "pg_public_api_server"
    found: Server = request.getfixturevalue(name)
    for number, document in enumerate((PROMO, OPENED, NEWS)):
        path = tmp_path / f"workflow-{number}.yaml"
        path.write_text(document)
        cli(tmp_path, found.db_url, "workflow", "apply", str(path))
    return found


@pytest.fixture
def reader(server: Server) -> Iterator[Reader]:
    found = Reader(server.db_url)
    yield found
    found.close()


def as_json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def send_event(server: Server, name: str, email: str, **properties: Any) -> None:
    with server.client() as http:
        answer = http.post(
            "/v3/events",
            json={
                "event_name": name,
                "identifiers": {"email_id": email},
                "contact_properties": {"FIRSTNAME": "Jo"},
                "event_properties": properties,
            },
        )
    assert answer.status_code == 204, answer.text


def message(reader: Reader, email: str, subject: str, status: str = "sent") -> dict[str, Any]:
    def probe() -> dict[str, Any] | None:
        rows = reader.rows(
            "SELECT idempotency_key, contact_id, html, text, headers, status FROM messages"
            " WHERE recipient = :email AND subject = :subject",
            email=email,
            subject=subject,
        )
        if not rows or rows[0][5] != status:
            return None
        key, contact_id, body, text, headers, found = rows[0]
        return {
            "key": key,
            "contact_id": contact_id,
            "html": body,
            "text": text,
            "headers": as_json(headers),
            "status": found,
        }

    return wait_for(probe, what=f"{status} email {subject!r} to {email}")


def tracking_events(reader: Reader, contact_id: int, name: str) -> list[dict[str, Any]]:
    rows = reader.rows(
        "SELECT properties, source FROM events WHERE contact_id = :c AND name = :n ORDER BY id",
        c=contact_id,
        n=name,
    )
    for _, source in rows:
        assert source == "tracking"
    return [as_json(r[0]) for r in rows]


def hrefs(body: str) -> list[str]:
    return [html.unescape(h) for h in re.findall(r'href="([^"]*)"', body)]


def tampered(token: str) -> str:
    """One character of the token changed."""
    at = len(token) // 3
    return token[:at] + ("A" if token[at] != "A" else "B") + token[at + 1 :]


def test_opens_and_clicks_are_recorded_drive_workflows_and_redirect_only_to_the_email_links(
    server: Server, reader: Reader
) -> None:
    email = "tracked@example.com"
    send_event(server, "trk_promo", email, sku="TEA-1")
    sale = message(reader, email, "Spring sale")
    base = server.url

    links = hrefs(sale["html"])
    sale_link, mailto, anchor, product_link, unsubscribe = links
    assert sale_link.startswith(f"{base}/t/c/") and product_link.startswith(f"{base}/t/c/")
    assert sale_link != product_link
    assert (mailto, anchor) == ("mailto:help@shop.example.com", "#top")
    assert unsubscribe.startswith(f"{base}/unsubscribe/")
    assert 'class="cta"' in sale["html"] and "https://shop.example.com" not in sale["html"]
    (pixel,) = re.findall(r'<img src="([^"]*)"', sale["html"])
    assert pixel.startswith(f"{base}/t/o/")
    assert sale["html"].rstrip().endswith("</body></html>")
    contact_id = sale["contact_id"]
    expected = {"message_key": sale["key"], "workflow": "trk-promo", "step": "promo"}

    with server.anonymous() as http:
        # Tampered tokens first: refused, nothing recorded, no redirect.
        pixel_token = pixel.rpartition("/")[2]
        sale_token = sale_link.rpartition("/")[2]
        mac = sale_token.rpartition(".")[2]
        evil = base64.urlsafe_b64encode(
            f"{contact_id}.{sale['key']}\nhttps://evil.example/phish".encode()
        )
        swapped = f"{evil.decode().rstrip('=')}.{mac}"
        for path in (
            f"/t/o/{tampered(pixel_token)}",
            f"/t/c/{tampered(sale_token)}",
            f"/t/c/{swapped}",
            f"/t/c/{pixel_token}",  # an open token is no link
            f"/t/o/{sale_token}",
            "/t/c/not-a-token",
        ):
            refused = http.get(path)
            assert refused.status_code == 404, (path, refused.status_code)
            assert "location" not in refused.headers
        assert tracking_events(reader, contact_id, "email_clicked") == []
        assert tracking_events(reader, contact_id, "email_opened") == []

        opened = http.get(pixel)
        assert opened.status_code == 200
        assert opened.headers["content-type"] == "image/gif"
        assert opened.content.startswith(b"GIF89a") and len(opened.content) == 43
        assert "no-store" in opened.headers["cache-control"]
        assert tracking_events(reader, contact_id, "email_opened") == [expected]

        # The email_opened entry point of another workflow reacts.
        message(reader, email, "You opened the sale")

        clicked = http.get(sale_link)
        assert clicked.status_code == 302
        assert clicked.headers["location"] == "https://shop.example.com/sale?a=1&b=2"
        product = http.get(product_link)
        assert product.headers["location"] == "https://shop.example.com/p/TEA-1"

    assert tracking_events(reader, contact_id, "email_clicked") == [
        {**expected, "url": "https://shop.example.com/sale?a=1&b=2"},
        {**expected, "url": "https://shop.example.com/p/TEA-1"},
    ]
    # The promo run woke on the click; {message: {activity: clicked, step: promo}} held.
    thanks = message(reader, email, "Thanks for clicking")
    assert "/t/o/" in thanks["html"]
    follow = reader.rows(
        "SELECT html FROM messages WHERE recipient = :e AND subject = 'You opened the sale'",
        e=email,
    )
    (follow_html,) = follow[0]
    assert "/t/o/" not in follow_html and "/unsubscribe/" in follow_html  # track: false


def test_one_click_unsubscribe_blocklists_records_once_and_suppresses_the_next_email(
    server: Server, reader: Reader
) -> None:
    email = "leaving@example.com"
    send_event(server, "trk_promo", email, sku="X")
    sale = message(reader, email, "Spring sale")
    contact_id = sale["contact_id"]
    unsubscribe = hrefs(sale["html"])[-1]
    assert sale["headers"]["List-Unsubscribe"].startswith(f"<{unsubscribe}>, <mailto:")
    assert sale["headers"]["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert sale["text"].endswith(f"Unsubscribe: {unsubscribe}\n")
    blocklisted = "SELECT email_blocklisted FROM contacts WHERE id = :c"

    with server.anonymous() as http:
        page = http.get(unsubscribe)
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        assert '<form method="post">' in page.text
        assert 'name="List-Unsubscribe" value="One-Click"' in page.text
        assert not reader.value(blocklisted, c=contact_id)  # a GET changes nothing

        for bad in (tampered(unsubscribe), unsubscribe + "x"):
            assert http.get(bad).status_code == 404
            assert http.post(bad, content=b"List-Unsubscribe=One-Click").status_code == 404
        assert not reader.value(blocklisted, c=contact_id)

        one_click = {"content-type": "application/x-www-form-urlencoded"}
        for _ in range(2):  # a second unsubscribe is fine and records nothing more
            done = http.post(unsubscribe, content=b"List-Unsubscribe=One-Click", headers=one_click)
            assert done.status_code == 200, done.text
            assert "unsubscribed" in done.text

    assert reader.value(blocklisted, c=contact_id)
    assert tracking_events(reader, contact_id, "email_unsubscribed") == [
        {"message_key": sale["key"], "workflow": "trk-promo", "step": "promo"}
    ]
    with server.client() as http:
        contact = http.get(f"/v3/contacts/{email}").json()
    assert contact["emailBlacklisted"] is True

    send_event(server, "trk_news", email)
    news = message(reader, email, "News", status="suppressed")
    assert news["status"] == "suppressed"


def test_tracking_routes_need_no_api_key_and_are_in_the_openapi_document(
    server: Server,
) -> None:
    with httpx.Client(base_url=server.url, timeout=30) as http:
        paths = http.get("/openapi.json").json()["paths"]
        assert {"/t/o/{token}", "/t/c/{token}", "/unsubscribe/{token}"} <= set(paths)
        assert set(paths["/unsubscribe/{token}"]) == {"get", "post"}
        invalid = http.get("/unsubscribe/garbage")
        assert invalid.status_code == 404 and "not valid" in invalid.text
