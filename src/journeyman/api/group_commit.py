"""Group commit: the events of concurrent requests stored by one writer, in one transaction.

One transaction per request made single-event ingestion cost a commit each and, on SQLite,
had up to 40 request threads queue for the one write lock (SQLite's busy handler sleeps
between attempts). Instead each request hands its prepared events to :class:`EventWriter`
and waits; the writer takes everything waiting, stores it with one
``services.events.record_together`` (contacts first, then events) in its own thread, and
answers each request when that transaction has committed: a 204 still means "stored". While
it commits, new requests queue for the next transaction, so the batches grow with the load
and cost nothing when idle.

On PostgreSQL two writers commit side by side (``writers=2``): while one waits for the
database, the other prepares its rows, and the server's backends work in parallel. Requests
in flight together have no order between them, so neither do their transactions; a request
sent after another was answered is stored after it. Two writers creating the same new
contacts wait for each other or deadlock; ``store.write`` runs the loser again. SQLite has
one write lock: one writer.

A request's events are refused for its own reasons only: the events the service rejects
are reported to the request they came from, and a transaction that fails as a whole
(a contact change refused by the store, say) is retried one request at a time, so that only
the request at fault gets the error.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from journeyman.app import App
from journeyman.services import events
from journeyman.services.events import Submission

# Events in one transaction at most: a bound on how long one commit holds the write lock
# (the engine needs it too). A request is never split; a batch request alone may pass this.
MAX_EVENTS_PER_COMMIT = 5000
# A second writer starts only for this many waiting events: fewer (single events) wait for
# the busy one and join its next, larger, transaction (one commit for more of them).
SECOND_WRITER_EVENTS = 200


@dataclass(kw_only=True)
class _Waiting:
    submission: Submission
    answer: asyncio.Future[list[tuple[int, str]]]
    size: int = field(init=False)

    def __post_init__(self) -> None:
        self.size = len(self.submission.events)


class EventWriter:
    """The writer of API events for a server (``writers`` transactions at a time); create
    it in the server's event loop."""

    def __init__(self, app: App, *, writers: int = 1) -> None:
        self._app = app
        self._waiting: list[_Waiting] = []
        self._wake = asyncio.Event()
        self._writers = writers
        self._busy = 0  # transactions in progress
        self._threads = ThreadPoolExecutor(max_workers=writers, thread_name_prefix="event-writer")
        self._task: asyncio.Task[None] | None = None
        self._committing: set[asyncio.Task[None]] = set()
        self._count = threading.Lock()
        self.commits = 0  # transactions committed (for tests and the benchmark)

    async def record(self, submission: Submission) -> list[tuple[int, str]]:
        """Store the submission's events once they are committed: (index, reason) of the
        refused ones; raises what storing this request alone raised."""
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="journeyman-event-writer")
        answer: asyncio.Future[list[tuple[int, str]]] = asyncio.get_running_loop().create_future()
        self._waiting.append(_Waiting(submission=submission, answer=answer))
        self._wake.set()
        return await answer

    async def close(self) -> None:
        """Stop the writer after the transactions in progress (their requests are answered);
        fail requests still waiting."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._committing:
            await asyncio.wait(self._committing)
        for waiting in self._waiting:
            if not waiting.answer.done():
                waiting.answer.set_exception(RuntimeError("the server is stopping"))
        self._waiting.clear()
        self._threads.shutdown(wait=True)

    async def _run(self) -> None:
        while True:
            await self._wake.wait()  # a request arrived, or a transaction ended
            self._wake.clear()
            while self._waiting and self._may_start():
                self._busy += 1
                task = asyncio.create_task(self._commit(self._take()))
                self._committing.add(task)
                task.add_done_callback(self._committing.discard)

    def _may_start(self) -> bool:
        if self._busy == 0:
            return True
        return (
            self._busy < self._writers
            and sum(w.size for w in self._waiting) >= SECOND_WRITER_EVENTS
        )

    async def _commit(self, group: list[_Waiting]) -> None:
        outcomes: list[list[tuple[int, str]] | Exception]
        loop = asyncio.get_running_loop()
        try:
            outcomes = await loop.run_in_executor(self._threads, self._store, group)
        except Exception as exc:  # the pool shut down: _store returns its own failures
            outcomes = [exc] * len(group)
        finally:
            self._busy -= 1
            self._wake.set()
        self._app.note_events_stored()
        for waiting, outcome in zip(group, outcomes, strict=True):
            if waiting.answer.done():  # the client went away
                continue
            if isinstance(outcome, BaseException):
                waiting.answer.set_exception(outcome)
            else:
                waiting.answer.set_result(outcome)

    def _take(self) -> list[_Waiting]:
        """The oldest waiting requests, up to MAX_EVENTS_PER_COMMIT events (at least one)."""
        total = 0
        for count, waiting in enumerate(self._waiting):
            total += waiting.size
            if total > MAX_EVENTS_PER_COMMIT and count > 0:
                break
        else:
            count = len(self._waiting)
        group, self._waiting = self._waiting[:count], self._waiting[count:]
        return group

    def _store(self, group: list[_Waiting]) -> list[list[tuple[int, str]] | Exception]:
        """In the writer's thread: one transaction for the group, or one per request when
        the group's fails."""
        try:
            return self._store_together([w.submission for w in group])
        except Exception as exc:
            if len(group) == 1:
                return [exc]
        outcomes: list[list[tuple[int, str]] | Exception] = []
        for waiting in group:
            try:
                outcomes += self._store_together([waiting.submission])
            except Exception as exc:
                outcomes.append(exc)
        return outcomes

    def _store_together(
        self, submissions: list[Submission]
    ) -> list[list[tuple[int, str]] | Exception]:
        refused = events.record_together(self._app, submissions)
        with self._count:
            self.commits += 1
        return list(refused)
