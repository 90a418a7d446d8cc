"""Several engine workers, one per shard of contacts, each in its own process.

A worker takes the contacts whose id modulo the worker count is its index, so the runs of
one contact are always moved by the same worker, in order. Their read-and-decide phases run
in parallel; only their short write transactions take turns (SQLite has one writer).

Shard 0 runs in this process with the dispatcher; the others are children
(:mod:`journeyman.runtime.children`: they die with this process, SIGKILL included). A child
that ends on its own (killed, or failed; until idle, one that exited non-zero) is noticed at
once and stops the run with a one-line :class:`WorkerFailed`, after what it held (runs,
messages) was made due at once instead of when its leases end.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
from collections.abc import Coroutine
from dataclasses import replace

from journeyman.app import App
from journeyman.config import Settings
from journeyman.engine.dispatch import Dispatcher, EmailTransport
from journeyman.engine.runner import RunSummary, run
from journeyman.engine.stepper import Stepper
from journeyman.errors import JourneymanError, WorkerFailed
from journeyman.runtime.children import Child, Parent


async def run_shards(
    app: App,
    transport: EmailTransport | None,
    count: int,
    *,
    batch_size: int | None,
    until_idle: bool,
) -> RunSummary:
    """Shard 0 here (with the dispatcher, given a transport); shards 1..count-1 in children."""
    dispatcher = app.dispatcher(transport) if transport is not None else None
    stepper = app.stepper(batch_size=batch_size, shard=(0, count))
    settings = replace(app.settings, batch_size=batch_size or app.settings.batch_size)
    try:
        return await _run_workers(settings, count, stepper, dispatcher, until_idle=until_idle)
    finally:
        if dispatcher is not None:
            await dispatcher.close_transports()


async def _run_workers(
    settings: Settings,
    count: int,
    stepper: Stepper,
    dispatcher: Dispatcher | None,
    *,
    until_idle: bool,
) -> RunSummary:
    # Started from the event loop's thread: it lives as long as the run.
    children = [
        Child.start(_shard, settings, index, count, until_idle=until_idle)
        for index in range(1, count)
    ]
    try:
        engine = run(stepper, dispatcher, until_idle=until_idle)
        summary = await _run_watched(engine, children, stepper, until_idle=until_idle)
        for child in children:
            summary = _add(summary, child.result())
    finally:
        for child in children:
            child.stop(signal.SIGKILL)
        stepper.release_dead_claims()  # what stopped children held, due again at once
    # The children's shards are idle; deliver what they queued after our dispatcher stopped.
    return _add(summary, await run(stepper, dispatcher, until_idle=True))


async def _run_watched(
    engine: Coroutine[None, None, RunSummary],
    children: list[Child[RunSummary]],
    stepper: Stepper,
    *,
    until_idle: bool,
) -> RunSummary:
    """Run ``engine`` while watching ``children``: the first to fail ends both (the engine
    cancelled); until idle, return when the engine and every child are done."""
    engine_task = asyncio.ensure_future(engine)
    watcher = asyncio.ensure_future(_watch(children, stepper, until_idle=until_idle))
    tasks = (engine_task, watcher)
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
        for task in done:
            if (error := task.exception()) is not None:
                raise error
        return engine_task.result()
    finally:
        for task in tasks:
            task.cancel()
        # The engine stops at its next await (the dispatcher writes the results it has).
        await asyncio.gather(*tasks, return_exceptions=True)


async def _watch(children: list[Child[RunSummary]], stepper: Stepper, *, until_idle: bool) -> None:
    """Raise WorkerFailed as soon as a child failed, having made what it held due again;
    until idle, return when every child exited well."""
    waits = {
        asyncio.ensure_future(child.wait()): (index, child)
        for index, child in enumerate(children, start=1)
    }
    try:
        while waits:
            done, _ = await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
            for ended in done:
                index, child = waits.pop(ended)
                if (how := _failure(ended.result(), until_idle=until_idle)) is not None:
                    released = stepper.release_dead_claims()
                    raise WorkerFailed(
                        f"engine worker {index} (pid {child.pid}) {how}; {released} runs and "
                        "messages it held are due again; stopping the others"
                    )
    finally:
        for waiting in waits:
            waiting.cancel()


def _failure(status: int, *, until_idle: bool) -> str | None:
    """How a child ended, if that was a failure (None: until idle, it exited 0)."""
    if until_idle and status == 0:
        return None
    if status < 0:
        with contextlib.suppress(ValueError):
            return f"was killed by {signal.Signals(-status).name}"
        return f"was killed by signal {-status}"
    return f"exited with status {status}"


def _shard(
    _parent: Parent, settings: Settings, index: int, count: int, *, until_idle: bool
) -> RunSummary:
    """One child worker (started by ``run_shards``)."""
    try:
        app = App.open(settings, upgrade=False)
        try:
            stepper = app.stepper(shard=(index, count))
            return asyncio.run(run(stepper, None, until_idle=until_idle))
        finally:
            app.close()
    except JourneymanError as exc:  # one line; the parent names the worker that failed
        sys.stderr.write(f"error: engine worker {index}: {exc}\n")
        raise SystemExit(1) from None


def _add(a: RunSummary, b: RunSummary) -> RunSummary:
    return replace(
        a,
        ticks=a.ticks + b.ticks,
        events=a.events + b.events,
        enrolled=a.enrolled + b.enrolled,
        steps=a.steps + b.steps,
        messages=a.messages + b.messages,
    )
