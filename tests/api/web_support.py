"""What the browser tests share: Debian's Chromium through Playwright, and pages on which a
script error or a Content-Security-Policy violation fails the test."""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if CHROMIUM is None:
        pytest.fail("Chromium is not installed: `make test` installs it (apt-get install chromium)")
    with sync_playwright() as playwright:
        found = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        yield found
        found.close()


def watched(browser: Browser, locale: str = "en-US") -> Iterator[Page]:
    """A page at 1280x900 in ``locale``; a script error or a CSP violation fails the test."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale=locale)
    found = context.new_page()
    found.set_default_timeout(20_000)
    failures: list[str] = []
    found.on("pageerror", lambda error: failures.append(str(error)))
    found.on(
        "console",
        lambda message: (
            failures.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    yield found
    context.close()
    assert not failures, failures
