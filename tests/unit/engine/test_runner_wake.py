"""The engine loop wakes when told that events were stored, instead of at its next poll."""

from __future__ import annotations

import asyncio
import time

from journeyman import App
from journeyman.engine.runner import run
from journeyman.services.events import EventInput
from journeyman.store import read_transaction
from journeyman.store.lists import members_count_txn

WORKFLOW = {
    "key": "wake",
    "name": "Wake",
    "entry_points": [{"event": "arrived"}],
    "steps": [{"id": "tag", "add_to_list": {"lists": "Woken"}}],
}


def members(app: App) -> int:
    with read_transaction(app.engine) as connection:
        return members_count_txn(connection, "Woken")


async def seconds_until_member(app: App, *, wake_it: bool) -> float | None:
    """Seconds from storing the event to the contact in the list (None: not within 3 s),
    with a poll interval far longer than that."""
    wake = asyncio.Event()
    engine = asyncio.create_task(
        run(app.stepper(), None, until_idle=False, poll_interval=60, wake=wake)
    )
    try:
        await asyncio.sleep(0.3)  # the first pass found nothing: the engine sleeps
        app.record_events([EventInput(name="arrived", email=f"w{wake_it}@example.com")])
        stored = time.monotonic()
        if wake_it:
            wake.set()
        while time.monotonic() - stored < 3:
            # the second run's first pass takes the first run's event, never woken for
            if members(app) > (1 if wake_it else 0):
                return time.monotonic() - stored
            await asyncio.sleep(0.02)
        return None
    finally:
        engine.cancel()


def test_a_sleeping_engine_takes_stored_events_when_woken(app: App) -> None:
    app.apply_workflow(WORKFLOW)

    assert asyncio.run(seconds_until_member(app, wake_it=False)) is None  # polls in 60 s
    assert asyncio.run(seconds_until_member(app, wake_it=True)) is not None
