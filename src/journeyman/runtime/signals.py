"""SIGINT and SIGTERM as a request to stop, for every long-running process."""

from __future__ import annotations

import contextlib
import signal
from collections.abc import Callable, Iterator

SIGNALS = (signal.SIGINT, signal.SIGTERM)


@contextlib.contextmanager
def stop_on_signals(stop: Callable[[], None]) -> Iterator[None]:
    """Call ``stop`` on SIGINT and SIGTERM instead of dying. (uvicorn installs its own
    handlers while it serves and, on its way out, raises the signal it caught again: this
    handler receives it then, so the engine still stops cleanly.)"""
    previous = {sig: signal.signal(sig, lambda _sig, _frame: stop()) for sig in SIGNALS}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
