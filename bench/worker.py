"""One benchmark run in this process; prints one JSON object on stdout.

``python -m bench.worker --backend sqlite --contacts 10000 --batch-size 1000``

A fresh database (a SQLite file in a temporary directory, or a new PostgreSQL database that is
dropped afterwards), the demo workload loaded with ``load_demo_data``, then the clock runs from
"all purchase events stored" to "engine idle, every email in the outbox" (the issue's
definition of contacts/s). The capture dispatch that follows (marking every email sent) is
timed apart and reported as ``dispatch_seconds``.
"""

from __future__ import annotations

import argparse
import json
import math
import resource
import secrets
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy.engine import make_url

from bench import DEFAULT_POSTGRES_URL
from journeyman import demo
from journeyman.app import App
from journeyman.channels.capture import CaptureTransport
from journeyman.config import Settings
from journeyman.runtime.engine import run_until_idle


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.worker", description=__doc__)
    parser.add_argument("--backend", choices=("sqlite", "postgres"), required=True)
    parser.add_argument("--contacts", type=int, required=True)
    parser.add_argument("--batch-size", type=int, required=True)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--postgres-url", default=DEFAULT_POSTGRES_URL)
    args = parser.parse_args(argv)
    with fresh_database(args.backend, args.postgres_url) as url:
        result = run_once(url, args.contacts, args.batch_size, args.workers)
    result = {"backend": args.backend, **result, **peak_rss_mb()}
    sys.stdout.write(json.dumps(result) + "\n")
    return 0 if result["ok"] else 1


def run_once(url: str, count: int, batch_size: int, workers: int = 1) -> dict[str, Any]:
    app = App.open(Settings(database_url=url, batch_size=batch_size))
    try:
        started = time.perf_counter()
        demo.load_demo_data(app, count)
        stored = time.perf_counter()
        run_until_idle(app, None, batch_size=batch_size, workers=workers)
        idle = time.perf_counter()
        app.run_until_idle(CaptureTransport(), batch_size=batch_size)
        dispatched = time.perf_counter()
        measured = demo.measure(app, count, stored - started, idle - stored)
    finally:
        app.close()
    seconds = idle - stored
    expected_purchases = count + math.ceil(count / 3)
    return {
        "contacts": count,
        "batch_size": batch_size,
        "workers": workers,
        "contacts_per_second": round(count / seconds, 1),
        "purchases_per_second": round(measured.purchases / seconds, 1),
        "seconds": round(seconds, 3),
        "dispatch_seconds": round(dispatched - idle, 3),
        "seconds_loading": round(stored - started, 3),
        "purchases": measured.purchases,
        "emails": measured.emails_sent,
        "emails_queued": measured.emails_queued,
        "added_to_list": measured.added_to_list,
        "contacts_emailed_twice": measured.contacts_emailed_twice,
        "runs_completed": measured.runs_completed,
        "runs_failed": measured.runs_failed,
        "ok": measured.as_expected and measured.purchases == expected_purchases,
    }


def peak_rss_mb() -> dict[str, float]:
    """This process's peak RSS; with engine worker processes, also the largest one's."""
    scale = 1024 * 1024 if sys.platform == "darwin" else 1024  # bytes on macOS, KiB on Linux
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    peaks = {"peak_rss_mb": round(own / scale, 1)}
    if children:
        peaks["peak_rss_worker_mb"] = round(children / scale, 1)
    return peaks


@contextmanager
def fresh_database(backend: str, postgres_url: str) -> Iterator[str]:
    if backend == "sqlite":
        with tempfile.TemporaryDirectory(prefix="journeyman-bench-") as directory:
            yield f"sqlite:///{Path(directory) / 'bench.db'}"
        return
    name = f"journeyman_bench_{secrets.token_hex(4)}"
    server = make_url(postgres_url)
    with admin_connection(postgres_url) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin_connection(postgres_url) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def admin_connection(postgres_url: str) -> psycopg.Connection[Any]:
    """A connection to the server's maintenance database (``postgres_url``), autocommit."""
    url = make_url(postgres_url).set(drivername="postgresql")
    return psycopg.connect(
        url.render_as_string(hide_password=False), autocommit=True, connect_timeout=5
    )


if __name__ == "__main__":
    sys.exit(main())
