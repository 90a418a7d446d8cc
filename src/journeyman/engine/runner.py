"""Driving the stepper and the dispatcher: until idle (CLI, tests) or forever (worker)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from journeyman.engine.dispatch import Dispatcher
from journeyman.engine.stepper import Stepper


@dataclass(kw_only=True)
class RunSummary:
    ticks: int = 0
    events: int = 0
    enrolled: int = 0
    steps: int = 0
    messages: int = 0


async def run(
    stepper: Stepper,
    dispatcher: Dispatcher | None,
    *,
    until_idle: bool,
    poll_interval: float = 0.5,
    stop: asyncio.Event | None = None,
    wake: asyncio.Event | None = None,
) -> RunSummary:
    """Alternate engine ticks and dispatch batches; with ``until_idle`` return when neither
    has anything due, otherwise sleep ``poll_interval`` and look again, or sooner when
    ``wake`` is set (the API's writer sets it when it has stored events), after
    ``WAKE_GATHER`` more seconds so that events arriving together are taken together."""
    summary = RunSummary()
    stepper.release_dead_claims()
    while stop is None or not stop.is_set():
        busy = bool(stepper.enter_scheduled())
        while True:
            report = stepper.tick()
            await asyncio.sleep(0)  # let the API (same event loop) answer between ticks
            summary.ticks += 1
            summary.events += report.events
            summary.enrolled += report.enrolled
            summary.steps += report.steps
            if report.idle:
                break
            busy = True
        if dispatcher is not None:
            while sent := await dispatcher.dispatch_once():
                # A transport that answers at once (capture) never suspends the loop: without
                # this the API (same loop) waited, and a cancelled engine went on until the
                # outbox was empty (300,000 emails took longer than serve's stop timeout).
                await asyncio.sleep(0)
                summary.messages += sent
                busy = True
        if not busy:
            if until_idle:
                return summary
            await _nap(poll_interval, wake)
            stepper.release_dead_claims()
    return summary


WAKE_GATHER = 0.005  # seconds


async def _nap(seconds: float, wake: asyncio.Event | None) -> None:
    if wake is None:
        await asyncio.sleep(seconds)
        return
    # Not ``asyncio.wait_for``: on Python 3.11 it can return instead of raising when the task
    # is cancelled as ``wake`` is set (CPython gh-86296); ``serve``'s engine child, woken
    # often, then went on running after SIGTERM. ``asyncio.wait`` never swallows it.
    waiting = asyncio.ensure_future(wake.wait())
    try:
        await asyncio.wait({waiting}, timeout=seconds)
    finally:
        waiting.cancel()
    if wake.is_set():
        wake.clear()
        await asyncio.sleep(WAKE_GATHER)
