"""The web UI in headless Chromium (Debian's ``chromium``, driven by Playwright) against
``journeyman serve`` as a process: sign-in, the workflow graph with counts that change while
the page is open, the lifecycle buttons, a contact's timeline, the outbox and a message
preview that records no open, the conversion report, and names shown as text, never run."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from .api_support import Server, wait_for
from .web_support import browser

PREFIX = "ui"
KEY = "ui-orders"
# if the order is big: an email with a link, then a conversion; else onto a list.
ORDERS = {
    "key": KEY,
    "name": "UI orders",
    "entry_points": [{"event": "ui_ordered"}],
    "reentry": "every_time",
    "allow_parallel_runs": True,
    "steps": [
        {
            "id": "big",
            "if": {"trigger": {"property": "amount", "gte": 100}},
            "then": "thanks",
            "else": "small",
        },
        {
            "id": "thanks",
            "send_email": {
                "from": "Shop <shop@example.com>",
                "subject": "Thanks for order {{ event.properties.order }}",
                "html": '<p>Order {{ event.properties.order }}: <a href="https://shop.example.com/'
                'o">see it</a></p>',
            },
            "next": "convert",
        },
        {
            "id": "convert",
            "record_conversion": {
                "name": "ui_order",
                "value": {"from_event": "amount"},
                "currency": "EUR",
            },
        },
        {"id": "small", "add_to_list": {"lists": ["UI small orders"]}},
    ],
}


__all__ = ["browser"]  # the shared Chromium, a fixture of this module


@pytest.fixture(scope="module")
def orders(public_api_server: Server) -> Server:
    with public_api_server.client() as http:
        applied = http.post("/api/v1/workflows", json=ORDERS)
        assert applied.status_code == 200, applied.text
    return public_api_server


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    found = context.new_page()
    found.set_default_timeout(20_000)
    failures: list[str] = []
    found.on("pageerror", lambda error: failures.append(str(error)))
    yield found
    context.close()
    assert not failures, failures  # an uncaught script error fails the test


def signed_in(page: Page, server: Server, where: str = "") -> Page:
    page.goto(f"{server.url}/")
    page.fill("#key", server.key)
    page.click("#sign-in button[type=submit]")
    expect(page.locator("#view h1")).to_have_text("Workflows")
    if where:
        page.goto(f"{server.url}/ui/#{where}")
    return page


def order(http: httpx.Client, who: str, number: str, amount: float) -> None:
    answer = http.post(
        "/v3/events",
        json={
            "event_name": "ui_ordered",
            "identifiers": {"email_id": f"{PREFIX}-{who}@example.com"},
            "event_properties": {"order": number, "amount": amount},
        },
    )
    assert answer.status_code == 204, answer.text


def stats(http: httpx.Client) -> dict[str, Any]:
    found: dict[str, Any] = http.get(f"/api/v1/workflows/{KEY}/stats").json()
    return {s["id"]: s for s in found["steps"]}


def ended(http: httpx.Client, address: str) -> bool | None:
    """Has the contact's newest run completed? (None: not yet, for ``wait_for``.)"""
    runs = http.get(f"/api/v1/contacts/{address}/runs").json().get("runs")
    return (bool(runs) and runs[0]["status"] == "completed") or None


def test_a_wrong_key_is_refused_and_a_real_one_opens_the_workflows(
    page: Page, orders: Server
) -> None:
    page.goto(f"{orders.url}/")
    assert page.url == f"{orders.url}/ui/"
    page.fill("#key", "not-a-key")
    page.click("#sign-in button[type=submit]")
    expect(page.locator("#sign-in-error")).to_contain_text("refused the key")
    expect(page.locator("#nav")).to_be_hidden()

    signed_in(page, orders)
    row = page.locator("#view tr", has_text="UI orders")
    expect(row).to_contain_text(KEY)
    expect(row).to_contain_text("active")
    # The key lives in this tab only: a new tab of another context must sign in again.
    other = page.context.browser.new_page()  # type: ignore[union-attr]
    other.goto(f"{orders.url}/ui/")
    expect(other.locator("#sign-in")).to_be_visible()
    other.close()


def test_the_graph_shows_every_step_and_its_counts_change_while_the_page_is_open(
    page: Page, orders: Server
) -> None:
    with orders.client() as http:
        order(http, "graph-a", "G1", 150)
        wait_for(lambda: stats(http)["big"]["entered"] >= 1 or None, what="the first order")
        signed_in(page, orders, f"/workflows/{KEY}")
        expect(page.locator("#view h1")).to_contain_text("UI orders")
        for step in ("big", "thanks", "convert", "small", "end"):
            expect(page.locator(f'g.node[data-step="{step}"]')).to_have_count(1)
        assert page.locator("path.edge").count() == 5  # then, else, next x2, small -> end
        entered = stats(http)["big"]["entered"]
        big = page.locator('g.node[data-step="big"] text.counts')
        expect(big).to_have_text(f"entered {entered} · waiting 0")

        order(http, "graph-b", "G2", 20)  # small: the else way
        wait_for(lambda: stats(http)["small"]["entered"] >= 1 or None, what="the small order")
        now = stats(http)
        # No reload: the page polls the statistics.
        expect(big).to_have_text(f"entered {now['big']['entered']} · waiting 0")
        else_label = page.locator('text.edge-label[data-source="big"][data-branch="else"]')
        expect(else_label).to_have_text(f"else {now['big']['branches']['else']}")
        sent = wait_for(
            lambda: stats(http)["thanks"]["messages"]["sent"] or None, what="the email sent"
        )
        thanks = page.locator('g.node[data-step="thanks"]')
        expect(thanks).to_contain_text(f"sent {sent} · opened 0 · clicked 0")
        runs = page.locator("#view table").first
        expect(runs).to_contain_text(f"{PREFIX}-graph-b@example.com")


def test_pause_and_activate_change_the_workflow_on_the_server(page: Page, orders: Server) -> None:
    signed_in(page, orders, f"/workflows/{KEY}")
    page.click('button[data-verb="pause"]')
    expect(page.locator("#view h1 .status")).to_have_text("paused")
    with orders.client() as http:
        assert http.get(f"/api/v1/workflows/{KEY}").json()["status"] == "paused"
        page.click('button[data-verb="activate"]')
        expect(page.locator("#view h1 .status")).to_have_text("active")
        assert http.get(f"/api/v1/workflows/{KEY}").json()["status"] == "active"


def test_a_contacts_timeline_gives_the_reason_of_every_decision(page: Page, orders: Server) -> None:
    address = f"{PREFIX}-timeline@example.com"
    with orders.client() as http:
        order(http, "timeline", "T1", 20)

        wait_for(lambda: ended(http, address), what="the run to end")
    signed_in(page, orders, "/contacts")
    page.fill("input[name=identifier]", address)
    page.click("form.search button")
    expect(page.locator("#view h2").first).to_have_text(address)
    expect(page.locator("#view .meta").first).to_contain_text("lists: UI small orders")
    timeline = page.locator("#view table").last
    expect(timeline).to_contain_text("entered on event ui_ordered")
    big = timeline.locator("tr", has_text="big (if)")
    expect(big).to_contain_text("else")
    expect(big.locator(".reason")).to_contain_text("amount")
    expect(timeline.locator("tr", has_text="small (add_to_list)")).to_contain_text(
        "UI small orders"
    )


def test_the_outbox_shows_a_message_and_its_preview_records_no_open_or_click(
    page: Page, orders: Server
) -> None:
    address = f"{PREFIX}-preview@example.com"
    with orders.client() as http:
        order(http, "preview", "P7", 500)

        def sent() -> dict[str, Any] | None:
            found = http.get("/api/v1/messages", params={"email": address}).json()["messages"]
            return found[0] if found and found[0]["status"] == "sent" else None

        message = wait_for(sent, what="the email")
        signed_in(page, orders, f"/messages?email={address}")
        row = page.locator("#view tbody tr")
        expect(row).to_have_count(1)
        expect(row).to_contain_text("Thanks for order P7")
        page.select_option("select[name=channel]", "sms")
        page.click("form.search button")
        expect(page.locator("#view")).to_contain_text("No message yet.")
        page.select_option("select[name=channel]", "email")
        page.click("form.search button")
        expect(row).to_have_count(1)
        row.locator("a").first.click()
        expect(page.locator("#view h1")).to_have_text("Thanks for order P7")
        preview = page.frame_locator("iframe.preview")
        expect(preview.locator("p").first).to_contain_text("Order P7")
        # The sent HTML holds the open pixel and a tracked link; neither may fire here.
        html = http.get(f"/api/v1/messages/{message['id']}").json()["html"]
        assert "/t/o/" in html and "/t/c/" in html
        preview.locator("a", has_text="see it").click()
        page.wait_for_timeout(1000)  # time for a pixel or a navigation to reach the server
        expect(page.locator("#view")).to_contain_text("Not opened or clicked yet.")
        assert http.get(f"/api/v1/messages/{message['id']}").json()["tracking"] == []
        assert stats(http)["thanks"]["opened"] == 0 and stats(http)["thanks"]["clicked"] == 0


def test_the_report_shows_conversions_and_revenue(page: Page, orders: Server) -> None:
    with orders.client() as http:
        order(http, "report", "R1", 250)
        wait_for(lambda: ended(http, f"{PREFIX}-report@example.com"), what="the order's run")

        def settled() -> bool | None:  # the other tests' orders are done too
            return http.get(f"/api/v1/workflows/{KEY}").json()["runs"]["inside"] == 0 or None

        wait_for(settled, what="every run of the workflow to end")
        report = http.get("/api/v1/reports/conversions").json()
    mine = next(w for w in report["workflows"] if w["workflow"] == KEY)
    signed_in(page, orders, "/reports")
    expect(page.locator("#view h1")).to_have_text("Conversions and revenue")
    row = page.locator("#view table").nth(1).locator("tr", has_text=KEY)
    expect(row).to_contain_text(f"{mine['revenue']:.2f} EUR")
    expect(row).to_contain_text(str(mine["conversions"]))


def test_names_and_subjects_are_shown_as_text_never_run(page: Page, orders: Server) -> None:
    hostile = '<img src=x onerror="window.pwned=1">'
    document = {
        "key": "ui-hostile",
        "name": f"Hostile {hostile}",
        "entry_points": [{"event": "ui_hostile"}],
        "steps": [{"id": "wait", "name": "<script>window.pwned=2</script>", "delay": {"days": 1}}],
    }
    with orders.client() as http:
        assert http.post("/api/v1/workflows", json=document).status_code == 200
    signed_in(page, orders)
    expect(page.locator("#view")).to_contain_text(f"Hostile {hostile}")
    page.goto(f"{orders.url}/ui/#/workflows/ui-hostile")
    expect(page.locator('g.node[data-step="wait"] text.title')).to_have_text(
        "<script>window.pwned=2</script>"
    )
    assert page.evaluate("window.pwned") is None
    assert page.locator("#view img, #view script").count() == 0


def test_every_ui_file_carries_the_policy_and_needs_no_key(orders: Server) -> None:
    with orders.anonymous() as anonymous:
        for path in ("/ui/", "/ui/app.js", "/ui/style.css"):
            answer = anonymous.get(path)
            assert answer.status_code == 200, path
            policy = answer.headers["content-security-policy"]
            assert "script-src 'self'" in policy and "img-src data:" in policy, path
            assert answer.headers["x-content-type-options"] == "nosniff"
        script = anonymous.get("/ui/app.js").text
        assert "innerHTML" not in script.replace("never innerHTML", "")
        assert anonymous.get("/ui/missing.js").status_code == 404


def test_a_dry_run_from_the_workflow_page_shows_the_path_and_sends_nothing(
    page: Page, orders: Server
) -> None:
    address = f"{PREFIX}-dry-run@example.com"
    signed_in(page, orders, f"/workflows/{KEY}")
    expect(page.locator("#view table", has_text="Version")).to_contain_text("current")
    page.fill("input[name=sim-email]", address)
    page.fill("textarea[name=sim-properties]", '{"amount": 120, "order": "D1"}')
    page.click(".simulator button[type=submit]")
    result = page.locator(".simulation")
    expect(result).to_contain_text(f"new contact {address}, event ui_ordered")
    assert "null" not in result.inner_text()
    steps = result.locator("table").first
    expect(steps.locator("tr", has_text="big")).to_contain_text("then")
    expect(steps.locator("tr", has_text="convert")).to_contain_text("record_conversion")
    expect(result.locator("table").nth(1)).to_contain_text("Thanks for order D1")
    expect(result.locator(".sim-end")).to_contain_text("ended after +0m: completed")
    with orders.client() as http:
        assert http.get("/api/v1/messages", params={"email": address}).json()["count"] == 0
        assert http.get(f"/api/v1/contacts/{address}/runs").status_code == 404

    # A second, small order two days later: its own run takes the else way.
    page.fill(
        "textarea[name=sim-later]",
        '[{"after_minutes": 2880, "event_name": "ui_ordered", "event_properties": {"amount": 5}}]',
    )
    page.click(".simulator button[type=submit]")
    expect(steps.locator("tr", has_text="small")).to_contain_text("+2d")
    expect(result.locator(".sim-end")).to_contain_text("ended after +2d: completed, completed")

    page.fill("textarea[name=sim-properties]", "{not json")
    page.click(".simulator button[type=submit]")
    expect(result.locator(".error")).to_have_text("Event properties is not JSON")


def test_versions_show_their_diff_and_roll_back_from_the_page(page: Page, orders: Server) -> None:
    key = "ui-versions"
    document = {
        "key": key,
        "name": "UI versions",
        "entry_points": [{"event": "ui_versioned"}],
        "steps": [{"id": "wait", "delay": {"days": 1}}],
    }
    with orders.client() as http:
        assert http.post("/api/v1/workflows", json=document).status_code == 200
        document["steps"] = [{"id": "wait", "delay": {"days": 2}}]
        assert http.post("/api/v1/workflows", json=document).status_code == 200
    signed_in(page, orders, f"/workflows/{key}")
    expect(page.locator("#view .meta").first).to_contain_text("version 2 of 2")
    page.click('button[data-version-diff="1"]')
    output = page.locator("pre.version-output")
    expect(output).to_contain_text("-      days: 1")
    expect(output).to_contain_text("+      days: 2")
    page.click('button[data-version-show="1"]')
    expect(output).to_contain_text('"days": 1')
    page.once("dialog", lambda dialog: dialog.accept())
    page.click('button[data-version-rollback="1"]')
    expect(page.locator("#view .meta").first).to_contain_text("version 3 of 3")
    with orders.client() as http:
        current = http.get(f"/api/v1/workflows/{key}").json()["document"]
    assert current["steps"][0]["delay"]["days"] == 1
