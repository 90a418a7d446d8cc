"""The outbox (``/ui/builder/#/messages``) and the reports (``#/reports``) in headless Chromium
against ``journeyman serve``, after a real run of the shipped example: purchases sent to
``/v3/events`` make coupon emails (captured: no provider is configured), a blocklisted buyer's
coupon is suppressed and says why, a second workflow's email tells the workflow choice apart.
Looking at an email in the outbox records no open and no click. The reports follow the date
range: the funnel's numbers and the chart's points.

Set ``UI_SCREENSHOTS`` to a directory to keep a screenshot of each page at desktop
(1280×900) and phone (390×844) sizes, for checking by eye."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from .api_support import Server, cli, served, wait_for
from .test_api_v1_reports import sent_on
from .test_web_builder import signed_in
from .test_web_workspace import screenshots
from .web_support import browser, watched

__all__ = ["browser"]  # the shared Chromium, a fixture of this module

EXAMPLE = Path(__file__).parents[2] / "examples" / "first-purchase-coupon.yaml"
KEY = "first-purchase-coupon"
WELCOME = """\
key: welcome
name: Welcome
entry_points:
  - event: signed_up
steps:
  - id: hello
    send_email:
      from: "Shop <shop@example.com>"
      subject: "Welcome aboard"
      html: '<p>Hello! <a href="https://shop.example.com/offer">See the offer</a></p>'
"""
TODAY = dt.datetime.now(dt.UTC).date()
EARLIER = TODAY - dt.timedelta(days=3)


def event(http: httpx.Client, name: str, email: str, **properties: Any) -> None:
    answer = http.post(
        "/v3/events",
        json={
            "event_name": name,
            "identifiers": {"email_id": email},
            "event_properties": properties,
        },
    )
    assert answer.status_code == 204, answer.text


@pytest.fixture(scope="module")
def outbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """The example run by four buyers (carl twice, blocked blocklisted) and ``welcome`` by
    one; ann opened and clicked her coupon; bob's coupon is dated three days back."""
    directory = tmp_path_factory.mktemp("outbox")
    db_url = f"sqlite:///{directory / 'journeyman.db'}"
    welcome = directory / "welcome.yaml"
    welcome.write_text(WELCOME)
    cli(directory, db_url, "workflow", "apply", str(EXAMPLE))
    cli(directory, db_url, "workflow", "apply", str(welcome))
    with served(directory, db_url, public=True) as server:
        with server.client() as http:
            seed(http, server.db_url)
        yield server


def seed(http: httpx.Client, db_url: str) -> None:
    answer = http.post(
        "/v3/contacts", json={"email": "blocked@example.com", "emailBlacklisted": True}
    )
    assert answer.status_code == 201, answer.text
    for who in ("ann", "bob", "carl", "carl", "blocked"):
        event(http, "purchase", f"{who}@example.com", amount=30)
    event(http, "signed_up", "dora@example.com")

    def done() -> dict[str, dict[str, Any]] | None:
        found = http.get("/api/v1/messages").json()["messages"]
        settled = [m for m in found if m["status"] in ("sent", "suppressed")]
        return {m["recipient"].split("@")[0]: m for m in found} if len(settled) == 5 else None

    messages = wait_for(done, what="five messages sent or suppressed")
    sent_on(db_url, {messages["bob"]["id"]: dt.datetime.combine(EARLIER, dt.time(9), dt.UTC)})
    ann = http.get(f"/api/v1/messages/{messages['ann']['id']}").json()
    for name in ("email_opened", "email_clicked"):
        event(http, name, "ann@example.com", message_key=ann["idempotency_key"])
    wait_for(
        lambda: http.get(f"/api/v1/messages/{ann['id']}").json()["tracking"] or None,
        what="ann's open",
    )


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    yield from watched(browser)


@pytest.fixture
def viewer(browser: Browser) -> Iterator[tuple[Page, list[str]]]:
    """A page like ``watched`` gives, and the CSP reports of images the policy blocked (an
    email's open pixel must be one: the frame inherits the page's ``img-src data:``)."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-US")
    found = context.new_page()
    found.set_default_timeout(20_000)
    failures: list[str] = []
    blocked: list[str] = []

    def console(text: str) -> None:
        if "Content Security Policy" in text:
            (blocked if "Loading the image" in text else failures).append(text)

    found.on("pageerror", lambda error: failures.append(str(error)))
    found.on("console", lambda message: console(message.text))
    yield found, blocked
    context.close()
    assert not failures, failures


def rows(page: Page) -> Any:
    return page.locator("[data-messages] tbody tr")


def test_the_outbox_shows_reasons_captured_messages_and_filters(page: Page, outbox: Server) -> None:
    signed_in(page, outbox)
    page.goto(f"{outbox.url}/ui/builder/#/new")
    page.click('[data-nav="messages"]')
    expect(page.locator("[data-count]")).to_have_attribute("data-count", "5")
    blocked = page.locator('[data-recipient="blocked@example.com"]')
    expect(blocked).to_have_attribute("data-status", "suppressed")
    expect(blocked.locator("[data-reason]")).to_have_text("contact is blocklisted for email")
    ann = page.locator('[data-recipient="ann@example.com"]')
    expect(ann).to_have_attribute("data-status", "captured")
    expect(ann.locator("[data-shown-status]")).to_have_text("captured")
    expect(page.locator("[data-captured-note]")).to_be_visible()
    screenshots(page, "outbox")

    options = page.locator('select[name="workflow"] option')
    expect(options).to_have_count(3)  # any, and the two workflows
    page.select_option('select[name="workflow"]', KEY)
    expect(page.locator("[data-count]")).to_have_attribute("data-count", "4")
    expect(rows(page)).to_have_count(4)
    page.select_option('select[name="workflow"]', "welcome")
    expect(rows(page)).to_have_count(1)
    expect(rows(page).first).to_have_attribute("data-recipient", "dora@example.com")
    assert "workflow=welcome" in page.url
    page.select_option('select[name="status"]', "suppressed")
    empty = page.locator("[data-empty]")
    expect(empty).to_contain_text("No messages match these filters")
    screenshots(page, "outbox-empty")
    page.click('[data-action="reset-filters"]')
    expect(page.locator("[data-count]")).to_have_attribute("data-count", "5")
    expect(page.locator('select[name="workflow"]')).to_have_value("")
    page.fill('input[name="email"]', "Carl@Example.com")
    page.press('input[name="email"]', "Enter")
    expect(rows(page)).to_have_count(1)
    expect(rows(page).first).to_have_attribute("data-recipient", "carl@example.com")
    page.click('[data-nav="messages"]')
    expect(page.locator("[data-count]")).to_have_attribute("data-count", "5")

    page.select_option('select[name="language"]', "de")
    expect(page.locator("main h1")).to_have_text("Postausgang")
    expect(ann.locator("[data-shown-status]")).to_have_text("abgefangen")
    expect(blocked.locator("[data-reason]")).to_have_text(
        "Der Kontakt steht auf der Sperrliste für E-Mails"
    )
    expect(page.locator('[data-nav="reports"]')).to_have_text("Berichte")
    page.select_option('select[name="language"]', "en")


def test_looking_at_an_email_records_no_open_and_no_click(
    viewer: tuple[Page, list[str]], outbox: Server
) -> None:
    page, blocked = viewer
    signed_in(page, outbox)
    page.goto(f"{outbox.url}/ui/builder/#/messages?workflow=welcome")
    rows(page).first.locator('[data-action="open-message"]').click()
    expect(page.locator("[data-subject]")).to_have_text("Welcome aboard")
    frame = page.locator("iframe.email")
    expect(frame).to_have_attribute("sandbox", "")
    assert f"{outbox.url}/t/o/" in (frame.get_attribute("srcdoc") or "")  # the open pixel
    link = page.frame_locator("iframe.email").locator("a", has_text="See the offer")
    expect(link).to_be_visible()
    link.click()
    page.wait_for_timeout(1000)
    expect(page.locator("[data-no-tracking]")).to_be_visible()
    screenshots(page, "message")
    with outbox.client() as http:
        message_id = page.url.rsplit("/", 1)[-1]
        assert http.get(f"/api/v1/messages/{message_id}").json()["tracking"] == []
        hello = next(
            s
            for s in http.get("/api/v1/workflows/welcome/stats").json()["steps"]
            if s["id"] == "hello"
        )
    assert (hello["opened"], hello["clicked"]) == (0, 0)
    assert any("/t/o/" in b for b in blocked), blocked


def points(page: Page, series: str) -> dict[str, int]:
    found = page.locator(f'[data-report="{KEY}"] rect[data-series="{series}"]')
    return {
        str(c.get_attribute("data-date")): int(c.get_attribute("data-value") or 0)
        for c in found.all()
    }


def totals(page: Page) -> dict[str, str]:
    found = page.locator(f'[data-report="{KEY}"] [data-total]')
    return {
        str(t.get_attribute("data-total")): str(t.get_attribute("data-value")) for t in found.all()
    }


def test_the_reports_follow_the_date_range(page: Page, outbox: Server) -> None:
    signed_in(page, outbox)
    page.goto(f"{outbox.url}/ui/builder/#/messages")
    page.click('[data-nav="reports"]')
    report = page.locator(f'[data-report="{KEY}"]')
    expect(report).to_be_visible()
    expect(page.locator('input[name="to"]')).to_have_value(TODAY.isoformat())
    start = (TODAY - dt.timedelta(days=29)).isoformat()
    expect(page.locator('input[name="from"]')).to_have_value(start)
    # Last 30 days: ann's and carl's coupons today, bob's three days ago; ann opened and clicked.
    assert totals(page) == {"sent": "3", "opened": "1", "clicked": "1", "converted": "0"}
    today, earlier = TODAY.isoformat(), EARLIER.isoformat()
    assert points(page, "sent") == {earlier: 1, today: 2}
    assert points(page, "opened") == {earlier: 0, today: 1}
    assert points(page, "clicked") == {earlier: 0, today: 1}
    chart = page.locator(f'[data-report="{KEY}"] [data-chart]')
    expect(chart).to_have_attribute("data-days", "30")  # every day of the range has a place
    expect(page.locator('[data-report="welcome"]')).to_be_visible()
    screenshots(page, "reports")  # the desktop one is docs/images/reports.png

    page.fill('input[name="from"]', today)
    page.click('[data-action="apply-range"]')
    expect(report.locator('[data-total="sent"]')).to_have_attribute("data-value", "2")
    assert points(page, "sent") == {today: 2}
    expect(report.locator("[data-chart]")).to_have_attribute("data-days", "1")
    page.fill('input[name="from"]', (EARLIER - dt.timedelta(days=5)).isoformat())
    page.fill('input[name="to"]', (EARLIER - dt.timedelta(days=1)).isoformat())
    page.click('[data-action="apply-range"]')
    expect(page.locator("[data-empty]")).to_have_text("No workflow sent an email in this period.")
    page.click('[data-action="last-30-days"]')
    expect(report.locator('[data-total="sent"]')).to_have_attribute("data-value", "3")
    page.select_option('select[name="language"]', "de")
    expect(page.locator("main h1")).to_have_text("Berichte")
    expect(report.locator('[data-total="opened"] dt')).to_have_text("Geöffnet")
    expect(report.locator("[data-chart]")).to_have_attribute("data-days", "30")
    screenshots(page, "reports-de")
    page.select_option('select[name="language"]', "en")
