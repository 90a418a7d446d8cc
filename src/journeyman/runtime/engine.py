"""Running the engine: in this process or in shards of processes (``journeyman run``), and
for good (``journeyman worker``, ``serve``'s engine child), until SIGINT or SIGTERM."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from journeyman.app import App
from journeyman.channels.capture import CaptureTransport
from journeyman.config import Settings
from journeyman.engine.dispatch import EmailTransport
from journeyman.engine.runner import RunSummary
from journeyman.runtime import shards
from journeyman.runtime.children import Parent
from journeyman.runtime.signals import stop_on_signals
from journeyman.runtime.tuning import tune_garbage_collector

logger = logging.getLogger(__name__)


def email_transport(settings: Settings) -> EmailTransport:
    """SMTP when ``settings.smtp_url`` is set, else emails are captured in the outbox."""
    if settings.smtp_url:
        from journeyman.channels.smtp import SmtpSettings, SmtpTransport

        return SmtpTransport(SmtpSettings.from_url(str(settings.smtp_url)))
    return CaptureTransport()


async def run_engine(
    app: App,
    transport: EmailTransport | None,
    *,
    batch_size: int | None = None,
    workers: int = 1,
    until_idle: bool = True,
) -> RunSummary:
    """The engine (and the dispatcher, given a transport) in the running event loop;
    ``workers`` > 1 runs shards 1.. in child processes (they use the system clock)."""
    if workers == 1:
        return await app.run(transport, batch_size=batch_size, until_idle=until_idle)
    return await shards.run_shards(
        app, transport, workers, batch_size=batch_size, until_idle=until_idle
    )


def run_until_idle(
    app: App, transport: EmailTransport | None, *, batch_size: int | None = None, workers: int = 1
) -> RunSummary:
    """Move every due run and deliver every due message, then close the transport."""

    async def until_idle() -> RunSummary:
        try:
            return await run_engine(app, transport, batch_size=batch_size, workers=workers)
        finally:
            if transport is not None:
                await transport.aclose()

    return asyncio.run(until_idle())


def work(settings: Settings, *, parent: Parent | None = None) -> None:
    """``journeyman worker``; with ``parent``, ``serve``'s engine child (the server migrated
    the database): a byte from the server wakes the engine, the server's end stops it."""
    tune_garbage_collector()
    journeyman = App.open(settings, upgrade=parent is None)
    try:
        asyncio.run(_work(journeyman, email_transport(settings), parent=parent))
    finally:
        journeyman.close()


def engine_child(parent: Parent, settings: Settings) -> None:
    """``serve``'s engine child; here, not beside ``serve``, so that the child does not
    import the API (FastAPI, uvicorn) it does not run."""
    work(settings, parent=parent)


async def _work(journeyman: App, transport: EmailTransport, *, parent: Parent | None) -> None:
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    parent_ended = False

    def stop() -> None:
        loop.call_soon_threadsafe(stopping.set)

    def on_parent_end() -> None:
        nonlocal parent_ended
        parent_ended = True
        stopping.set()

    engine = asyncio.create_task(
        journeyman.run(transport, until_idle=False), name="journeyman-engine"
    )
    if parent is not None:
        parent.watch(lambda: journeyman.events_stored.set(), on_parent_end)
    try:
        with stop_on_signals(stop):
            if parent is not None:
                parent.ready()  # SIGTERM stops it cleanly from now on
            waiting = asyncio.create_task(stopping.wait())
            await asyncio.wait({engine, waiting}, return_when=asyncio.FIRST_COMPLETED)
            waiting.cancel()
        # Its end of the pipe, or the parent-death signal (SIGTERM): whichever came first.
        if parent is not None and (parent_ended or parent.gone()):
            logger.warning("the server process is gone", extra={"action": "server_gone"})
    finally:
        if parent is not None:
            parent.unwatch()
        await finish_engine(engine, transport)


async def finish_engine(engine: asyncio.Task[object], transport: EmailTransport) -> None:
    """Cancel the engine loop and wait for it; an engine that had failed raises here."""
    engine.cancel()
    try:
        with contextlib.suppress(asyncio.CancelledError):
            await engine
    finally:
        await transport.aclose()
        logger.info("stopped", extra={"action": "engine_stopped"})
