"""``journeyman serve`` (the API, the engine and the dispatcher in one process) and
``journeyman worker`` (the engine and the dispatcher alone).

One event loop runs everything: uvicorn's server and the engine loop
(``App.run(until_idle=False)``) as a task beside it. SIGINT or SIGTERM stop the server, then
the engine task is cancelled and awaited, then the email transport closes. An engine that
fails stops the server too, and the process exits with its error.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Callable, Iterator

import uvicorn

from journeyman.api.app import create_app
from journeyman.app import App
from journeyman.config import Settings
from journeyman.engine.dispatch import EmailTransport

logger = logging.getLogger(__name__)
SIGNALS = (signal.SIGINT, signal.SIGTERM)


def serve(settings: Settings, transport: EmailTransport, *, host: str, port: int) -> None:
    journeyman = App.open(settings)
    try:
        asyncio.run(_serve(journeyman, transport, host=host, port=port))
    finally:
        journeyman.close()


def work(settings: Settings, transport: EmailTransport) -> None:
    journeyman = App.open(settings)
    try:
        asyncio.run(_work(journeyman, transport))
    finally:
        journeyman.close()


@contextlib.contextmanager
def _on_signals(stop: Callable[[], None]) -> Iterator[None]:
    """Call ``stop`` on SIGINT and SIGTERM instead of dying. (uvicorn installs its own
    handlers while it serves and, on its way out, raises the signal it caught again: this
    handler receives it then, so the engine still stops cleanly.)"""
    previous = {sig: signal.signal(sig, lambda _sig, _frame: stop()) for sig in SIGNALS}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


async def _serve(journeyman: App, transport: EmailTransport, *, host: str, port: int) -> None:
    api = create_app(journeyman.settings, journeyman=journeyman)
    config = uvicorn.Config(api, host=host, port=port, access_log=False, lifespan="on")
    server = uvicorn.Server(config)

    def stop() -> None:
        server.should_exit = True

    engine = asyncio.create_task(
        journeyman.run(transport, until_idle=False), name="journeyman-engine"
    )
    engine.add_done_callback(lambda _task: stop())
    logger.info("serving", extra={"action": "server_started", "host": host, "port": port})
    try:
        with _on_signals(stop):
            await server.serve()
    finally:
        await _finish(engine, transport)


async def _work(journeyman: App, transport: EmailTransport) -> None:
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()

    def stop() -> None:
        loop.call_soon_threadsafe(stopping.set)

    engine = asyncio.create_task(
        journeyman.run(transport, until_idle=False), name="journeyman-engine"
    )
    try:
        with _on_signals(stop):
            waiting = asyncio.create_task(stopping.wait())
            await asyncio.wait({engine, waiting}, return_when=asyncio.FIRST_COMPLETED)
            waiting.cancel()
    finally:
        await _finish(engine, transport)


async def _finish(engine: asyncio.Task[object], transport: EmailTransport) -> None:
    """Cancel the engine loop and wait for it; an engine that had failed raises here."""
    engine.cancel()
    try:
        with contextlib.suppress(asyncio.CancelledError):
            await engine
    finally:
        await transport.aclose()
        logger.info("stopped", extra={"action": "engine_stopped"})
