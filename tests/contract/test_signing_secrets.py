"""The signing secret (issue 16, point 4): no built-in value. Each database generates its own
on first use, once, whichever process comes first; ``JOURNEYMAN_SECRET`` overrides it; a
rotation keeps the earlier tokens verifying for its grace period and not a moment longer."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from journeyman import links
from journeyman.app import App
from journeyman.clock import FakeClock
from journeyman.config import Secret, Settings
from journeyman.signing import FixedKeys, verified
from journeyman.store import read_transaction
from journeyman.store.schema import signing_secrets

OLD_DEVELOPMENT_SECRET = b"journeyman-development-secret"  # in the source code until now


def unsubscribes(app: App, token: str) -> tuple[int, str] | None:
    return verified(app.keys, lambda keys: links.verify(keys, links.UNSUBSCRIBE, token))


def stored_generations(app: App) -> list[int]:
    with read_transaction(app.engine) as connection:
        rows = connection.execute(sa.select(signing_secrets.c.generation))
        return sorted(r[0] for r in rows)


def test_a_token_signed_with_the_old_development_secret_never_verifies(app: App) -> None:
    forged = links.sign(OLD_DEVELOPMENT_SECRET, links.UNSUBSCRIBE, 1, "1:mail:1")
    genuine = links.sign(app.keys.current(), links.UNSUBSCRIBE, 1, "1:mail:1")

    assert app.keys.current() != OLD_DEVELOPMENT_SECRET
    assert len(app.keys.current()) == 64  # 256 random bits, in hex
    assert unsubscribes(app, forged) is None
    assert unsubscribes(app, genuine) == (1, "1:mail:1")
    with pytest.raises(ValueError, match="public"):
        FixedKeys(OLD_DEVELOPMENT_SECRET)


def test_journeyman_secret_overrides_the_stored_one(app: App) -> None:
    stored = app.keys.current()
    explicit = App(app.engine, clock=app.clock, settings=Settings(secret=Secret("x" * 32)))
    token = links.sign(explicit.keys.current(), links.UNSUBSCRIBE, 7, "7:mail:1")

    assert explicit.keys.current() == b"x" * 32 != stored
    assert unsubscribes(explicit, token) == (7, "7:mail:1")
    assert unsubscribes(app, token) is None


@pytest.mark.parametrize(
    ("value", "complaint"),
    [("journeyman-development-secret", "old development value"), ("short", "at least 16")],
)
def test_a_public_or_short_journeyman_secret_is_refused(value: str, complaint: str) -> None:
    with pytest.raises(ValueError, match=complaint):
        Settings.from_env({"JOURNEYMAN_SECRET": value})


def test_after_a_rotation_old_tokens_verify_for_the_grace_period_only(
    app: App, clock: FakeClock
) -> None:
    before = links.sign(app.keys.current(), links.UNSUBSCRIBE, 3, "3:mail:1")
    elsewhere = App(app.engine, clock=clock, settings=app.settings)  # another server process
    assert unsubscribes(elsewhere, before) == (3, "3:mail:1")  # it has read the first secret

    app.rotate_secret(dt.timedelta(days=7))
    after = links.sign(app.keys.current(), links.UNSUBSCRIBE, 3, "3:mail:2")

    assert stored_generations(app) == [1, 2]
    assert unsubscribes(app, before) == (3, "3:mail:1")
    assert unsubscribes(elsewhere, after) == (3, "3:mail:2")  # read anew when it failed
    clock.advance(dt.timedelta(days=7, seconds=-1))
    assert unsubscribes(app, before) == (3, "3:mail:1")
    assert unsubscribes(elsewhere, before) == (3, "3:mail:1")
    clock.advance(dt.timedelta(seconds=1))
    assert unsubscribes(app, before) is None
    assert unsubscribes(elsewhere, before) is None
    assert unsubscribes(app, after) == (3, "3:mail:2")


def test_a_rotation_without_grace_stops_every_earlier_token_at_once(app: App) -> None:
    first = links.sign(app.keys.current(), links.UNSUBSCRIBE, 4, "4:mail:1")
    app.rotate_secret(dt.timedelta(days=30))
    second = links.sign(app.keys.current(), links.UNSUBSCRIBE, 4, "4:mail:2")
    assert unsubscribes(app, first) is not None

    app.rotate_secret(dt.timedelta(0))  # a leaked secret: nothing signed before verifies

    assert unsubscribes(app, first) is None
    assert unsubscribes(app, second) is None
    assert stored_generations(app) == [1, 2, 3]
