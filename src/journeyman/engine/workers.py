"""Several engine workers, one per shard of contacts, each in its own process.

A worker takes the contacts whose id modulo the worker count is its index, so the runs of
one contact are always moved by the same worker, in order. Their read-and-decide phases run
in parallel; only their short write transactions take turns (SQLite has one writer).
"""

from __future__ import annotations

import asyncio
import ctypes
import json
import os
import signal
import subprocess
import sys
from dataclasses import asdict, replace

from journeyman.config import Settings
from journeyman.engine.dispatch import Dispatcher
from journeyman.engine.runner import RunSummary, run
from journeyman.engine.stepper import Stepper

_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """A worker must not outlive the process that started it (kill -9 included)."""
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    except OSError:  # not Linux: the daemon flag still ends it on a normal exit
        pass


async def run_workers(
    settings: Settings,
    count: int,
    parent: tuple[Stepper, Dispatcher | None],
    *,
    until_idle: bool,
) -> RunSummary:
    """Shard 0 runs here with the dispatcher; shards 1..count-1 in child processes."""
    env = {
        **os.environ,
        "JOURNEYMAN_DATABASE_URL": settings.database_url,
        "JOURNEYMAN_BATCH_SIZE": str(settings.batch_size),
        # Unset: children read the database's own secrets, as this process does.
        **({"JOURNEYMAN_SECRET": str(settings.secret)} if settings.secret else {}),
    }
    children: list[subprocess.Popen[bytes]] = [
        subprocess.Popen(
            [sys.executable, "-m", "journeyman.engine.workers", str(index), str(count)]
            + (["--until-idle"] if until_idle else []),
            env=env,
            stdout=subprocess.PIPE,
        )
        for index in range(1, count)
    ]
    stepper, dispatcher = parent
    try:
        summary = await run(stepper, dispatcher, until_idle=until_idle)
        for index, child in enumerate(children, 1):
            output, _ = await asyncio.to_thread(child.communicate)
            if child.returncode != 0:
                raise RuntimeError(f"engine worker {index} exited with {child.returncode}")
            summary = _add(summary, RunSummary(**json.loads(output)))
    finally:
        for child in children:
            if child.poll() is None:
                child.kill()
    # The children's shards are idle; deliver what they queued after our dispatcher stopped.
    return _add(summary, await run(stepper, dispatcher, until_idle=True))


def main(argv: list[str]) -> None:
    """``python -m journeyman.engine.workers INDEX COUNT [--until-idle]``: one child worker."""
    _die_with_parent()
    from journeyman.app import App

    index, count = int(argv[0]), int(argv[1])
    app = App.open(Settings.from_env(os.environ), upgrade=False)
    try:
        stepper = app.stepper(shard=(index, count))
        summary = asyncio.run(run(stepper, None, until_idle="--until-idle" in argv))
    finally:
        app.close()
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


if __name__ == "__main__":
    main(sys.argv[1:])
