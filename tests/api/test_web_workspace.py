"""The marketer's workspace beyond the builder (``/ui/builder/#/contacts``, ``#/lists``) in
headless Chromium against ``journeyman serve``: the top lead-score contacts found by clicks, a
contact's attribute edited, a list created, renamed, given and relieved of a member, and the
workspace switched to German (and picked German by the browser's language).

Set ``UI_SCREENSHOTS`` to a directory to keep a screenshot of each page at desktop
(1280×900) and phone (390×844) sizes, for checking by eye."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from .api_support import Server, served
from .test_web_builder import signed_in
from .web_support import browser, watched

__all__ = ["browser"]  # the shared Chromium, a fixture of this module

SIZES = {"desktop": (1280, 900), "phone": (390, 844)}
SCORES = {f"lead{n:02d}@example.com": n * 3 % 70 for n in range(1, 26)}  # 25: two pages


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """Twenty-five contacts with a LEAD_SCORE and a PLAN, and a list "Newsletter"."""
    directory = tmp_path_factory.mktemp("workspace")
    with served(directory, f"sqlite:///{directory / 'journeyman.db'}") as server:
        with server.client() as http:
            seed(http)
        yield server


def seed(http: httpx.Client) -> None:
    for name, kind in (("LEAD_SCORE", "float"), ("PLAN", "text")):
        answer = http.post(f"/v3/contacts/attributes/normal/{name}", json={"type": kind})
        assert answer.status_code == 201, answer.text
    newsletter = http.post("/v3/contacts/lists", json={"name": "Newsletter", "folderId": 1})
    assert newsletter.status_code == 201, newsletter.text
    for email, score in SCORES.items():
        answer = http.post(
            "/v3/contacts",
            json={
                "email": email,
                "attributes": {"LEAD_SCORE": score, "PLAN": "free"},
                "listIds": [newsletter.json()["id"]] if score > 40 else [],
            },
        )
        assert answer.status_code == 201, answer.text


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    yield from watched(browser)


@pytest.fixture
def german_page(browser: Browser) -> Iterator[Page]:
    yield from watched(browser, "de-DE")


def opened(page: Page, server: Server, where: str) -> Page:
    signed_in(page, server)
    page.goto(f"{server.url}/ui/builder/{where}")
    return page


def screenshots(page: Page, name: str) -> None:
    """Each size of the page as it is now, when UI_SCREENSHOTS names a directory."""
    directory = os.environ.get("UI_SCREENSHOTS")
    if not directory:
        return
    for size, (width, height) in SIZES.items():
        page.set_viewport_size({"width": width, "height": height})
        page.wait_for_timeout(300)
        page.screenshot(path=str(Path(directory) / f"{name}-{size}.png"), full_page=True)
    page.set_viewport_size({"width": 1280, "height": 900})


def test_the_top_lead_score_contacts_are_found_by_clicks(page: Page, workspace: Server) -> None:
    opened(page, workspace, "#/new")
    page.click('[data-nav="contacts"]')
    expect(page.locator("[data-count]")).to_have_attribute("data-count", "25")
    page.click('[data-action="top-leads"]')
    top = sorted(SCORES.items(), key=lambda item: -item[1])
    rows = page.locator("[data-contacts] tbody tr")
    expect(rows.first).to_have_attribute("data-contact", top[0][0])
    expect(rows).to_have_count(20)
    values = [int(v) for v in page.locator("[data-sort-value]").all_inner_texts()]
    assert values == sorted(values, reverse=True) and values[0] == top[0][1]
    screenshots(page, "contacts")
    page.click('[data-action="next-page"]')
    expect(rows).to_have_count(5)
    expect(rows.last).to_have_attribute("data-contact", top[-1][0])
    page.click('[data-action="previous-page"]')
    # An attribute filter and a list narrow the search; a search with no match says so.
    page.click('[data-action="add-filter"]')
    page.select_option('select[name="filter.0.attribute"]', "LEAD_SCORE")
    page.select_option('select[name="filter.0.op"]', "gte")
    page.fill('input[name="filter.0.value"]', "60")
    page.click('[data-action="search"]')
    expected = sum(1 for s in SCORES.values() if s >= 60)
    expect(page.locator("[data-count]")).to_have_attribute("data-count", str(expected))
    page.select_option('select[name="list"]', label="Newsletter")
    both = sum(1 for s in SCORES.values() if s >= 60)  # every one above 40 is in the list
    expect(page.locator("[data-count]")).to_have_attribute("data-count", str(both))
    page.fill('input[name="search"]', "nobody-here")
    page.click('[data-action="search"]')
    expect(page.locator("[data-empty]")).to_be_visible()


def test_a_contact_is_opened_and_its_attribute_and_lists_edited(
    page: Page, workspace: Server
) -> None:
    opened(page, workspace, "#/contacts?sort=-LEAD_SCORE")
    page.locator("[data-contacts] tbody tr").first.locator("a").click()
    email = page.locator("[data-contact-email]").inner_text()
    page.fill('input[name="attributes.PLAN"]', "premium")
    page.click('[data-action="save-contact"]')
    expect(page.locator("[data-status]")).to_have_text("Saved")
    page.check('input[name="member"][data-list="Newsletter"]')
    expect(page.locator("[data-status]")).to_have_text("Saved")
    screenshots(page, "contact")
    with workspace.client() as http:
        found = http.get(f"/v3/contacts/{email}").json()
    assert found["attributes"]["PLAN"] == "premium"
    assert found["attributes"]["LEAD_SCORE"] == max(SCORES.values())
    page.reload()
    expect(page.locator('input[name="attributes.PLAN"]')).to_have_value("premium")
    expect(page.locator('input[name="member"][data-list="Newsletter"]')).to_be_checked()
    expect(page.locator('[data-action="all-contacts"]')).to_be_visible()


def test_a_list_is_created_renamed_and_given_and_relieved_of_a_member(
    page: Page, workspace: Server
) -> None:
    signed_in(page, workspace)
    page.click('[data-nav="workspace-lists"]')  # from the classic pages
    expect(page.locator('[data-list="Newsletter"] [data-members]')).to_be_visible()
    page.fill('input[name="new-list"]', "Loyal customers")
    page.click('[data-action="create-list"]')
    expect(page.locator("[data-list-name]")).to_have_text("Loyal customers")
    page.fill('input[name="list-name"]', "Treue Kunden")
    page.click('[data-action="rename-list"]')
    expect(page.locator("[data-list-name]")).to_have_text("Treue Kunden")
    page.fill('textarea[name="add-emails"]', "lead01@example.com, lead02@example.com")
    page.click('[data-action="add-members"]')
    expect(page.locator("[data-member]")).to_have_count(2)
    expect(page.locator("p[data-members]")).to_have_attribute("data-members", "2")
    screenshots(page, "list")
    page.locator('[data-member="lead01@example.com"] [data-action="remove-member"]').click()
    expect(page.locator("[data-member]")).to_have_count(1)
    page.click('[data-action="all-lists"]')
    expect(page.locator('[data-list="Treue Kunden"] [data-members]')).to_have_text("1")
    screenshots(page, "lists")


def test_the_switch_turns_the_workspace_german_and_remembers_it(
    page: Page, workspace: Server
) -> None:
    opened(page, workspace, "#/new")
    expect(page.locator("legend").first).to_have_text("Entry points")
    page.select_option('select[name="language"]', "de")
    expect(page.locator("legend").first).to_have_text("Eintrittspunkte")
    expect(page.locator('[data-action="publish"]')).to_have_text("Veröffentlichen")
    page.locator('[data-add-after="entry"]').first.click()
    expect(page.locator('[data-step-kind="add_to_list"]')).to_have_text("Zu einer Liste hinzufügen")
    expect(page.locator(".palette")).to_contain_text("Bedingungen")
    page.click('[data-action="cancel"]')
    screenshots(page, "builder-de")
    page.click('[data-nav="contacts"]')
    expect(page.locator("main h1")).to_have_text("Kontakte")
    expect(page.locator('[data-action="top-leads"]')).to_contain_text("Lead Score")
    page.reload()  # remembered
    expect(page.locator("main h1")).to_have_text("Kontakte")
    expect(page.locator('[data-nav="lists"]')).to_have_text("Listen")
    screenshots(page, "contacts-de")
    page.select_option('select[name="language"]', "en")
    expect(page.locator("main h1")).to_have_text("Contacts")


def test_a_german_browser_gets_the_german_workspace(german_page: Page, workspace: Server) -> None:
    opened(german_page, workspace, "#/lists")
    expect(german_page.locator("main h1")).to_have_text("Listen")
    expect(german_page.locator("html")).to_have_attribute("lang", "de")


def test_every_language_has_the_english_keys() -> None:
    """The type check enforces it (``de: Catalogue``); this says so where Python tests look."""
    sources = Path(__file__).parents[2] / "ui" / "src" / "i18n"
    index = (sources / "index.ts").read_text()
    for catalogue in sources.glob("*.ts"):
        if catalogue.stem in ("index", "en"):
            continue
        assert f"export const {catalogue.stem}: Catalogue" in catalogue.read_text(), catalogue
        assert f'from "./{catalogue.stem}"' in index, catalogue
