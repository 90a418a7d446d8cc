"""The timer benchmark: N runs waiting on a delay, woken by the engine in real time.

``python -m bench.timers --backend sqlite --runs 1000000 --spread-seconds 60``

A fresh database holds the workflow ``tick`` -> delay 1 minute -> add to the list "Woken", N
contacts and N runs held by the delay. The runs are rows like the ones the engine writes when
a run reaches the delay (status ``waiting``, on the step after it, no claim, the delay's
run-log entry), inserted in bulk rather than enrolled through a million events; they have no
trigger event. Their due times are spread uniformly at random over the S seconds that follow
the engine's start, in the order of the run ids (runs that entered one delay one after the
other; ``--shuffled``: in random order, which costs the engine locality). The engine then runs
on the system clock (``App.run(until_idle=False)``) until every run has completed.

A run's lateness is when the engine moved it (its ``updated_at``: the time taken at the start
of the pass that ran the step after the delay) minus its due time; the engine looks for due
runs again 0.5 s after it last found nothing to do. Reports p50, p99 and the largest lateness
in ms, and runs/s: N / (last run moved - first run due). While the engine keeps up, that rate
is the arrival rate N / S and the lateness tells how far behind it falls.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import itertools
import json
import math
import random
import sys
import time
from array import array
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from bench import DEFAULT_POSTGRES_URL, child
from bench.worker import fresh_database, peak_rss_mb
from journeyman.app import App
from journeyman.config import Settings
from journeyman.runtime.engine import run_engine
from journeyman.store import read_transaction, transaction
from journeyman.store.bulk import Bulk
from journeyman.store.runs import LOG_COLUMNS, RUN_COLUMNS
from journeyman.store.schema import contacts, list_members, run_log, runs, workflows

DEFAULT_RUNS = {"sqlite": 1_000_000, "postgres": 100_000}
DEFAULT_SPREAD_SECONDS = 60.0
WORKFLOW = {
    "key": "timer-bench",
    "name": "Timer benchmark",
    "entry_points": [{"event": "tick"}],
    "steps": [
        {"id": "wait", "delay": {"minutes": 1}, "next": "woken"},
        {"id": "woken", "add_to_list": {"lists": "Woken"}},
    ],
}
CHUNK = 50_000
# Due times are parked this far ahead while the rows go in, then moved in one statement to
# just after the engine's start: rows inserted with their final times would become due while
# the rest were still being inserted.
PARKED = dt.timedelta(days=30)
# The engine must be running before the first run is due: the due times are moved to start
# this many times the rehearsal's duration ahead (see ``arm``).
REHEARSAL_SECONDS = 86_400
ARM_LEAD_FACTOR = 1.5
ARM_LEAD_MIN_SECONDS = 2.0
POLL_SECONDS = 0.5
MIN_RATE = 500  # runs/s: below this the engine is taken to be stuck
_US = dt.timedelta(microseconds=1)


@dataclass(frozen=True, kw_only=True)
class Plan:
    runs: int
    spread: float  # seconds
    workers: int = 1
    batch_size: int = 1000
    shuffled: bool = False
    seed: int = 1


@dataclass(frozen=True, kw_only=True)
class Prepared:
    run_ids: array[int]  # ascending
    offsets: array[int]  # microseconds after the start at which each run is due
    parked: dt.datetime
    seconds: float


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    plan = Plan(
        runs=args.runs if args.runs is not None else DEFAULT_RUNS[args.backend],
        spread=args.spread_seconds,
        workers=args.workers,
        batch_size=args.batch_size,
        shuffled=args.shuffled,
        seed=args.seed,
    )
    started = time.perf_counter()
    with fresh_database(args.backend, args.postgres_url) as url:
        result = run_once(url, plan)
    result = {
        "backend": args.backend,
        **result,
        "wall_seconds": round(time.perf_counter() - started, 1),
    }
    sys.stdout.write((json.dumps(result) if args.json else one_line(result)) + "\n")
    return 0 if result["ok"] else 1


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.timers", description=__doc__)
    parser.add_argument("--backend", choices=tuple(DEFAULT_RUNS), required=True)
    parser.add_argument("--runs", type=int, help="default 1,000,000 (PostgreSQL: 100,000)")
    parser.add_argument("--spread-seconds", type=float, default=DEFAULT_SPREAD_SECONDS)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--batch-size", type=int, default=1000)
    parser.add_argument(
        "--shuffled",
        action="store_true",
        help="run ids in random order of due time (default: in order, as runs that entered "
        "one delay one after the other)",
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", action="store_true", help="one JSON object on stdout")
    parser.add_argument("--postgres-url", default=DEFAULT_POSTGRES_URL)
    args = parser.parse_args(argv)
    if (args.runs is not None and args.runs < 1) or args.spread_seconds <= 0 or args.workers < 1:
        parser.error("--runs, --spread-seconds and --workers must be positive")
    return args


def run_once(url: str, plan: Plan) -> dict[str, Any]:
    app = App.open(Settings(database_url=url, batch_size=plan.batch_size))
    try:
        prepared = prepare(app, plan)
        start, arm_seconds = arm(app, prepared)
        engine_started = app.clock.now()
        finished = asyncio.run(drive(app, plan))
        peaks = peak_rss_mb()  # the engine's, before the measuring below
        measured = measure(app, prepared, start)
        as_expected = measured.pop("as_expected")
    finally:
        app.close()
    # how long before the first run was due the engine started (negative: after it)
    margin = (start - engine_started) // _US + min(prepared.offsets)
    return {
        "workload": "timers",
        "runs": plan.runs,
        "spread_seconds": plan.spread,
        "shuffled": plan.shuffled,
        "workers": plan.workers,
        "batch_size": plan.batch_size,
        "seconds_loading": round(prepared.seconds, 1),
        "seconds_arming": round(arm_seconds, 1),
        "start_margin_ms": _ms(margin),
        **measured,
        **peaks,
        "ok": finished and as_expected and margin >= 0,
    }


def prepare(app: App, plan: Plan) -> Prepared:
    """The workflow, the contacts and the runs waiting on its delay, due ``PARKED`` ahead.

    Run ids follow due times, as when runs entered one fixed delay one after the other
    (``shuffled``: in random order, as after delays of many lengths, or dates); each run's
    contact is drawn at random (contacts do not enter in the order they were created).
    """
    began = time.perf_counter()
    app.apply_workflow(WORKFLOW)
    now = app.clock.now()
    parked = (now + PARKED).replace(microsecond=0)
    with transaction(app.engine) as connection:
        versions = connection.execute(
            sa.select(workflows.c.id, workflows.c.current_version_id).where(
                workflows.c.key == WORKFLOW["key"]
            )
        ).one()  # (workflow id, version id)
    count, rng = plan.runs, random.Random(plan.seed)
    contact_ids = insert_contacts(app, count, now)
    rng.shuffle(contact_ids)
    width = round(plan.spread * 1_000_000)
    offsets = array("q", (rng.randrange(width) for _ in range(count)))
    if not plan.shuffled:
        offsets = array("q", sorted(offsets))
    run_ids: array[int] = array("q")
    reason = "wait 1 minutes (until the due time the timer benchmark set)"
    past_delay = ("waiting", "woken", 1)  # status, step id, seq
    for begin in range(0, count, CHUNK):
        chunk = range(begin, min(begin + CHUNK, count))
        with transaction(app.engine) as connection:
            bulk = Bulk(connection)
            at, empty = bulk.time(now), bulk.json({})
            ids = bulk.allocate_ids(runs, len(chunk))
            dues = [bulk.time(parked + offsets[i] * _US) for i in chunk]
            rows = [
                (r, *versions, contact_ids[i], *past_delay, due, None, None, empty, at, at)
                for r, i, due in zip(ids, chunk, dues, strict=True)
            ]
            bulk.insert(runs, RUN_COLUMNS, rows)
            bulk.insert(
                run_log,
                LOG_COLUMNS,
                [(r, 1, "wait", "delay", "waiting", "next", reason, at) for r in ids],
            )
        run_ids.extend(ids)
    if any(a >= b for a, b in itertools.pairwise(run_ids)):
        raise RuntimeError("run ids were not allocated in ascending order")
    return Prepared(
        run_ids=run_ids, offsets=offsets, parked=parked, seconds=time.perf_counter() - began
    )


def insert_contacts(app: App, count: int, now: dt.datetime) -> array[int]:
    """Plain contacts (an email each), straight into the table in bulk: setting up is not
    what this benchmark measures."""
    contact_ids: array[int] = array("q")
    for begin in range(0, count, CHUNK):
        chunk = range(begin, min(begin + CHUNK, count))
        with transaction(app.engine) as connection:
            bulk = Bulk(connection)
            at, empty = bulk.time(now), bulk.json({})
            ids = bulk.allocate_ids(contacts, len(chunk))
            bulk.insert(
                contacts,
                ("id", "email", "attributes", "created_at", "modified_at"),
                [
                    (c, f"timer{i:07d}@example.com", empty, at, at)
                    for c, i in zip(ids, chunk, strict=True)
                ],
            )
        contact_ids.extend(ids)
    return contact_ids


def arm(app: App, prepared: Prepared) -> tuple[dt.datetime, float]:
    """Move every due time from ``parked + offset`` to ``start + offset``, ``start`` just
    ahead of now; returns ``start`` and how long the move took.

    A first move by one day (the runs stay weeks away from due) tells how long the real one
    will take, so that ``start`` comes after it, but not long after."""
    rehearsal = _move_due_times(app, REHEARSAL_SECONDS)
    lead = max(ARM_LEAD_MIN_SECONDS, ARM_LEAD_FACTOR * rehearsal)
    base = prepared.parked - dt.timedelta(seconds=REHEARSAL_SECONDS)
    back = math.floor((base - app.clock.now()).total_seconds() - lead)
    return base - dt.timedelta(seconds=back), _move_due_times(app, back)


def _move_due_times(app: App, back: int) -> float:
    """Every due time ``back`` seconds earlier (whole seconds: SQLite's text keeps its
    microseconds); how long that took."""
    began = time.perf_counter()
    with transaction(app.engine) as connection:
        if connection.dialect.name == "sqlite":
            connection.exec_driver_sql(
                "UPDATE runs SET due_at = strftime('%Y-%m-%d %H:%M:%S', substr(due_at, 1, 19), ?)"
                " || substr(due_at, 20) WHERE due_at IS NOT NULL",
                (f"-{back} seconds",),
            )
        else:
            connection.exec_driver_sql(
                "UPDATE runs SET due_at = due_at - make_interval(secs => %s)"
                " WHERE due_at IS NOT NULL",
                (back,),
            )
    return time.perf_counter() - began


async def drive(app: App, plan: Plan) -> bool:
    """The engine until no run is left waiting (True), or until it seems stuck (False)."""
    engine = asyncio.create_task(
        run_engine(app, None, batch_size=plan.batch_size, workers=plan.workers, until_idle=False)
    )
    deadline = time.monotonic() + plan.spread + max(600.0, plan.runs / MIN_RATE)
    try:
        while time.monotonic() < deadline:
            await asyncio.sleep(POLL_SECONDS)
            if engine.done():
                engine.result()
                raise RuntimeError("the engine stopped before every run was woken")
            if remaining(app) == 0:
                return True
        return False
    finally:
        engine.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await engine


def remaining(app: App) -> int:
    """Runs still waiting or held by a worker (finished runs have no due time)."""
    statement = sa.select(sa.func.count()).select_from(runs).where(runs.c.due_at.is_not(None))
    with read_transaction(app.engine) as connection:
        return int(connection.execute(statement).scalar_one())


def measure(app: App, prepared: Prepared, start: dt.datetime) -> dict[str, Any]:
    """Each run's lateness; checks that each was moved once by the engine, to completion."""
    late: array[int] = array("q")
    wrong = 0
    last = 0
    statement = sa.select(runs.c.id, runs.c.status, runs.c.seq, runs.c.updated_at).order_by(
        runs.c.id
    )
    with read_transaction(app.engine) as connection:
        rows = connection.execution_options(yield_per=CHUNK).execute(statement)
        for index, (run_id, status, seq, updated_at) in enumerate(rows):
            if run_id != prepared.run_ids[index] or status != "completed" or seq != 2:
                wrong += 1
            moved = (updated_at - start) // _US
            last = max(last, moved)
            late.append(moved - prepared.offsets[index])
        woken = connection.execute(sa.select(sa.func.count()).select_from(list_members)).scalar()
        logged = connection.execute(sa.select(sa.func.count()).select_from(run_log)).scalar()
    count = len(prepared.run_ids)
    ordered = sorted(late)
    first_due = min(prepared.offsets)
    return {
        "lateness_p50_ms": _ms(_percentile(ordered, 0.50)),
        "lateness_p99_ms": _ms(_percentile(ordered, 0.99)),
        "lateness_max_ms": _ms(ordered[-1]),
        "lateness_min_ms": _ms(ordered[0]),
        "runs_per_second": round(count / max((last - first_due) / 1e6, 1e-6), 1),
        "seconds_first_due_to_last_moved": round((last - first_due) / 1e6, 3),
        "runs_wrong": wrong,
        "woken": woken,
        "as_expected": wrong == 0
        and len(late) == count
        and ordered[0] >= 0
        and woken == count
        and logged == 2 * count,
    }


def _percentile(ordered: list[int], q: float) -> int:
    """Nearest rank."""
    return ordered[max(math.ceil(q * len(ordered)) - 1, 0)]


def _ms(micros: int) -> float:
    return round(micros / 1000, 1)


def one_line(result: dict[str, Any]) -> str:
    """The result as ``python -m bench`` prints it."""
    name = {"sqlite": "SQLite", "postgres": "PostgreSQL"}.get(result["backend"], result["backend"])
    if result.get("lateness_p50_ms") is None:
        return f"timers, {name}: FAILED ({result.get('error', 'no result')})"
    return (
        f"timers, {name}, {result['runs']:,} runs due over {result['spread_seconds']:g} s: "
        f"lateness p50 {result['lateness_p50_ms']:,.0f} ms, p99 {result['lateness_p99_ms']:,.0f} "
        f"ms, max {result['lateness_max_ms']:,.0f} ms, {result['runs_per_second']:,.0f} runs/s, "
        f"peak RSS {result['peak_rss_mb']:,.0f} MB, {'ok' if result['ok'] else 'NOT OK'}"
    )


def run_in_subprocess(backend: str, count: int, postgres_url: str) -> dict[str, Any]:
    """This benchmark in its own process (so that its peak RSS is its own)."""
    return child.run_json(
        "bench.timers",
        "--json",
        *("--backend", backend),
        *("--runs", str(count)),
        *("--postgres-url", postgres_url),
        failed={"backend": backend, "workload": "timers", "runs": count},
    )


if __name__ == "__main__":
    sys.exit(main())
