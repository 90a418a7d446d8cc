"""Who holds what: workers name themselves on the runs and messages they hold, so that the
holdings of a worker that died on this host can be freed at once instead of when their
leases end."""

from __future__ import annotations

import os
import secrets
import socket

from sqlalchemy.engine import Engine

from journeyman.clock import Clock
from journeyman.store import outbox, runs, transaction


def worker_claim() -> str:
    """A worker's name on what it holds: host, process id, and a random part."""
    return f"{_host()}:{os.getpid()}:{secrets.token_hex(4)}"


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
    claim_host, _, rest = claim.partition(":")
    pid_text = rest.partition(":")[0]
    if claim_host != host or not pid_text.isdigit():
        return False
    pid = int(pid_text)
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False
