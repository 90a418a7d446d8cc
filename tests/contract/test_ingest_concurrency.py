"""Two writers creating the same new contact at once (PostgreSQL only: on SQLite a write
transaction holds the database's one write lock from its start, so they cannot overlap).

Events for an unknown email create the contact. When two transactions do that for the same
email, the second waits for the first and then uses the contact it created: no unique
violation, one contact, one ``contact_created``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
import sqlalchemy as sa

from journeyman import App, EventInput, FakeClock, Settings
from journeyman.store import transaction
from journeyman.store.contacts import ensure_contacts_txn

from .support import count, rows

pytestmark = pytest.mark.postgres

RACED = "race@example.com"
LISTENS_TO_CREATION = {
    "key": "welcome",
    "name": "Welcome",
    "entry_points": [{"contact_created": {}}],
    "steps": [{"id": "tag", "add_to_list": {"lists": "welcome"}}],
}


@pytest.fixture
def app(pg_db_url: str, clock: FakeClock) -> Iterator[App]:
    application = App.open(Settings(database_url=pg_db_url), clock=clock)
    application.apply_workflow(LISTENS_TO_CREATION)
    try:
        yield application
    finally:
        application.close()


def wait_until_blocked(app: App) -> None:
    """Until another session of this database waits for a lock (the second insert)."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with app.engine.connect() as connection:
            waiting = connection.execute(
                sa.text(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                    "AND wait_event_type = 'Lock'"
                )
            ).scalar_one()
        if waiting:
            return
        time.sleep(0.02)
    raise AssertionError("the second transaction never waited for the first")


def race(app: App, *, first_commits: bool) -> tuple[dict[str, int], dict[str, int]]:
    """The first transaction creates RACED and holds on; the second asks for RACED too and
    waits; then the first commits (or rolls back). Both transactions' ids."""
    now = app.clock.now()
    with app.engine.connect() as first, ThreadPoolExecutor(1) as pool:
        outer = first.begin()
        first_ids = ensure_contacts_txn(first, [RACED, "first@example.com"], now)

        def second() -> dict[str, int]:
            with transaction(app.engine) as connection:
                return ensure_contacts_txn(connection, [RACED, "second@example.com"], now)

        second_ids = pool.submit(second)
        wait_until_blocked(app)
        if first_commits:
            outer.commit()
        else:
            outer.rollback()
        return first_ids, second_ids.result(timeout=30)


def test_the_second_writer_uses_the_contact_the_first_created(app: App) -> None:
    first, second = race(app, first_commits=True)

    assert second[RACED] == first[RACED]
    (contact,) = rows(app, "contacts", email=RACED)
    assert contact["id"] == first[RACED]
    created = rows(app, "events", "id", name="contact_created")
    assert sorted(e["contact_id"] for e in created) == sorted(
        [first[RACED], first["first@example.com"], second["second@example.com"]]
    )


def test_the_second_writer_creates_the_contact_when_the_first_rolls_back(app: App) -> None:
    first, second = race(app, first_commits=False)

    (contact,) = rows(app, "contacts", email=RACED)
    assert contact["id"] == second[RACED] != first[RACED]
    assert count(app, "contacts", email="first@example.com") == 0
    created = rows(app, "events", "id", name="contact_created")
    assert sorted(e["contact_id"] for e in created) == sorted(
        [second[RACED], second["second@example.com"]]
    )


def test_concurrent_batches_for_the_same_new_contacts_all_succeed(
    pg_db_url: str, clock: FakeClock
) -> None:
    """Two Apps (two pools, as two servers would have) send events for overlapping sets of
    new emails at the same time, round after round."""
    apps = [App.open(Settings(database_url=pg_db_url), clock=clock) for _ in range(2)]
    apps[0].apply_workflow(LISTENS_TO_CREATION)
    start = threading.Barrier(2)
    rounds, size = 20, 50

    def send(index: int) -> int:
        stored = 0
        start.wait()
        for n in range(rounds):
            emails = [f"c{n}-{(i + index * 25) % 75}@example.com" for i in range(size)]
            report = apps[index].record_events([EventInput(name="seen", email=e) for e in emails])
            stored += len(report.ids)
        return stored

    try:
        with ThreadPoolExecutor(2) as pool:
            stored = sum(pool.map(send, range(2)))
        app = apps[0]
        assert stored == count(app, "events", name="seen") == 2 * rounds * size
        assert count(app, "contacts") == rounds * 75
        contact_ids = [e["contact_id"] for e in rows(app, "events", "id", name="contact_created")]
        assert sorted(contact_ids) == sorted(r["id"] for r in rows(app, "contacts"))
    finally:
        for app in apps:
            app.close()
