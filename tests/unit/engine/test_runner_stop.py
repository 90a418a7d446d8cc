"""A cancelled engine loop stops between two batches, even in the middle of a long outbox
whose transport answers at once (the capture transport never suspends)."""

from __future__ import annotations

import asyncio

from journeyman import App
from journeyman.channels.capture import CaptureTransport
from journeyman.engine.dispatch import Dispatcher, DispatchSettings
from journeyman.engine.runner import run
from journeyman.services.events import EventInput
from journeyman.store import read_transaction
from journeyman.store.outbox import message_counts_txn

WORKFLOW = {
    "key": "stop",
    "name": "Stop",
    "entry_points": [{"event": "arrived"}],
    "steps": [
        {
            "id": "hello",
            "send_email": {"from": "a@example.com", "subject": "Hello", "html": "<p>Hi</p>"},
        }
    ],
}
EMAILS = 400
BATCH = 10  # messages per dispatch: 40 batches


def sent(app: App) -> int:
    with read_transaction(app.engine) as connection:
        return message_counts_txn(connection).get("sent", 0)


def test_a_cancelled_engine_stops_between_dispatch_batches(app: App) -> None:
    app.apply_workflow(WORKFLOW)
    app.record_events(
        [EventInput(name="arrived", email=f"c{n}@example.com") for n in range(EMAILS)]
    )
    app.run_until_idle(None, batch_size=EMAILS)  # the messages queued, none sent
    dispatcher = Dispatcher(
        app.engine, CaptureTransport(), app.clock, DispatchSettings(batch_size=BATCH)
    )

    async def cancelled_after_the_first_batch() -> None:
        first = asyncio.Event()
        dispatch_once = dispatcher.dispatch_once

        async def counted() -> int:
            found = await dispatch_once()
            first.set()
            return found

        dispatcher.dispatch_once = counted  # type: ignore[method-assign]
        engine = asyncio.create_task(run(app.stepper(), dispatcher, until_idle=False))
        await first.wait()
        engine.cancel()
        await asyncio.gather(engine, return_exceptions=True)

    asyncio.run(cancelled_after_the_first_batch())

    assert 0 < sent(app) < EMAILS  # stopped part of the way, not when the outbox was empty
