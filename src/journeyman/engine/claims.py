"""Who holds what: workers name themselves on the runs and messages they hold, so that the
holdings of a worker that died on this host can be freed at once instead of when their
leases end.

A name is ``host:pid:started:random``. ``started`` is when the process started (Linux's
``/proc/PID/stat``, in clock ticks since boot): process ids are reused (32,768 of them by
default), and a later process given a dead worker's id must not keep its holdings for the
whole lease. Where ``/proc`` says nothing it is ``0`` and only the id is checked; names
written before it was added (``host:pid:random``) are read as such.
"""

from __future__ import annotations

import os
import secrets
import socket
from pathlib import Path

from sqlalchemy.engine import Engine

from journeyman.clock import Clock
from journeyman.store import outbox, runs, transaction


def worker_claim() -> str:
    """A worker's name on what it holds: host, process id, its start, and a random part."""
    pid = os.getpid()
    return f"{_host()}:{pid}:{process_started(pid) or 0}:{secrets.token_hex(4)}"


def process_started(pid: int) -> str | None:
    """When process ``pid`` started (clock ticks since boot), or None if /proc does not say."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rpartition(")")[2].split()  # the name, in parentheses, may hold spaces
    return fields[19] if len(fields) > 19 else None  # field 22: starttime


def release_dead_claims(engine: Engine, clock: Clock) -> int:
    """Runs and messages held by workers of this host that no longer live become due now."""
    host = _host()
    with transaction(engine) as connection:
        held = {*runs.claims_txn(connection), *outbox.claims_txn(connection)}
        dead = sorted(c for c in held if _dead_here(c, host))
        if not dead:
            return 0
        now = clock.now()
        return runs.release_claims_txn(connection, dead, now) + outbox.release_claims_txn(
            connection, dead, now
        )


def _host() -> str:
    return socket.gethostname()[:30]


def _dead_here(claim: str, host: str) -> bool:
    parts = claim.split(":")
    if len(parts) < 3 or parts[0] != host or not parts[1].isdigit():
        return False
    pid = int(parts[1])
    started = parts[2] if len(parts) == 4 else "0"
    if pid == os.getpid():  # this process, or an earlier one that had its id
        return started not in ("0", process_started(pid))
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        pass  # a process of another user: alive, unless it started after the worker
    return started != "0" and process_started(pid) not in (None, started)
