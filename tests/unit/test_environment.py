"""The suite runs without the developer's Journeyman settings (STYLE.md rule 8)."""

from __future__ import annotations

import os

from journeyman.config import Settings


def test_no_journeyman_setting_reaches_the_tests() -> None:
    leaked = sorted(n for n in os.environ if n.startswith("JOURNEYMAN_"))

    assert leaked in ([], ["JOURNEYMAN_REQUIRE_POSTGRES"])  # that one configures the suite
    settings, defaults = Settings.from_env(os.environ), Settings()
    assert (settings.database_url, settings.smtp_url, settings.batch_size) == (
        defaults.database_url,
        None,
        defaults.batch_size,
    )
    assert settings.secret is defaults.secret is None
