"""``journeyman serve``: the API, the engine and the dispatcher.

``serve --engine process`` (the default) runs the engine and the dispatcher in a child
process (:mod:`journeyman.runtime.children`), ``journeyman worker``'s loop, so that the API's
event loop and the engine have a core each: in one process they shared one (one GIL, one
event loop; docs/architecture.md, "Ingestion over HTTP", has the figures). The parent
migrates the database first (with an App closed again), then starts the child, then opens its
own App. After each commit of API events the parent writes one byte down the child's pipe
(non-blocking; a full pipe already holds a wake-up); the child reads it in its event loop and
wakes its engine, so an event's email is written about as soon as in one process. A child
whose parent is gone, even killed with SIGKILL, stops too (the parent-death signal, and the
pipe's end of file), and the next start frees what it held (``release_dead_claims``, by
process id).

SIGINT or SIGTERM stop the server, then the child is sent SIGTERM and waited for (it stops
its engine and closes its transport), and the process exits 0. A child that ends on its own
stops the server too: stopped by SIGTERM (sent by a service manager, say) ``serve`` exits 0,
otherwise (its engine failed, with its error in the log, or it was killed) ``serve`` exits 1
naming the child's status.

``serve --engine in-process`` keeps everything in one event loop (for a machine with one
core): uvicorn's server with the engine loop as a task beside it, woken directly by the
writer. SIGINT or SIGTERM stop the server, then the engine task is cancelled and awaited,
then the email transport closes. An engine that fails stops the server too, and the process
exits with its error.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from typing import Literal

import uvicorn

from journeyman.api.app import create_app
from journeyman.api.hot_path import HotEvents
from journeyman.app import App
from journeyman.config import Settings
from journeyman.errors import JourneymanError
from journeyman.runtime.children import Child
from journeyman.runtime.engine import email_transport, engine_child, finish_engine
from journeyman.runtime.signals import stop_on_signals
from journeyman.runtime.tuning import tune_garbage_collector, tune_thread_switching

logger = logging.getLogger(__name__)
EngineMode = Literal["process", "in-process"]
CHILD_STOP_TIMEOUT = 60.0  # seconds the engine child has to stop after SIGTERM
# The engine child's statuses that are a clean stop: SIGTERM reached it after its handler
# was installed (0) or before, while it was still importing.
CLEAN_STOPS = (0, -signal.SIGTERM.value)


def serve(settings: Settings, *, host: str, port: int, engine: EngineMode = "process") -> None:
    if engine == "in-process":
        journeyman = App.open(settings)
        tune_garbage_collector()
        tune_thread_switching(journeyman.engine.dialect.name)
        try:
            asyncio.run(_serve(journeyman, host=host, port=port))
        finally:
            journeyman.close()
        return
    App.open(settings).close()  # migrated once, here, before the child opens it
    tune_garbage_collector()
    # Started from the main thread: it lives as long as the server.
    child = Child.start(engine_child, settings)
    try:
        journeyman = App.open(settings, upgrade=False)
        tune_thread_switching(journeyman.engine.dialect.name)
        try:
            asyncio.run(_serve_beside(journeyman, child, host=host, port=port))
        finally:
            journeyman.close()
    finally:
        child.stop(signal.SIGTERM)  # it has ended, unless we failed before the server ran


def _server(journeyman: App, *, host: str, port: int) -> uvicorn.Server:
    api = create_app(journeyman.settings, journeyman=journeyman)
    hot = HotEvents(api, checker=api.state.key_checker, writer=api.state.event_writer)
    config = uvicorn.Config(hot, host=host, port=port, access_log=False, lifespan="on")
    return uvicorn.Server(config)


async def _serve(journeyman: App, *, host: str, port: int) -> None:
    server = _server(journeyman, host=host, port=port)
    transport = email_transport(journeyman.settings)

    def stop() -> None:
        server.should_exit = True

    engine = asyncio.create_task(
        journeyman.run(transport, until_idle=False), name="journeyman-engine"
    )
    engine.add_done_callback(lambda _task: stop())
    logger.info("serving", extra={"action": "server_started", "host": host, "port": port})
    try:
        with stop_on_signals(stop):
            await server.serve()
    finally:
        await finish_engine(engine, transport)


async def _serve_beside(journeyman: App, child: Child[None], *, host: str, port: int) -> None:
    """The API in this process, the engine in ``child``: woken by a byte down its pipe,
    stopped with SIGTERM when the server stops, and stopping the server if it ends."""
    server = _server(journeyman, host=host, port=port)

    def stop() -> None:
        server.should_exit = True

    journeyman.wake_elsewhere = child.wake
    ended = asyncio.ensure_future(child.wait())
    ended.add_done_callback(lambda _ended: stop())
    try:
        with stop_on_signals(stop):
            # The API answers once the engine runs beside it (it takes its imports' time).
            if await child.ready() and not server.should_exit:
                logger.info(
                    "serving",
                    extra={
                        "action": "server_started",
                        "host": host,
                        "port": port,
                        "engine_pid": child.pid,
                    },
                )
                await server.serve()
    finally:
        await _stop_child(child)


async def _stop_child(child: Child[None]) -> None:
    """SIGTERM the engine child (unless it ended) and wait. It stops cleanly when stopped by
    SIGTERM, ours or another's (a service manager signals every process of the service):
    any other status is its failure, and raises."""
    child.send(signal.SIGTERM)
    try:
        status = await asyncio.wait_for(child.wait(), CHILD_STOP_TIMEOUT)
    except TimeoutError:
        child.stop(signal.SIGKILL)
        raise JourneymanError(
            f"the engine process did not stop within {CHILD_STOP_TIMEOUT:g} s of SIGTERM"
        ) from None
    if status not in CLEAN_STOPS:
        raise JourneymanError(f"the engine process exited with status {status}")
    logger.info("stopped", extra={"action": "engine_process_stopped"})
