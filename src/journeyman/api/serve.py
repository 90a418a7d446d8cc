"""``journeyman serve`` (the API, the engine and the dispatcher) and ``journeyman worker``
(the engine and the dispatcher alone).

``serve --engine process`` (the default) runs the engine and the dispatcher in a child
process, ``journeyman worker``'s loop (``App.run(until_idle=False)``), so that the API's
event loop and the engine have a core each: in one process they shared one (one GIL, one
event loop; docs/architecture.md, "Ingestion over HTTP", has the figures). The parent
migrates the database first (with an App closed again, so that no connection is shared),
then forks before any thread or event loop exists, then opens its own App. After each commit
of API events the parent writes one byte down a pipe (non-blocking; a full pipe already
holds a wake-up); the child reads it in its event loop and wakes its engine, so an event's
email is written about as soon as in one process. The pipe's end of file tells the child
that its parent is gone, even killed with SIGKILL: it stops too, and the next start frees
what it held (``release_dead_claims``, by process id).

SIGINT or SIGTERM stop the server, then the child is sent SIGTERM and waited for (it stops
its engine and closes its transport), and the process exits 0. A child that ends on its own
stops the server too: with status 0 (it was sent SIGTERM itself, by a service manager say)
``serve`` exits 0, otherwise (its engine failed, with its error in the log, or it was killed)
``serve`` exits 1 naming the child's status.

``serve --engine in-process`` keeps everything in one event loop (for a machine with one
core): uvicorn's server with the engine loop as a task beside it, woken directly by the
writer. SIGINT or SIGTERM stop the server, then the engine task is cancelled and awaited,
then the email transport closes. An engine that fails stops the server too, and the process
exits with its error.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import gc
import logging
import multiprocessing
import os
import signal
import sys
from collections.abc import Callable, Iterator
from multiprocessing.process import BaseProcess
from typing import Literal

import uvicorn

from journeyman.api.app import create_app
from journeyman.api.hot_path import HotEvents
from journeyman.app import App
from journeyman.config import Settings
from journeyman.engine.dispatch import EmailTransport
from journeyman.errors import JourneymanError

logger = logging.getLogger(__name__)
SIGNALS = (signal.SIGINT, signal.SIGTERM)
EngineMode = Literal["process", "in-process"]
CHILD_STOP_TIMEOUT = 60.0  # seconds the engine child has to stop after SIGTERM


def serve(
    settings: Settings,
    transport: EmailTransport,
    *,
    host: str,
    port: int,
    engine: EngineMode = "process",
) -> None:
    if engine == "in-process":
        journeyman = App.open(settings)
        tune_garbage_collector()
        tune_thread_switching(journeyman.engine.dialect.name)
        try:
            asyncio.run(_serve(journeyman, transport, host=host, port=port))
        finally:
            journeyman.close()
        return
    App.open(settings).close()  # migrated once, here, before the child opens it
    tune_garbage_collector()  # before the fork: the engine child inherits it
    child, wake_fd = _start_engine_child(settings, transport)
    try:
        journeyman = App.open(settings, upgrade=False)
        tune_thread_switching(journeyman.engine.dialect.name)  # in this process, after the fork
        try:
            asyncio.run(_serve_beside(journeyman, child, wake_fd, host=host, port=port))
        finally:
            journeyman.close()
    finally:
        os.close(wake_fd)
        if child.exitcode is None:  # we failed before the server ran: the child goes too
            child.terminate()
            child.join()


# Objects allocated before the collector's youngest generation is collected: CPython's 700
# made a batch of 500 events (each parsed, validated, prepared and stored: thousands of
# short-lived objects) trigger dozens of collections that walk everything still alive.
# Measured on PostgreSQL, batches of 500 with the engine running: 18,800 -> 24,300 events/s,
# server CPU (API and engine) 57 -> 39 us per event.
GC_YOUNGEST_THRESHOLD = 50_000


def tune_garbage_collector() -> None:
    """For a long-running server: what was loaded at start-up (modules, the app) is moved
    out of the collector's sight for good, and the youngest generation is collected less
    often. Objects are freed by reference counting as before; only cycles wait longer."""
    gc.freeze()
    _, older, oldest = gc.get_threshold()
    gc.set_threshold(GC_YOUNGEST_THRESHOLD, older, oldest)


# How long a thread may hold the GIL while another asks for it: CPython's 5 ms, then 1 ms for
# a server on PostgreSQL. There the API's event writers wait for the database at every
# statement of a transaction (about eight), and each time one came back it waited for the GIL
# until the thread holding it (one validating a batch, say) reached the interval. Measured,
# the full phases alternated twice, 2 cores, engine running: PostgreSQL batches 14,100 and
# 15,000 -> 15,950 and 19,650 events/s, single events 2,688 and 2,594 -> 3,846 and 3,634.
# On SQLite, whose writer waits for no server, batches were 6 % slower: it keeps CPython's.
POSTGRES_SWITCH_INTERVAL = 0.001  # seconds


def tune_thread_switching(dialect: str) -> None:
    """For the API's process: a shorter GIL switch interval on PostgreSQL (above)."""
    if dialect == "postgresql":
        sys.setswitchinterval(POSTGRES_SWITCH_INTERVAL)


def work(settings: Settings, transport: EmailTransport, *, parent_fd: int | None = None) -> None:
    if parent_fd is None:  # journeyman worker (the engine child was tuned before the fork)
        tune_garbage_collector()
    journeyman = App.open(settings, upgrade=parent_fd is None)
    try:
        asyncio.run(_work(journeyman, transport, parent_fd=parent_fd))
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
    server = _server(journeyman, host=host, port=port)

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


def _server(journeyman: App, *, host: str, port: int) -> uvicorn.Server:
    api = create_app(journeyman.settings, journeyman=journeyman)
    hot = HotEvents(api, checker=api.state.key_checker, writer=api.state.event_writer)
    config = uvicorn.Config(hot, host=host, port=port, access_log=False, lifespan="on")
    return uvicorn.Server(config)


def _start_engine_child(settings: Settings, transport: EmailTransport) -> tuple[BaseProcess, int]:
    """Fork ``journeyman worker``'s loop; the write end of its wake-up pipe is returned."""
    read_fd, write_fd = os.pipe()
    os.set_blocking(write_fd, False)
    context = multiprocessing.get_context("fork")
    child = context.Process(
        target=_engine_child,
        args=(settings, transport, read_fd, write_fd),
        name="journeyman-engine",
    )
    child.start()
    os.close(read_fd)
    return child, write_fd


def _engine_child(
    settings: Settings, transport: EmailTransport, read_fd: int, write_fd: int
) -> None:
    os.close(write_fd)  # only the parent holds it: its end-of-file means the parent is gone
    work(settings, transport, parent_fd=read_fd)


async def _serve_beside(
    journeyman: App, child: BaseProcess, wake_fd: int, *, host: str, port: int
) -> None:
    """The API in this process, the engine in ``child``: woken through ``wake_fd``,
    stopped with SIGTERM when the server stops, and stopping the server if it ends."""
    server = _server(journeyman, host=host, port=port)
    loop = asyncio.get_running_loop()
    child_ended = False

    def stop() -> None:
        server.should_exit = True

    def on_child_end() -> None:
        nonlocal child_ended
        child_ended = True
        loop.remove_reader(child.sentinel)
        stop()

    def wake_child() -> None:
        try:
            os.write(wake_fd, b"\0")
        except BlockingIOError:
            pass  # the pipe is full: the child has wake-ups it has not read yet
        except BrokenPipeError:
            pass  # the child is gone: its sentinel stops the server

    journeyman.wake_elsewhere = wake_child
    loop.add_reader(child.sentinel, on_child_end)
    logger.info(
        "serving",
        extra={"action": "server_started", "host": host, "port": port, "engine_pid": child.pid},
    )
    try:
        with _on_signals(stop):
            await server.serve()
    finally:
        if not child_ended:
            loop.remove_reader(child.sentinel)
        await _stop_child(child, stopped_by_us=not child_ended)


async def _stop_child(child: BaseProcess, *, stopped_by_us: bool) -> None:
    """SIGTERM the engine child (unless it ended) and wait. It exits 0 when stopped by
    SIGTERM, ours or another's (a service manager signals every process of the service):
    any other status is its failure, and raises."""
    if child.exitcode is None:
        child.terminate()
    await asyncio.get_running_loop().run_in_executor(None, child.join, CHILD_STOP_TIMEOUT)
    if child.exitcode is None:
        child.kill()
        await asyncio.get_running_loop().run_in_executor(None, child.join)
        raise JourneymanError(
            f"the engine process did not stop within {CHILD_STOP_TIMEOUT:g} s of SIGTERM"
        )
    clean = {0, -signal.SIGTERM} if stopped_by_us else {0}  # -SIGTERM: before its handler
    if child.exitcode not in clean:
        raise JourneymanError(f"the engine process exited with status {child.exitcode}")
    logger.info("stopped", extra={"action": "engine_process_stopped"})


async def _work(journeyman: App, transport: EmailTransport, *, parent_fd: int | None) -> None:
    """The engine loop until SIGINT or SIGTERM; with ``parent_fd`` (``serve``'s engine
    child), a byte read from it wakes the engine and its end-of-file stops it."""
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()

    def stop() -> None:
        loop.call_soon_threadsafe(stopping.set)

    def on_parent() -> None:
        assert parent_fd is not None
        try:
            data = os.read(parent_fd, 4096)
        except OSError as exc:
            if exc.errno == errno.EAGAIN:
                return
            data = b""
        if data:
            journeyman.events_stored.set()
            return
        loop.remove_reader(parent_fd)
        logger.warning("the server process is gone", extra={"action": "server_gone"})
        stopping.set()

    engine = asyncio.create_task(
        journeyman.run(transport, until_idle=False), name="journeyman-engine"
    )
    if parent_fd is not None:
        os.set_blocking(parent_fd, False)
        loop.add_reader(parent_fd, on_parent)
    try:
        with _on_signals(stop):
            waiting = asyncio.create_task(stopping.wait())
            await asyncio.wait({engine, waiting}, return_when=asyncio.FIRST_COMPLETED)
            waiting.cancel()
    finally:
        if parent_fd is not None:
            loop.remove_reader(parent_fd)
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
