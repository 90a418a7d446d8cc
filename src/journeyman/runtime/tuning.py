"""The interpreter tuning of long-running processes: the collector for every server process,
the GIL switch interval for the API's on PostgreSQL."""

from __future__ import annotations

import gc
import sys

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
