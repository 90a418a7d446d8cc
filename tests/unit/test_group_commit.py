"""``EventWriter`` (group commit) on a real database: concurrent submissions go into one
transaction, refusals reach the submission they belong to, and a group whose transaction
fails is stored again one submission at a time, so that only the one at fault fails."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence
from typing import Any

import pytest
import sqlalchemy as sa

from journeyman import App
from journeyman.api.group_commit import EventWriter
from journeyman.errors import StoreError
from journeyman.services.events import EventInput, Submission
from journeyman.store import read_transaction
from journeyman.store.contacts import ContactInput
from journeyman.store.schema import contacts, events


def stored(app: App) -> list[tuple[str, str]]:
    """(email, event name) of every stored event."""
    statement = sa.select(contacts.c.email, events.c.name).join(
        contacts, contacts.c.id == events.c.contact_id
    )
    with read_transaction(app.engine) as connection:
        return sorted((r[0], r[1]) for r in connection.execute(statement))


def event(email: str, name: str = "signed_up") -> EventInput:
    return EventInput(name=name, email=email, source="api")


async def record_all(writer: EventWriter, submissions: list[Submission]) -> list[object]:
    try:
        return await asyncio.gather(
            *(writer.record(s) for s in submissions), return_exceptions=True
        )
    finally:
        await writer.close()


def test_concurrent_submissions_share_one_transaction_and_keep_their_refusals(app: App) -> None:
    writer = EventWriter(app)
    submissions = [
        Submission(events=[event("a@example.com")]),
        Submission(events=[event("b@example.com"), event("b@example.com", "bad name")]),
        Submission(events=[event("c@example.com", "also bad!")]),
        Submission(events=[event("d@example.com")]),
    ]

    answers = asyncio.run(record_all(writer, submissions))

    assert writer.commits == 1
    assert answers[0] == []
    assert answers[3] == []
    assert [index for index, _ in answers[1]] == [1]  # type: ignore[attr-defined]
    assert "'bad name' is invalid" in answers[1][0][1]  # type: ignore[index]
    assert [index for index, _ in answers[2]] == [0]  # type: ignore[attr-defined]
    assert stored(app) == [
        ("a@example.com", "signed_up"),
        ("b@example.com", "signed_up"),
        ("d@example.com", "signed_up"),
    ]


def test_a_failing_group_is_stored_one_submission_at_a_time(app: App) -> None:
    """Two new contacts claiming one ext_id pass every check made before storing (neither
    exists yet) and meet in the group's transaction, which fails on the unique ext_id."""
    writer = EventWriter(app)
    submissions = [
        Submission(
            events=[event("first@example.com")],
            contacts=[ContactInput(email="first@example.com", ext_id="crm-1")],
        ),
        Submission(events=[event("bystander@example.com")]),
        Submission(
            events=[event("second@example.com")],
            contacts=[ContactInput(email="second@example.com", ext_id="crm-1")],
        ),
    ]

    answers = asyncio.run(record_all(writer, submissions))

    assert answers[:2] == [[], []]
    assert isinstance(answers[2], StoreError)
    assert writer.commits == 2  # the group's transaction failed; two of three alone committed
    assert stored(app) == [
        ("bystander@example.com", "signed_up"),
        ("first@example.com", "signed_up"),
    ]


def test_a_large_queue_is_split_into_bounded_transactions(
    app: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("journeyman.api.group_commit.MAX_EVENTS_PER_COMMIT", 3)
    writer = EventWriter(app)
    submissions = [Submission(events=[event(f"n{i}@example.com")] * 2) for i in range(5)]

    answers = asyncio.run(record_all(writer, submissions))

    assert answers == [[]] * 5
    assert writer.commits == 5  # 2 events each: a second one would pass 3
    assert len(stored(app)) == 10


def test_two_writers_commit_side_by_side(app: App, monkeypatch: pytest.MonkeyPatch) -> None:
    """With ``writers=2`` a submission arriving while a transaction is in progress goes into
    a second one at once (given enough events: here one): each transaction waits at a
    barrier for the other, which only two writers at a time can pass (one writer would leave
    the first waiting until the timeout)."""
    both = threading.Barrier(2, timeout=10)
    record_events = app.record_events

    def meeting(*args: Any, **kwargs: Any) -> Any:
        both.wait()
        return record_events(*args, **kwargs)

    monkeypatch.setattr(app, "record_events", meeting)
    monkeypatch.setattr("journeyman.api.group_commit.SECOND_WRITER_EVENTS", 1)
    writer = EventWriter(app, writers=2)

    async def one_after_the_other() -> Sequence[object]:
        first = asyncio.ensure_future(writer.record(Submission(events=[event("x@example.com")])))
        await asyncio.sleep(0.2)  # the first transaction is under way (at the barrier)
        second = writer.record(Submission(events=[event("y@example.com")]))
        try:
            return await asyncio.gather(first, second, return_exceptions=True)
        finally:
            await writer.close()

    answers = asyncio.run(one_after_the_other())

    assert answers == [[], []]
    assert writer.commits == 2
    assert stored(app) == [("x@example.com", "signed_up"), ("y@example.com", "signed_up")]
