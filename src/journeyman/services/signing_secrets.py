"""The database's signing secrets: rotated, and their history (never their values)."""

from __future__ import annotations

import datetime as dt

from journeyman.services.context import Context
from journeyman.store import read_transaction, write
from journeyman.store import signing_secrets as store
from journeyman.store.signing_secrets import StoredSecret

__all__ = ["StoredSecret", "history", "rotate"]


def rotate(context: Context, grace: dt.timedelta) -> StoredSecret:
    """A new signing secret; the previous ones verify for ``grace`` at most
    (journeyman.signing). This process signs with the new one at once."""
    now = context.clock.now()
    # Two rotations at once: the loser runs again (write), on top of the winner's.
    rotated = write(context.engine, lambda c: store.rotate_txn(c, now, grace))
    context.keys.refresh()
    return rotated


def history(context: Context) -> list[StoredSecret]:
    """Every generation, newest first."""
    with read_transaction(context.engine) as connection:
        return store.history_txn(connection)
