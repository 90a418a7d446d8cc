"""Events of deleted contacts. Events have no foreign key to contacts (migration 0011): the
engine drops a queued event whose contact is gone, and on PostgreSQL a deletion and a
transaction storing events for the same contact wait for each other, so no event outlives
its contact."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from journeyman import App, EventInput
from journeyman.config import Settings
from journeyman.store import contacts, events, tracking, transaction

from .support import (
    contact_id,
    count,
    email_step,
    execute,
    members,
    rows,
    tick_until_idle,
    workflow,
)

JANE, MAX = "jane@example.com", "max@example.com"


def test_a_queued_event_whose_contact_is_gone_is_dropped_with_its_event(app: App) -> None:
    app.apply_workflow(
        workflow({"id": "tag", "add_to_list": {"lists": "Buyers"}}, event="purchase")
    )
    app.record_events([EventInput(name="purchase", email=JANE)])
    app.record_events([EventInput(name="purchase", email=MAX)])
    gone = contact_id(app, JANE)
    execute(app, "DELETE FROM contacts WHERE id = :id", id=gone)  # as a deletion racing it would

    tick_until_idle(app)

    assert count(app, "event_queue") == 0
    assert [r["contact_id"] for r in rows(app, "events")] == [contact_id(app, MAX)]
    assert [r["contact_id"] for r in rows(app, "runs")] == [contact_id(app, MAX)]
    assert members(app, "Buyers") == [MAX]


def test_deleting_a_contact_deletes_its_events(app: App) -> None:
    app.record_events([EventInput(name="purchase", email=JANE), EventInput(name="x", email=MAX)])
    jane = contact_id(app, JANE)
    with transaction(app.engine) as connection:
        contacts.delete_contact_txn(connection, jane)
    assert [r["name"] for r in rows(app, "events")] == ["x"]
    assert count(app, "event_queue") == 1


def _in_thread(work: object) -> tuple[threading.Thread, list[object]]:
    done: list[object] = []

    def run() -> None:
        try:
            done.append(work())  # type: ignore[operator]
        except Exception as exc:  # the test reads it
            done.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, done


def _waits(thread: threading.Thread) -> bool:
    thread.join(0.5)
    return thread.is_alive()


@pytest.fixture
def pg_app(pg_db_url: str) -> Iterator[App]:
    """An app on PostgreSQL (real time: the tests wait for row locks) with JANE stored."""
    app = App.open(Settings(database_url=pg_db_url))
    try:
        app.record_events([EventInput(name="signup", email=JANE)])
        yield app
    finally:
        app.close()


@pytest.mark.postgres
def test_a_deletion_waits_for_a_writer_storing_events_then_deletes_them(pg_app: App) -> None:
    app, jane = pg_app, contact_id(pg_app, JANE)
    now = app.clock.now()
    with transaction(app.engine) as writer:
        ids = contacts.ensure_contacts_txn(writer, [JANE], now)
        assert ids == {JANE: jane}
        events.record_events_txn(
            writer, [events.NewEvent(name="purchase", contact_id=jane, occurred_at=now)], now
        )

        def delete() -> None:
            with transaction(app.engine) as connection:
                contacts.delete_contact_txn(connection, jane)

        deletion, done = _in_thread(delete)
        assert _waits(deletion), "the deletion did not wait for the writer"
    deletion.join(10)
    assert done == [None]
    assert count(app, "contacts") == 0
    assert count(app, "events") == 0 and count(app, "event_queue") == 0


@pytest.mark.postgres
def test_a_writer_waits_for_a_deletion_then_creates_the_contact_anew(pg_app: App) -> None:
    app, jane = pg_app, contact_id(pg_app, JANE)
    now = app.clock.now()
    with transaction(app.engine) as deleting:
        contacts.delete_contact_txn(deleting, jane)

        def store() -> dict[str, int]:
            with transaction(app.engine) as writer:
                return contacts.ensure_contacts_txn(writer, [JANE], now)

        writer, done = _in_thread(store)
        assert _waits(writer), "the writer did not wait for the deletion"
    writer.join(10)
    (found,) = done
    assert isinstance(found, dict) and found[JANE] != jane
    with app.engine.connect() as connection:
        ids = connection.execute(sa.text("SELECT id FROM contacts")).scalars().all()
    assert ids == [found[JANE]]


def test_ids_of_a_deleted_contact_are_not_given_to_the_next_one(app: App) -> None:
    """The newest contact deleted: the next one gets new ids (contact, run, so its message's
    key too) and its email, and the old email's links name nobody."""
    app.apply_workflow(workflow(email_step()))
    app.record_events([EventInput(name="signup", email=JANE)])
    tick_until_idle(app)
    app.record_events([EventInput(name="signup", email=JANE)])  # refused: she is inside
    tick_until_idle(app)
    jane = contact_id(app, JANE)
    assert count(app, "entry_refusals", contact_id=jane) == 1
    (jane_run,) = [r["id"] for r in rows(app, "runs")]
    with transaction(app.engine) as connection:
        contacts.delete_contact_txn(connection, jane)

    app.record_events([EventInput(name="signup", email=MAX)])
    tick_until_idle(app)

    assert contact_id(app, MAX) > jane
    (max_run,) = [r["id"] for r in rows(app, "runs")]
    assert max_run > jane_run
    assert [m["recipient"] for m in rows(app, "messages")] == [JANE, MAX]
    assert count(app, "entry_refusals", contact_id=jane) == 0
    with transaction(app.engine) as connection:  # what Jane's old open pixel would name
        assert tracking.tracked_message_txn(connection, jane, f"{jane_run}:mail:0") is None
