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
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
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

# Images off, the reader in Outlook: a bulletproof button (VML for Outlook, a link for the
# other clients) and the unsubscribe link, inside and outside the conditional comment.
BLOCKED = """\
key: trk-blocked
name: Read with images off
entry_points:
  - event: trk_blocked
steps:
  - id: letter
    send_email:
      from: "Shop <shop@example.com>"
      subject: "Letter"
      html: |
        <html><body><table role="presentation"><tr><td align="center">
        <!--[if mso]>
        <v:roundrect xmlns:v="urn:schemas-microsoft-com:vml"
          xmlns:w="urn:schemas-microsoft-com:office:word"
          href="https://shop.example.com/new?utm_source=letter&amp;utm_medium=email"
          style="height:44px;v-text-anchor:middle;width:220px;" arcsize="10%"
          strokecolor="#0b6e4f" fillcolor="#0b6e4f">
        <w:anchorlock/><center style="color:#ffffff;font-family:Arial,sans-serif;">New in</center>
        </v:roundrect>
        <p><a href="{{ unsubscribe_url }}">Unsubscribe</a></p>
        <![endif]--><!--[if !mso]><!-- -->
        <a href="https://shop.example.com/new?utm_source=letter&amp;utm_medium=email"
          style="background-color:#0b6e4f;color:#ffffff;display:inline-block;width:220px;"
          >New in</a>
        <p><a href="{{ unsubscribe_url }}">Unsubscribe</a></p>
        <!--<![endif]-->
        </td></tr></table></body></html>
    next: wait_open
  - id: wait_open
    wait_for_event:
      event: email_opened
      timeout: {days: 3}
    then: opened
    else: end
  - id: opened
    if: {message: {activity: opened, step: letter}}
    then: thanks
    else: end
  - id: thanks
    send_email:
      from: "Shop <shop@example.com>"
      subject: "You read the letter"
      html: "<p>Thanks for reading</p>"
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
    for number, document in enumerate((PROMO, OPENED, NEWS, BLOCKED)):
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


def letter_stats(server: Server) -> dict[str, Any]:
    with server.client() as http:
        answer = http.get("/api/v1/workflows/trk-blocked/stats")
    assert answer.status_code == 200, answer.text
    (letter,) = [s for s in answer.json()["steps"] if s["id"] == "letter"]
    return dict(letter)


def test_a_click_from_outlook_with_images_off_counts_as_the_open_once(
    server: Server, reader: Reader
) -> None:
    email = "outlook@example.com"
    send_event(server, "trk_blocked", email)
    letter = message(reader, email, "Letter")
    body, base, contact_id = letter["html"], server.url, letter["contact_id"]
    vml_link, mso_unsubscribe, link, unsubscribe = hrefs(body)
    # The VML shape's link is tracked as the plain one is (same address, same token).
    assert re.search(r'<v:roundrect [^>]* href="' + re.escape(vml_link) + '"', body)
    assert vml_link == link and vml_link.startswith(f"{base}/t/c/")
    assert mso_unsubscribe == unsubscribe and unsubscribe.startswith(f"{base}/unsubscribe/")
    assert "shop.example.com" not in body and body.count("<![endif]-->") == 2
    expected = {"message_key": letter["key"], "workflow": "trk-blocked", "step": "letter"}
    assert letter_stats(server)["opened"] == 0

    with server.anonymous() as http:  # no pixel: images are off
        clicked = http.get(vml_link)
        assert clicked.status_code == 302
        assert clicked.headers["location"] == (
            "https://shop.example.com/new?utm_source=letter&utm_medium=email"
        )
        # The run waiting for an open woke on it, and {message: {activity: opened}} held.
        message(reader, email, "You read the letter")
        http.get(link)  # a second click opens nothing more

    url = "https://shop.example.com/new?utm_source=letter&utm_medium=email"
    assert tracking_events(reader, contact_id, "email_opened") == [{**expected, "via": "click"}]
    assert tracking_events(reader, contact_id, "email_clicked") == [{**expected, "url": url}] * 2
    # The open is recorded before the click it comes from.
    names = reader.rows(
        "SELECT name FROM events WHERE contact_id = :c AND source = 'tracking' ORDER BY id",
        c=contact_id,
    )
    assert [n for (n,) in names] == ["email_opened", "email_clicked", "email_clicked"]
    stats = letter_stats(server)
    assert (stats["opened"], stats["clicked"]) == (1, 1)

    # Images shown later: the pixel loads. Every load is an open event, as before; the
    # message counts as opened once, and the workflow that waited does not run again.
    (pixel,) = re.findall(r'<img src="([^"]*)"', body)
    with server.anonymous() as http:
        assert http.get(pixel).status_code == 200
    assert tracking_events(reader, contact_id, "email_opened") == [
        {**expected, "via": "click"},
        expected,
    ]
    assert letter_stats(server)["opened"] == 1
    thanks = "SELECT count(*) FROM messages WHERE recipient = :e AND subject = :s"
    assert reader.value(thanks, e=email, s="You read the letter") == 1


def test_a_click_after_the_pixel_records_no_second_open_and_starts_open_workflows(
    server: Server, reader: Reader
) -> None:
    email = "pixel-first@example.com"
    send_event(server, "trk_promo", email, sku="TEA-2")
    sale = message(reader, email, "Spring sale")
    contact_id = sale["contact_id"]
    sale_link = hrefs(sale["html"])[0]
    (pixel,) = re.findall(r'<img src="([^"]*)"', sale["html"])
    expected = {"message_key": sale["key"], "workflow": "trk-promo", "step": "promo"}

    with server.anonymous() as http:
        assert http.get(pixel).status_code == 200
        assert http.get(sale_link).status_code == 302
    assert tracking_events(reader, contact_id, "email_opened") == [expected]

    other = "click-only@example.com"
    send_event(server, "trk_promo", other, sku="TEA-3")
    sale = message(reader, other, "Spring sale")
    with server.anonymous() as http:
        assert http.get(hrefs(sale["html"])[0]).status_code == 302
    # The email_opened entry point of the other workflow reacts to the click's open.
    message(reader, other, "You opened the sale")
    assert len(tracking_events(reader, sale["contact_id"], "email_opened")) == 1


def test_clicks_at_the_same_time_record_one_open(server: Server, reader: Reader) -> None:
    email = "many-clicks@example.com"
    send_event(server, "trk_blocked", email)
    letter = message(reader, email, "Letter")
    link = hrefs(letter["html"])[0]

    clicks = 16
    start = threading.Barrier(clicks)

    def click(_: int) -> int:
        with server.anonymous() as http:
            http.get("/t/c/not-a-token")  # connected: the clicks below leave together
            start.wait(timeout=30)
            return http.get(link).status_code

    with ThreadPoolExecutor(max_workers=clicks) as pool:
        assert list(pool.map(click, range(clicks))) == [302] * clicks

    contact_id = letter["contact_id"]
    assert len(tracking_events(reader, contact_id, "email_clicked")) == clicks
    assert len(tracking_events(reader, contact_id, "email_opened")) == 1
