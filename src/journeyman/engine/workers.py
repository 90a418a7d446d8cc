"""Several engine workers, one per shard of contacts, each in its own process.

A worker takes the contacts whose id modulo the worker count is its index, so the runs of
one contact are always moved by the same worker, in order. Their read-and-decide phases run
in parallel; only their short write transactions take turns (SQLite has one writer).

A child never outlives its parent, SIGKILL included: its first instruction, before anything
of Journeyman is imported, arms Linux's parent-death signal (SIGKILL), and its second checks
that its parent is still the process that started it (a parent that died before the signal
was armed would never send it). The parent looks at its children every ``WATCH_INTERVAL``
seconds: one that ended on its own (killed, or failed; until idle, one that exited non-zero)
stops the run with a one-line :class:`WorkerFailed`, after what it held (runs, messages) was
made due at once instead of when its leases end.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
from collections.abc import Coroutine
from dataclasses import asdict, dataclass, replace

from journeyman.config import Settings
from journeyman.engine.dispatch import Dispatcher
from journeyman.engine.runner import RunSummary, run
from journeyman.engine.stepper import Stepper
from journeyman.errors import JourneymanError, WorkerFailed

WATCH_INTERVAL = 0.2  # seconds between two looks at the children
ORPHANED = 3  # a child's exit status when its parent was gone before it could watch it

# ``python -c`` code of a child: argv is PARENT_PID INDEX COUNT [--until-idle]. prctl(1, 9)
# is PR_SET_PDEATHSIG with SIGKILL; it must come before the imports (about 2 s), during
# which the parent may die.
_CHILD = f"""\
import ctypes, os, sys
try:
    ctypes.CDLL(None, use_errno=True).prctl(1, 9)
except (OSError, AttributeError):
    pass
if os.getppid() != int(sys.argv[1]):
    sys.exit({ORPHANED})
from journeyman.engine.workers import main
main(sys.argv[2:])
"""


@dataclass(frozen=True)
class _Child:
    index: int
    process: subprocess.Popen[bytes]

    @classmethod
    def start(cls, settings: Settings, index: int, count: int, *, until_idle: bool) -> _Child:
        env = {
            **os.environ,
            "JOURNEYMAN_DATABASE_URL": settings.database_url,
            # Unset: children read the database's own secrets, as this process does.
            **({"JOURNEYMAN_SECRET": str(settings.secret)} if settings.secret else {}),
            "JOURNEYMAN_BATCH_SIZE": str(settings.batch_size),
        }
        # Started from the event loop's thread: the parent-death signal follows the thread
        # that started the child, and this one lives as long as the run.
        argv = [sys.executable, "-c", _CHILD, str(os.getpid()), str(index), str(count)]
        process = subprocess.Popen(
            argv + (["--until-idle"] if until_idle else []), env=env, stdout=subprocess.PIPE
        )
        return cls(index, process)

    def failure(self, *, until_idle: bool) -> str | None:
        """How the child ended, if that was a failure (None while it runs or ended well)."""
        code = self.process.poll()
        if code is None or (until_idle and code == 0):
            return None
        if code < 0:
            with contextlib.suppress(ValueError):
                return f"was killed by {signal.Signals(-code).name}"
            return f"was killed by signal {-code}"
        return f"exited with status {code}"

    def summary(self) -> RunSummary:
        assert self.process.stdout is not None
        return RunSummary(**json.loads(self.process.stdout.read()))

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        if self.process.stdout is not None:
            self.process.stdout.close()


async def run_workers(
    settings: Settings,
    count: int,
    parent: tuple[Stepper, Dispatcher | None],
    *,
    until_idle: bool,
) -> RunSummary:
    """Shard 0 runs here with the dispatcher; shards 1..count-1 in child processes."""
    stepper, dispatcher = parent
    children = [
        _Child.start(settings, index, count, until_idle=until_idle) for index in range(1, count)
    ]
    try:
        engine = run(stepper, dispatcher, until_idle=until_idle)
        summary = await _run_watched(engine, children, stepper, until_idle=until_idle)
        for child in children:
            summary = _add(summary, child.summary())
    finally:
        for child in children:
            child.stop()
        stepper.release_dead_claims()  # what stopped children held, due again at once
    # The children's shards are idle; deliver what they queued after our dispatcher stopped.
    return _add(summary, await run(stepper, dispatcher, until_idle=True))


async def _run_watched(
    engine: Coroutine[None, None, RunSummary],
    children: list[_Child],
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


async def _watch(children: list[_Child], stepper: Stepper, *, until_idle: bool) -> None:
    """Raise WorkerFailed as soon as a child failed, having made what it held due again;
    until idle, return when every child exited well."""
    while True:
        for child in children:
            if (how := child.failure(until_idle=until_idle)) is not None:
                released = stepper.release_dead_claims()
                raise WorkerFailed(
                    f"engine worker {child.index} (pid {child.process.pid}) {how}; "
                    f"{released} runs and messages it held are due again; stopping the others"
                )
        if until_idle and all(child.process.returncode is not None for child in children):
            return
        await asyncio.sleep(WATCH_INTERVAL)


def main(argv: list[str]) -> None:
    """``INDEX COUNT [--until-idle]``: one child worker (started by ``run_workers``)."""
    from journeyman.app import App

    index, count = int(argv[0]), int(argv[1])
    try:
        app = App.open(Settings.from_env(os.environ), upgrade=False)
        try:
            stepper = app.stepper(shard=(index, count))
            summary = asyncio.run(run(stepper, None, until_idle="--until-idle" in argv))
        finally:
            app.close()
    except JourneymanError as exc:  # one line; the parent names the worker that failed
        sys.stderr.write(f"error: engine worker {index}: {exc}\n")
        raise SystemExit(1) from None
    sys.stdout.write(json.dumps(asdict(summary)) + "\n")


def _add(a: RunSummary, b: RunSummary) -> RunSummary:
    return replace(
        a,
        ticks=a.ticks + b.ticks,
        events=a.events + b.events,
        enrolled=a.enrolled + b.enrolled,
        steps=a.steps + b.steps,
        messages=a.messages + b.messages,
    )
