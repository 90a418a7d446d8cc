"""Reading a workflow in the workspace (``/ui/builder/#/workflows``, ``#/workflows/KEY``) in
headless Chromium against ``journeyman serve``: the source document's example applied and run
by purchases sent to ``/v3/events``; its boxes in words, the counts and percentages on the
condition's ways out, a second version and the version picker, the contacts of a step and a
contact's timeline, the lifecycle buttons each status allows, German labels; and polling that
stops when the page is left, also before its first answer.

Set ``UI_SCREENSHOTS`` to a directory to keep screenshots of the page at desktop (1280×900)
and phone (390×844) sizes, for checking by eye."""

from __future__ import annotations

import copy
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, Request, Route, expect

from journeyman.documents import load_document

from .api_support import Server, served, wait_for
from .test_web_builder import EXAMPLES, KEY, applied_examples, branches, purchase, signed_in
from .test_web_workspace import screenshots
from .web_support import browser, watched

__all__ = ["browser"]  # the shared Chromium, a fixture of this module

# Two contacts buy once, two twice: the condition sends 4 runs "then" (first purchases) and
# 2 "else" (second ones) — 67 % and 33 % of the 6 runs that reached it.
BUYERS = {"ada": 1, "bob": 2, "cy": 1, "dan": 2}


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """The source document's example applied, and the purchases of BUYERS run through it."""
    directory = tmp_path_factory.mktemp("reading")
    with served(directory, f"sqlite:///{directory / 'journeyman.db'}") as server:
        with server.client() as http:
            applied = http.post("/api/v1/workflows", json=example())
            assert applied.status_code == 200, applied.text
            for who, times in BUYERS.items():
                for _ in range(times):
                    purchase(http, who)
            wait_for(
                lambda: branches(http, "is_first_purchase") == {"then": 4, "else": 2} or None,
                what="six runs through the condition",
            )
        yield server


def example() -> dict[str, Any]:
    return load_document(EXAMPLES / "first-purchase-coupon.yaml")


def with_a_delay() -> dict[str, Any]:
    """Version 2: wait 3 days before the condition."""
    document = copy.deepcopy(example())
    document["steps"].insert(
        0, {"id": "pause", "delay": {"days": 3}, "next": document["steps"][0]["id"]}
    )
    return document


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    yield from watched(browser)


def edge(page: Page, source: str, branch: str) -> Any:
    return page.locator(f'.edge-count[data-source="{source}"][data-branch="{branch}"]')


def node(page: Page, step: str) -> Any:
    return page.locator(f'.read-node[data-step="{step}"]')


def test_the_workflow_is_read_with_counts_versions_contacts_and_buttons(
    page: Page, workspace: Server
) -> None:
    signed_in(page, workspace)
    page.goto(f"{workspace.url}/ui/builder/")  # the landing page: every workflow
    row = page.locator(f'[data-workflow-row="{KEY}"]')
    expect(row).to_contain_text("Coupon after the first purchase")
    expect(row.locator("[data-inside]")).to_have_attribute("data-inside", "0")
    expect(page.locator('[data-nav="workflows"]')).to_have_attribute("aria-current", "page")
    row.locator('[data-action="read-workflow"]').click()

    # The boxes in words, the trigger first, the counts on the ways out with their shares.
    expect(node(page, "entry")).to_contain_text("event purchase")
    expect(node(page, "entry").locator("[data-entered]")).to_have_attribute("data-entered", "6")
    expect(node(page, "is_first_purchase")).to_contain_text("purchase count = 1")
    expect(node(page, "send_coupon")).to_contain_text("10% off your next order")
    expect(node(page, "add_to_loyal")).to_contain_text("Loyal customers")
    then, other = edge(page, "is_first_purchase", "then"), edge(page, "is_first_purchase", "else")
    expect(then).to_have_text("yes · 4 (67 %)")
    expect(other).to_have_text("no · 2 (33 %)")
    expect(node(page, "end").locator("[data-completed]")).to_have_attribute("data-completed", "6")
    # Email statistics on the email, none on the list step.
    coupon = node(page, "send_coupon")
    for figure in ("sent", "opened", "clicked"):
        expect(coupon.locator(f'[data-figure="{figure}"]')).to_have_count(1)
    expect(node(page, "add_to_loyal").locator("[data-figure]")).to_have_count(0)
    expect(page.locator('[data-rule="reentry"]')).to_contain_text("on every trigger")
    labels_clear_of_boxes(page)
    shots(page, "workflow")

    # A second version: the page follows the current one; the picker shows the first again.
    with workspace.client() as http:
        assert http.post("/api/v1/workflows", json=with_a_delay()).json()["version"] == 2
        purchase(http, "eve")
    pause = node(page, "pause")
    expect(pause).to_contain_text("wait 3 days")
    expect(pause.locator("[data-now]")).to_have_attribute("data-now", "1")  # waits on the delay
    expect(node(page, "is_first_purchase").locator("[data-now]")).to_have_attribute("data-now", "0")
    expect(edge(page, "pause", "next")).to_have_attribute("data-count", "0")
    expect(edge(page, "is_first_purchase", "then")).to_have_attribute("data-count", "0")
    page.select_option('select[name="version"]', "1")
    expect(node(page, "pause")).to_have_count(0)
    expect(edge(page, "is_first_purchase", "then")).to_have_text("yes · 4 (67 %)")

    # A step's contacts: on it now, and those who passed it, each opening its timeline.
    node(page, "send_coupon").click()
    panel = page.locator('[data-step-contacts="send_coupon"]')
    expect(panel.locator('[data-state-count="passed"]')).to_have_text("4")
    expect(panel.locator("[data-no-contacts]")).to_be_visible()  # nobody stands there now
    panel.locator('[data-state="passed"]').click()
    links = panel.locator("[data-contact-link]")
    expect(links).to_have_count(4)
    emails = sorted(links.all_inner_texts())
    assert emails == [f"{who}@example.com" for who in sorted(BUYERS)]
    shots(page, "workflow-contacts")
    panel.locator('[data-contact-link="ada@example.com"]').click()
    expect(page.locator("[data-contact-email]")).to_have_text("ada@example.com")
    expect(page.locator("[data-timeline]")).to_contain_text("send_coupon")
    page.go_back()

    # The buttons each status allows.
    buttons = page.locator(".reading-head button[data-action]")
    expect(buttons).to_have_count(2)
    expect(page.locator('[data-action="pause"]')).to_be_visible()
    expect(page.locator('[data-action="stop"]')).to_be_visible()
    expect(page.locator('[data-action="edit-workflow"]')).to_have_attribute("href", f"#/edit/{KEY}")
    page.click('[data-action="pause"]')
    expect(page.locator("[data-status-of]")).to_have_attribute("data-value", "paused")
    expect(page.locator('[data-action="activate"]')).to_be_visible()
    expect(page.locator('[data-action="pause"]')).to_have_count(0)
    page.click('[data-action="stop"]')
    page.click('[data-action="confirm-stop"]')
    expect(page.locator("[data-status-of]")).to_have_attribute("data-value", "stopped")
    expect(buttons).to_have_count(1)
    page.click('[data-action="activate"]')
    expect(page.locator("[data-status-of]")).to_have_attribute("data-value", "active")

    # In German.
    page.select_option('select[name="language"]', "de")
    expect(node(page, "entry")).to_contain_text("Startet, wenn")
    expect(node(page, "entry")).to_contain_text("Ereignis purchase")
    expect(page.locator('[data-action="pause"]')).to_have_text("Pausieren")
    page.select_option('select[name="version"]', "1")
    expect(edge(page, "is_first_purchase", "then")).to_have_text("ja · 4 (67 %)")
    expect(node(page, "is_first_purchase")).to_contain_text("purchase Anzahl = 1")
    expect(page.locator('[data-rule="reentry"]')).to_contain_text("bei jedem Auslöser")
    shots(page, "workflow-de")
    page.select_option('select[name="language"]', "en")

    # The classic workflow page leads here.
    page.goto(f"{workspace.url}/ui/#/workflows/{KEY}")
    page.click('[data-action="read-in-workspace"]')
    expect(node(page, "is_first_purchase")).to_contain_text("purchase count = 1")


def labels_clear_of_boxes(page: Page) -> None:
    """No count on a way out lies over a box (all read at one moment: polling redraws)."""
    rects = page.evaluate(
        """() => ['.read-node', '.edge-count'].map((css) =>
            [...document.querySelectorAll(css)].map((e) => {
                const r = e.getBoundingClientRect();
                return {text: e.textContent, x: r.x, y: r.y, right: r.right, bottom: r.bottom};
            }))"""
    )
    boxes, labels = rects
    assert boxes and labels
    for label in labels:
        for b in boxes:
            apart = (
                label["right"] <= b["x"] + 1
                or b["right"] <= label["x"] + 1
                or label["bottom"] <= b["y"] + 1
                or b["bottom"] <= label["y"] + 1
            )
            assert apart, (label, b)


def shots(page: Page, name: str) -> None:
    """Both sizes (full page), and the desktop view as it opens (for the README)."""
    screenshots(page, name)
    directory = os.environ.get("UI_SCREENSHOTS")
    if directory:
        page.wait_for_timeout(300)
        page.screenshot(path=str(Path(directory) / f"{name}-view.png"))


def test_polling_stops_when_the_page_is_left_before_its_first_answer(
    page: Page, workspace: Server
) -> None:
    signed_in(page, workspace)
    held: list[Route] = []
    holding = [True]

    def hold(route: Route) -> None:
        if holding[0]:
            held.append(route)
        else:
            route.continue_()

    page.route(f"**/api/v1/workflows/{KEY}", hold)
    asked: list[str] = []

    def seen(request: Request) -> None:
        if f"/api/v1/workflows/{KEY}" in request.url:
            asked.append(request.url)

    page.on("request", seen)
    page.goto(f"{workspace.url}/ui/builder/#/workflows/{KEY}")
    for _ in range(200):  # Playwright hands out routes while the test waits through it
        if held:
            break
        page.wait_for_timeout(100)
    assert held, "the page asked nothing"
    page.evaluate("location.hash = '#/contacts'")
    expect(page.locator('[data-nav="contacts"]')).to_have_attribute("aria-current", "page")
    holding[0] = False
    for route in held:
        route.continue_()
    before = len(asked)
    page.wait_for_timeout(5_000)  # two and a half polling rounds
    assert asked[before:] == [], asked[before:]
    expect(page.locator("[data-count]")).to_be_visible()  # the contacts page, undisturbed


def test_the_workflow_list_says_when_there_is_none(browser: Browser, tmp_path: Path) -> None:
    with served(tmp_path, f"sqlite:///{tmp_path / 'journeyman.db'}") as server:
        for found in watched(browser):
            signed_in(found, server)
            found.goto(f"{server.url}/ui/builder/#/workflows")
            expect(found.locator("[data-empty]")).to_be_visible()
            expect(found.locator('[data-action="new-workflow"]')).to_have_attribute("href", "#/new")


def test_a_workflow_page_counts_the_same_as_the_api(workspace: Server) -> None:
    """The numbers the page shows come from the graph route: check them against the runs."""
    with httpx.Client(base_url=workspace.url, headers={"api-key": workspace.key}) as http:
        graph = http.get(f"/api/v1/workflows/{KEY}/graph", params={"version": 1}).json()
    edges = {(e["source"], e["branch"]): (e["count"], e["waiting"]) for e in graph["edges"]}
    assert edges[("is_first_purchase", "then")] == (4, 0)
    assert edges[("is_first_purchase", "else")] == (2, 0)


def test_each_channel_has_its_statistics_and_the_rules_are_in_words(
    browser: Browser, tmp_path: Path
) -> None:
    """Every shipped example: SMS and WhatsApp are sent (never opened), webhooks are calls
    that may fail, emails are opened and clicked; exit and restart rules read in words."""
    with served(tmp_path, f"sqlite:///{tmp_path / 'journeyman.db'}") as server:
        applied_examples(server)
        for found in watched(browser):
            signed_in(found, server)
            found.goto(f"{server.url}/ui/builder/#/workflows/every-action")
            expect(node(found, "enrich")).to_contain_text("POST")
            figures = {
                step: sorted(
                    node(found, step)
                    .locator("[data-figure]")
                    .evaluate_all("(all) => all.map((f) => f.dataset.figure)")
                )
                for step in ("confirm", "text_them", "whatsapp", "enrich")
            }
            assert figures == {
                "confirm": ["clicked", "opened", "sent"],
                "text_them": ["sent"],
                "whatsapp": ["sent"],
                "enrich": ["calls", "failures"],
            }
            labels_clear_of_boxes(found)
            shots(found, "workflow-every-action")

            found.goto(f"{server.url}/ui/builder/#/workflows/abandoned-cart")
            exits = found.locator('[data-rule="exit_when"]')
            expect(exits).to_contain_text("event order_created (same cart_id)")
            expect(exits).to_contain_text("event cart_deleted (same cart_id)")
            restarts = found.locator('[data-rule="restart_when"]')
            expect(restarts).to_contain_text("event cart_updated (same cart_id)")
            expect(node(found, "wait_for_order")).to_contain_text("wait for order_created")
