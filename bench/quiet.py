"""Waiting for a quiet machine before a measurement, and saying how quiet it was.

The benchmarks run one after the other on the same two cores. What one leaves behind keeps
the machine busy after it has exited: PostgreSQL's autovacuum and checkpointer after millions
of rows written and a database dropped, the kernel writing back the dirty pages of a large
SQLite file. A measurement started then is slowed by work that is not its own (the ingestion
benchmark ran at two thirds of its own rate when it came after the timer benchmark). So
before measuring: flush what can be flushed (``sync``, a PostgreSQL ``CHECKPOINT``), then
wait until the cores are idle for a whole second, for at most ``timeout`` seconds, and report
the idle share seen last so that a result measured on a busy machine says so.
"""

from __future__ import annotations

import contextlib
import os
import time
from pathlib import Path
from typing import Any

import psycopg

QUIET_IDLE = 0.9  # share of both cores idle over one second
TIMEOUT = 90.0
WINDOW = 1.0


def settle(postgres_url: str | None = None, *, timeout: float = TIMEOUT) -> dict[str, Any]:
    """Flush, then wait for idle cores: {"waited_s", "idle"} (idle is None off Linux)."""
    began = time.monotonic()
    os.sync()
    if postgres_url is not None:
        _checkpoint(postgres_url)
    idle = idle_share(WINDOW)
    while idle is not None and idle < QUIET_IDLE and time.monotonic() - began < timeout:
        idle = idle_share(WINDOW)
    return {"waited_s": round(time.monotonic() - began, 1), "idle": idle}


def idle_share(seconds: float) -> float | None:
    """The share of CPU time that was idle (or waiting for I/O) over ``seconds``."""
    before = _cpu_times()
    time.sleep(seconds)
    after = _cpu_times()
    if before is None or after is None:
        return None
    spent = [b - a for a, b in zip(before, after, strict=True)]
    total = sum(spent)
    return round((spent[3] + spent[4]) / total, 3) if total else None


def _cpu_times() -> list[int] | None:
    try:
        first = Path("/proc/stat").read_text().splitlines()[0]
    except OSError:
        return None
    return [int(v) for v in first.split()[1:9]]


def _checkpoint(postgres_url: str) -> None:
    from bench.worker import admin_connection

    # A courtesy: an unreachable server is the benchmark's to report, the wait still happens.
    with contextlib.suppress(psycopg.Error, OSError), admin_connection(postgres_url) as admin:
        admin.execute("CHECKPOINT")
