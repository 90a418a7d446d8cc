"""The revocation revision (api/revocations.py) on both databases: a revocation committed
before a read begins is seen by it, also by requests that share one read on PostgreSQL."""

from __future__ import annotations

import asyncio

from journeyman.api.revocations import RevisionProbe
from journeyman.app import App
from journeyman.store import apikeys, transaction


def revoke_one(app: App, name: str) -> None:
    with transaction(app.engine) as connection:
        apikeys.create_key_txn(connection, name, app.clock.now(), scope=apikeys.TRACKER)
        apikeys.revoke_key_txn(connection, name)


def test_a_revocation_is_seen_by_the_next_read_in_the_loop_and_in_threads(app: App) -> None:
    probe = RevisionProbe(app.engine)

    async def scenario() -> tuple[int, int, list[int], int]:
        try:
            before = await probe.revision_after_now()
            revoke_one(app, "first")
            after = await probe.revision_after_now()
            revoke_one(app, "second")
            shared = await asyncio.gather(*(probe.revision_after_now() for _ in range(50)))
            return before, after, list(shared), await asyncio.to_thread(probe.revision)
        finally:
            await probe.aclose()

    before, after, shared, in_a_thread = asyncio.run(scenario())

    assert (before, after) == (0, 1)
    assert shared == [2] * 50
    assert in_a_thread == 2
