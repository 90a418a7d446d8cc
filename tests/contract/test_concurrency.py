"""Several engines on one PostgreSQL database (PostgreSQL only: SQLite has a single writer).

Two Steppers, each with its own App (engine and connection pool, as two worker processes
would have), tick at the same time from two threads until nothing is left.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
import sqlalchemy as sa

from journeyman import App, EventInput, FakeClock, Settings
from journeyman.engine.stepper import TickReport

from .support import coupon_document, members, rows, workflow

pytestmark = pytest.mark.postgres


def nothing_left(app: App) -> bool:
    with app.engine.connect() as connection:
        queued = connection.execute(sa.text("SELECT count(*) FROM event_queue")).scalar_one()
        due = connection.execute(
            sa.text("SELECT count(*) FROM runs WHERE due_at <= :now"), {"now": app.clock.now()}
        ).scalar_one()
    return bool(queued == 0 and due == 0)


def run_concurrently(
    url: str, clock: FakeClock, workers: int, batch_size: int, *, sharded: bool = False
) -> list[list[TickReport]]:
    apps = [App.open(Settings(database_url=url), clock=clock) for _ in range(workers)]
    start = threading.Barrier(workers)

    def work(index: int) -> list[TickReport]:
        app = apps[index]
        shard = (index, workers) if sharded else (0, 1)
        stepper = app.stepper(batch_size=batch_size, shard=shard)
        reports = []
        start.wait()
        for _ in range(10_000):
            report = stepper.tick()
            reports.append(report)
            if report.idle and nothing_left(app):
                return reports
        raise AssertionError("still busy after 10,000 ticks")

    try:
        with ThreadPoolExecutor(workers) as pool:
            return list(pool.map(work, range(workers)))
    finally:
        for app in apps:
            app.close()


def worked(reports: list[TickReport]) -> int:
    return sum(r.events for r in reports)


@pytest.fixture
def prepared(pg_db_url: str, clock: FakeClock) -> Iterator[Callable[[dict[str, object]], App]]:
    apps: list[App] = []

    def prepare(document: dict[str, object]) -> App:
        app = App.open(Settings(database_url=pg_db_url), clock=clock)
        apps.append(app)
        app.apply_workflow(document)
        return app

    yield prepare
    for app in apps:
        app.close()


def test_two_steppers_process_every_run_exactly_once(
    prepared: Callable[[dict[str, object]], App], pg_db_url: str, clock: FakeClock
) -> None:
    app = prepared(coupon_document())
    emails = [f"c{i:04d}@example.com" for i in range(1500)]
    purchases = [EventInput(name="purchase", email=e) for e in emails]
    purchases += [EventInput(name="purchase", email=e) for e in emails[:500]]
    assert len(app.record_events(purchases).ids) == 2000

    reports = run_concurrently(pg_db_url, clock, workers=2, batch_size=50)

    assert all(worked(r) > 0 for r in reports), "one stepper did all the work"
    assert sum(worked(r) for r in reports) == 2000
    messages = rows(app, "messages")
    assert sorted(m["recipient"] for m in messages) == emails  # one email per contact
    assert members(app, "Loyal customers") == emails[:500]
    runs = rows(app, "runs")
    assert len(runs) == 2000
    assert {r["status"] for r in runs} == {"completed"}
    log = Counter((r["run_id"], r["seq"]) for r in rows(app, "run_log"))
    assert [key for key, n in log.items() if n > 1] == []  # no step executed twice
    assert Counter(seq for _, seq in log) == {1: 2000, 2: 2000}


@pytest.mark.parametrize("sharded", [True, False], ids=["sharded", "unsharded"])
def test_two_steppers_keep_reentry_once(
    prepared: Callable[[dict[str, object]], App], pg_db_url: str, clock: FakeClock, sharded: bool
) -> None:
    """Two events of one contact handled by two steppers at once still make one run.

    Unsharded is what two ``journeyman worker`` processes started on their own look like."""
    app = prepared(workflow({"id": "tag", "add_to_list": {"lists": "Tagged"}}, reentry="once"))
    emails = [f"c{i:03d}@example.com" for i in range(100)]
    app.record_events([EventInput(name="signup", email=e) for e in emails for _ in range(2)])

    reports = run_concurrently(pg_db_url, clock, workers=2, batch_size=1, sharded=sharded)

    assert all(worked(r) > 0 for r in reports)
    runs_per_contact = Counter(r["contact_id"] for r in rows(app, "runs"))
    assert [c for c, n in runs_per_contact.items() if n > 1] == []  # contacts that entered twice
    assert len(runs_per_contact) == 100
