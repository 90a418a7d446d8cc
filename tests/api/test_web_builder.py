"""The workflow builder (``/ui/builder/``) in headless Chromium against ``journeyman serve``
as a process: the source document's example built from an empty workspace by clicks only,
published, run by purchases sent to ``/v3/events`` and read (counts and shares on the graph,
a contact opened from a step, the top lead scores, all in German too); every shipped example
opened and saved back equal through the draft route; deleting a condition says which steps
go."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from playwright.sync_api import Browser, Page, expect

import journeyman
from journeyman import App
from journeyman.config import Settings
from journeyman.documents import load_document

from .api_support import Server, served, wait_for
from .web_support import browser, watched

__all__ = ["browser"]  # the shared Chromium, a fixture of this module

EXAMPLES = Path(journeyman.__file__).parent / "examples"
KEY = "first-purchase-coupon"


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """An empty workspace: no workflow, no list, no contact."""
    directory = tmp_path_factory.mktemp("builder")
    with served(directory, f"sqlite:///{directory / 'journeyman.db'}") as server:
        yield server


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    yield from watched(browser)


def signed_in(page: Page, server: Server) -> Page:
    page.goto(f"{server.url}/ui/")
    page.fill("#key", server.key)
    page.click("#sign-in button[type=submit]")
    expect(page.locator("#view h1")).to_have_text("Workflows")
    return page


def box(page: Page, step: str) -> Any:
    return page.locator(f'.step-node[data-step="{step}"]')


def purchase(http: httpx.Client, who: str) -> None:
    answer = http.post(
        "/v3/events",
        json={"event_name": "purchase", "identifiers": {"email_id": f"{who}@example.com"}},
    )
    assert answer.status_code == 204, answer.text


def branches(http: httpx.Client, step: str) -> dict[str, int]:
    found = http.get(f"/api/v1/workflows/{KEY}/stats").json()
    counts: dict[str, int] = next(s for s in found["steps"] if s["id"] == step)["branches"]
    return counts


def build_the_example(page: Page) -> None:
    """purchase → "first purchase?" → a coupon email / add to "Loyal customers", by clicks."""
    page.click('[data-action="new-workflow"]')
    page.fill('input[name="name"]', "Coupon after the first purchase")
    expect(page.locator('input[name="key"]')).to_have_value("coupon-after-the-first-purchase")
    page.fill('input[name="key"]', KEY)
    page.select_option('select[name="reentry"]', "every_time")
    page.fill('input[name="entry_points.0.event"]', "purchase")

    page.click('[data-add-after="entry"]')
    expect(page.locator('[data-group="conditions"] [data-step-kind="if"]')).to_be_visible()
    page.click('[data-step-kind="if"]')
    page.fill('input[name="id"]', "is_first_purchase")
    page.click('[data-rule-kind="event_count"]')
    page.fill('input[name="if.event_count.event"]', "purchase")
    page.fill('input[name="if.event_count.equals"]', "1")
    expect(box(page, "is_first_purchase")).to_contain_text("purchase count = 1")
    page.click('[data-action="done"]')

    page.click('[data-add-after="is_first_purchase"][data-branch="then"]')
    page.click('[data-group="send"] [data-step-kind="send_email"]')
    page.fill('input[name="id"]', "send_coupon")
    subject = page.locator(
        '[data-problem-step="send_coupon"][data-problem-field="send_email.subject"]'
    )
    expect(subject).to_be_visible()  # validation as you go: the subject is missing
    page.fill('input[name="send_email.subject"]', "Thank you, ")
    page.click('[data-variable="FIRSTNAME"]')
    page.fill('input[name="send_email.from"]', "Shop <shop@example.com>")
    page.fill('textarea[name="send_email.html"]', "<p>Your coupon: THANKS-10</p>")
    expect(box(page, "send_coupon")).to_contain_text("Thank you, {{ contact.FIRSTNAME }}")
    expect(subject).to_have_count(0)
    page.fill('input[name="preview.contact"]', "ada@example.com")
    expect(page.locator('[data-preview="subject"]')).to_have_text("Thank you, Ada")
    frame = page.locator('iframe[data-preview="html"]')
    expect(frame).to_have_attribute("sandbox", "")
    expect(page.frame_locator('iframe[data-preview="html"]').locator("p")).to_have_text(
        "Your coupon: THANKS-10"
    )
    page.click('[data-action="done"]')

    page.click('[data-add-after="is_first_purchase"][data-branch="else"]')
    page.click('[data-group="lists"] [data-step-kind="add_to_list"]')
    page.fill('input[name="id"]', "add_to_loyal")
    problem = page.locator(
        '[data-problem-step="add_to_loyal"][data-problem-field="add_to_list.lists"]'
    )
    expect(problem).to_be_visible()
    page.fill('[data-new-list="add_to_list.lists"]', "Loyal customers")
    page.click('[data-action="create-list"]')
    expect(page.locator('select[name="add_to_list.lists"] option:checked')).to_have_text(
        "Loyal customers"
    )
    expect(problem).to_have_count(0)
    page.click('[data-action="done"]')
    expect(box(page, "add_to_loyal")).to_contain_text("Loyal customers")
    expect(page.locator("[data-no-problems]")).to_be_visible()


def test_the_source_documents_example_is_built_by_clicks_published_and_runs(
    page: Page, workspace: Server
) -> None:
    with workspace.client() as http:
        created = http.post(
            "/v3/contacts", json={"email": "ada@example.com", "attributes": {"FIRSTNAME": "Ada"}}
        )
        assert created.status_code == 201, created.text
        signed_in(page, workspace)
        build_the_example(page)

        page.click('[data-action="show-yaml"]')
        expect(page.locator('[data-view="yaml"]')).to_contain_text("equals: 1")
        page.click('[data-action="show-graph"]')
        page.click('[data-action="save-draft"]')
        expect(page.locator("[data-status]")).to_have_text("Draft saved")
        draft = http.get(f"/api/v1/drafts/{KEY}").json()
        assert draft["valid"] is True
        steps = {s["id"]: s for s in draft["document"]["steps"]}
        assert steps["is_first_purchase"] == {
            "id": "is_first_purchase",
            "if": {"event_count": {"event": "purchase", "equals": 1}},
            "then": "send_coupon",
            "else": "add_to_loyal",
        }
        assert steps["add_to_loyal"]["add_to_list"] == {"lists": ["Loyal customers"]}

        page.click('[data-action="publish"]')
        expect(page.locator("[data-diff]")).to_contain_text("new workflow")
        page.click('[data-action="confirm-publish"]')
        expect(page.locator("[data-status]")).to_have_text("Published version 1")
        assert http.get(f"/api/v1/drafts/{KEY}").status_code == 404

        purchase(http, "ada")  # first purchase: the coupon
        purchase(http, "bob")  # first purchase: the coupon
        purchase(http, "bob")  # second: onto the list
        wait_for(
            lambda: branches(http, "is_first_purchase") == {"then": 2, "else": 1} or None,
            what="three runs through the condition",
        )
        # The workflow read: the boxes in words, counts and shares on the ways out.
        page.click('[data-action="open-workflow"]')
        then = page.locator('.edge-count[data-source="is_first_purchase"][data-branch="then"]')
        expect(then).to_have_attribute("data-count", "2")
        expect(then).to_have_text("yes · 2 (67 %)")
        other = page.locator('.edge-count[data-source="is_first_purchase"][data-branch="else"]')
        expect(other).to_have_text("no · 1 (33 %)")
        expect(page.locator('.read-node[data-step="add_to_loyal"]')).to_contain_text(
            "Loyal customers"
        )

        # A contact opened from a step, and its timeline.
        page.locator('.read-node[data-step="send_coupon"]').click()
        panel = page.locator('[data-step-contacts="send_coupon"]')
        panel.locator('[data-state="passed"]').click()
        panel.locator('[data-contact-link="bob@example.com"]').click()
        expect(page.locator("[data-contact-email]")).to_have_text("bob@example.com")
        expect(page.locator("[data-timeline]")).to_contain_text("send_coupon")
        expect(page.locator("[data-timeline]")).to_contain_text("add_to_loyal")

        # The contacts who engage most: the lead score, as the shop keeps it, sorted.
        scored = http.post("/v3/contacts/attributes/normal/LEAD_SCORE", json={"type": "float"})
        assert scored.status_code == 201, scored.text
        for who, score in (("ada", 12), ("bob", 40), ("cyd", 7)):
            answer = http.post(
                "/v3/contacts",
                json={
                    "email": f"{who}@example.com",
                    "attributes": {"LEAD_SCORE": score},
                    "updateEnabled": True,
                },
            )
            assert answer.status_code in (201, 204), answer.text
        page.click('[data-nav="contacts"]')
        page.click('[data-action="top-leads"]')
        rows = page.locator("[data-contacts] tbody tr")
        expect(rows).to_have_count(3)
        expect(rows.first).to_have_attribute("data-contact", "bob@example.com")
        expect(rows.last).to_have_attribute("data-contact", "cyd@example.com")

        # The same workspace in German.
        page.select_option('select[name="language"]', "de")
        page.click('[data-nav="workflows"]')
        page.locator(f'[data-workflow-row="{KEY}"] [data-action="read-workflow"]').click()
        expect(then).to_have_text("ja · 2 (67 %)")
        expect(other).to_have_text("nein · 1 (33 %)")
        expect(page.locator('.read-node[data-step="is_first_purchase"]')).to_contain_text(
            "purchase Anzahl = 1"
        )
        page.click('[data-action="edit-workflow"]')
        expect(box(page, "send_coupon")).to_contain_text("Thank you")
        page.select_option('select[name="language"]', "en")


def applied_examples(server: Server) -> list[str]:
    """Every shipped example applied as ``journeyman workflow apply`` does (its template
    files inlined), with what each needs first: attributes and users."""
    with server.client() as http:
        defined = {a["name"] for a in http.get("/v3/contacts/attributes").json()["attributes"]}
        for name, kind in (("LEAD_SCORE", "float"), ("LAST_ORDER", "text"), ("BIRTHDAY", "date")):
            if name in defined:  # the first test defines the lead score
                continue
            answer = http.post(f"/v3/contacts/attributes/normal/{name}", json={"type": kind})
            assert answer.status_code == 201, answer.text
        app = App.open(Settings(database_url=server.db_url))
        try:
            app.create_user("Alice", "alice@example.com")
            app.create_user("Bob", "bob@example.com")
        finally:
            app.close()
        files = sorted(EXAMPLES.glob("*.yaml"), key=lambda f: f.stem == "every-action")
        keys = []
        for file in files:
            applied = http.post("/api/v1/workflows", json=load_document(file))
            assert applied.status_code == 200, applied.text
            keys.append(applied.json()["key"])
    return keys


@pytest.fixture(scope="module")
def examples_applied(workspace: Server) -> tuple[Server, list[str]]:
    """The same server after the first test (which needs it empty): the examples on top."""
    return workspace, applied_examples(workspace)


def test_every_shipped_example_opens_in_the_builder_and_saves_back_equal(
    page: Page, examples_applied: tuple[Server, list[str]]
) -> None:
    server, keys = examples_applied
    assert len(keys) >= 4
    with server.client() as http:
        signed_in(page, server)
        for key in keys:
            document = http.get(f"/api/v1/workflows/{key}").json()["document"]
            page.goto(f"{server.url}/ui/builder/#/edit/{key}")
            for step in document["steps"]:
                expect(box(page, step["id"])).to_have_count(1)
            page.click('[data-action="save-draft"]')
            expect(page.locator("[data-status]")).to_have_text("Draft saved")
            assert http.get(f"/api/v1/drafts/{key}").json()["document"] == document, key
            assert http.delete(f"/api/v1/drafts/{key}").status_code in (200, 204)


def test_deleting_a_condition_says_which_steps_go_with_it(
    page: Page, examples_applied: tuple[Server, list[str]]
) -> None:
    server, _ = examples_applied
    signed_in(page, server)
    page.goto(f"{server.url}/ui/builder/#/edit/{KEY}")
    box(page, "is_first_purchase").click()
    page.click('[data-action="delete-step"]')
    expect(page.locator("[data-deleted-too]")).to_contain_text("add_to_loyal")
    page.check('[data-keep-branch="else"]')
    expect(page.locator("[data-deleted-too]")).to_contain_text("send_coupon")
    page.click('[data-action="confirm-delete"]')
    expect(box(page, "is_first_purchase")).to_have_count(0)
    expect(box(page, "send_coupon")).to_have_count(0)
    expect(box(page, "add_to_loyal")).to_have_count(1)

    # A step with one way out moves to another "+": what came to it goes on to what followed.
    page.goto(f"{server.url}/ui/builder/#/edit/every-action")
    box(page, "score").click()
    page.click('[data-action="move-step"]')
    page.click('[data-add-after="confirm"]')
    page.click('[data-action="show-yaml"]')
    text = page.locator('[data-view="yaml"]').inner_text()
    moved = {s["id"]: s for s in yaml.safe_load(text)["steps"]}
    assert moved["confirm"]["next"] == "score"
    assert moved["score"]["next"] == "text_them"
    assert moved["off_prospects"]["next"] == "last_order"


def test_the_builder_carries_the_policy_and_builds_no_html_from_data(workspace: Server) -> None:
    with workspace.anonymous() as anonymous:
        page = anonymous.get("/ui/builder/")
        assert page.status_code == 200
        scripts = [part.split('"')[0] for part in page.text.split('src="')[1:]]
        assert scripts and all(s.startswith("/ui/builder/assets/") for s in scripts)
        for path in ("/ui/builder/", *scripts):
            policy = anonymous.get(path).headers["content-security-policy"]
            assert "script-src 'self'" in policy and "img-src data:" in policy, path
    sources = Path(__file__).parents[2] / "ui" / "src"
    for source in sources.glob("*.tsx"):
        text = source.read_text()
        assert "dangerouslySetInnerHTML" not in text and "innerHTML" not in text, source
        # An email shown: in a frame sandboxed without scripts (its pixel never loads).
        frames = re.findall(r"<iframe\b([^<]*?)\bsrcDoc=", text)
        assert len(frames) == text.count("srcDoc="), source
        assert all('sandbox=""' in attributes for attributes in frames), source
