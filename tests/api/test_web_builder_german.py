"""The builder in German and moving steps, in headless Chromium against ``journeyman serve``:
a step's form generated from the schema shows German labels, help, choices, rule names and
validation problems; a condition with its branches moves up, says which steps move with it,
and is published as moved (go_to targets still name their step)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, Route, expect

from .api_support import Server, served
from .test_web_builder import box, signed_in
from .web_support import browser, watched

__all__ = ["browser"]  # the shared Chromium, a fixture of this module

MOVABLE: dict[str, Any] = {
    "key": "move-me",
    "name": "Move me",
    "entry_points": [{"event": "purchase"}],
    "reentry": "every_time",
    "steps": [
        {"id": "wait", "delay": {"days": 1}, "next": "is_first"},
        {
            "id": "is_first",
            "if": {"event_count": {"event": "purchase", "equals": 1}},
            "then": "coupon",
            "else": "loyal",
        },
        {"id": "coupon", "send_email": {"subject": "Thanks", "html": "<p>Thanks</p>"}},
        {"id": "loyal", "add_to_list": {"lists": ["Loyal"]}, "next": "again"},
        {"id": "again", "go_to": "is_first"},
    ],
}


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    directory = tmp_path_factory.mktemp("builder-german")
    with served(directory, f"sqlite:///{directory / 'journeyman.db'}") as server:
        with server.client() as http:
            applied = http.post("/api/v1/workflows", json=MOVABLE)
            assert applied.status_code == 200, applied.text
        yield server


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    yield from watched(browser)


@pytest.fixture
def german_page(browser: Browser) -> Iterator[Page]:
    yield from watched(browser, "de-DE")


def label(page: Page, path: str) -> Any:
    return page.locator(f'[data-field="{path}"] > .label')


def test_a_step_is_built_in_german(german_page: Page, workspace: Server) -> None:
    page = signed_in(german_page, workspace)
    page.goto(f"{workspace.url}/ui/builder/#/new")
    expect(page.locator('select[name="language"]')).to_have_value("de")
    page.fill('input[name="name"]', "Erster Kauf")
    page.fill('input[name="entry_points.0.event"]', "purchase")
    expect(page.locator('select[name="reentry"] option[value="every_time"]')).to_have_text(
        "jedes Mal"
    )
    list_added = page.locator('select[data-entry-kind="0"] option[value="list_added"]')
    expect(list_added).to_have_text("Kontakt kommt in eine Liste")

    page.click('[data-add-after="entry"]')
    expect(page.locator('[data-group="conditions"] h3')).to_have_text("Bedingungen")
    expect(page.locator('[data-step-kind="send_email"]')).to_have_text("E-Mail senden")
    page.click('[data-step-kind="if"]')
    expect(page.locator('[data-rule-kind="event_count"]')).to_have_text("Anzahl der Ereignisse")
    page.click('[data-rule-kind="event_count"]')
    expect(label(page, "if.event_count.within_days")).to_have_text("Innerhalb von Tagen")
    help_text = page.locator('[data-field="if.event_count.within_days"] > .help')
    expect(help_text).to_have_text("nur die letzten N Tage vor dem Ende")
    until = page.locator('select[name="if.event_count.until"] option[value="now"]')
    expect(until).to_have_text("bis jetzt")
    # The validator's problem, by its code, in German, on its field and in the list.
    problem = page.locator('[data-problem-step="if"][data-problem-field="if.event_count.event"]')
    expect(problem).to_contain_text("Zu kurz: bitte ausfüllen.")
    page.fill('input[name="if.event_count.event"]', "purchase")
    page.fill('input[name="if.event_count.equals"]', "1")
    expect(problem).to_have_count(0)
    expect(box(page, "if")).to_contain_text("purchase Anzahl = 1")
    page.click('[data-action="done"]')

    page.click('[data-add-after="if"][data-branch="then"]')
    page.click('[data-step-kind="send_email"]')
    expect(label(page, "send_email.subject")).to_have_text("Betreff")
    expect(label(page, "send_email.text")).to_have_text("Nur-Text")
    preview = page.locator('[data-field="send_email.preview_text"] > .help')
    expect(preview).to_contain_text("Vorschauzeile im Posteingang")
    expect(label(page, "send_email.track")).to_have_text("Öffnungen und Klicks verfolgen")
    page.click('[data-action="done"]')

    page.click('[data-add-after="if"][data-branch="else"]')
    page.click('[data-step-kind="delay"]')
    page.fill('input[name="delay.days"]', "3")
    expect(box(page, "delay")).to_contain_text("warte 3 Tage")
    page.click('[data-action="done"]')
    page.click('[data-add-after="delay"]')
    page.click('[data-step-kind="blocklist"]')
    expect(label(page, "blocklist.channels")).to_have_text("Kanäle")
    both = page.locator('select[name="blocklist.channels"] option[value="both"]')
    expect(both).to_have_text("beide")
    expect(box(page, "blocklist")).to_contain_text("Kontakt auf die Blocklist setzen")

    # The document stays the schema's: German is only what the page says.
    page.click('[data-action="show-yaml"]')
    expect(page.locator('[data-view="yaml"]')).to_contain_text("event_count:")


def test_a_condition_moves_up_with_its_branches_and_is_published(
    page: Page, workspace: Server
) -> None:
    signed_in(page, workspace)
    page.goto(f"{workspace.url}/ui/builder/#/edit/move-me")
    box(page, "wait").click()
    expect(page.locator('[data-action="move-up"]')).to_be_disabled()  # the first step
    box(page, "is_first").click()
    page.click('[data-action="move-up"]')
    # The condition keeps its "yes" steps in place: "no" and what follows move with it.
    page.check('[data-keep-branch="then"]')
    expect(page.locator("[data-moves-stay]")).to_contain_text("coupon")
    carried = page.locator("[data-moves-carried]").get_attribute("data-moves-carried") or ""
    assert sorted(carried.split(",")) == ["again", "loyal"]
    page.click('[data-action="confirm-move"]')
    expect(page.locator("[data-status]")).to_have_text("Step moved.")

    # Onto a "+": not below itself (its own branches), only where it leads nowhere back.
    page.click('[data-action="move-step"]')
    page.click('[data-action="confirm-move"]')
    expect(page.locator('[data-add-after="loyal"]')).to_be_disabled()
    expect(page.locator('[data-add-after="coupon"]')).to_be_enabled()
    page.click('[data-action="cancel-move"]')
    expect(page.locator("[data-no-problems]")).to_be_visible()

    page.click('[data-action="publish"]')
    page.click('[data-action="confirm-publish"]')
    expect(page.locator("[data-status]")).to_have_text("Published version 2")
    with workspace.client() as http:
        document = http.get("/api/v1/workflows/move-me").json()["document"]
    moved = {s["id"]: s for s in document["steps"]}
    assert document["steps"][0]["id"] == "is_first"
    assert (moved["is_first"]["then"], moved["is_first"]["else"]) == ("wait", "loyal")
    assert moved["wait"]["next"] == "coupon"
    assert moved["loyal"]["next"] == "again" and moved["again"]["go_to"] == "is_first"

    # Down again, a step with one way out: what came to it goes on to what followed it.
    box(page, "wait").click()
    page.click('[data-action="move-down"]')
    page.click('[data-action="show-yaml"]')
    expect(page.locator('[data-view="yaml"]')).to_contain_text("then: coupon")


def test_a_new_step_kind_appears_in_english_where_no_translation_exists(
    german_page: Page, workspace: Server
) -> None:
    """A kind the server's schema has and no catalogue names: the palette and its form show
    the schema's own English, with no UI code for it."""
    page = signed_in(german_page, workspace)

    def with_postcards(route: Route) -> None:
        schema = route.fetch().json()
        schema["$defs"]["PostcardParams"] = {
            "type": "object",
            "description": "A postcard by mail.",
            "properties": {"address": {"type": "string", "title": "Address"}},
            "required": ["address"],
        }
        schema["$defs"]["SendPostcardStep"] = {
            "type": "object",
            "properties": {
                "id": {"type": "string"},
                "send_postcard": {"$ref": "#/$defs/PostcardParams", "title": "Send a postcard"},
                "next": {"type": "string"},
            },
        }
        schema["$defs"]["Step"]["oneOf"].append({"$ref": "#/$defs/SendPostcardStep"})
        route.fulfill(json=schema)

    page.route("**/api/v1/schema", with_postcards)
    page.goto(f"{workspace.url}/ui/builder/#/new")
    page.click('[data-add-after="entry"]')
    postcard = page.locator('[data-group="other"] [data-step-kind="send_postcard"]')
    expect(postcard).to_have_text("Send a postcard")
    expect(page.locator('[data-group="other"] h3')).to_have_text("Sonstiges")
    postcard.click()
    expect(label(page, "send_postcard.address")).to_have_text("Address")
    expect(page.locator('input[name="send_postcard.address"]')).to_be_visible()
