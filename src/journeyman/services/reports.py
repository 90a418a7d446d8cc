"""Reports: conversions and revenue per workflow (and step), per currency. Read
transactions only."""

from __future__ import annotations

import datetime as dt
from typing import Any

from journeyman.services.context import Context
from journeyman.store import conversions as conversion_store
from journeyman.store import read_transaction

Rows = list[dict[str, Any]]


def conversions(
    context: Context,
    *,
    by_step: bool,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
) -> Rows:
    """Count and revenue per workflow (and step), per currency, recorded in
    ``[since, until)`` when given."""
    with read_transaction(context.engine) as connection:
        return conversion_store.report_txn(connection, by_step=by_step, since=since, until=until)


def conversions_per_workflow_and_step(
    context: Context, *, since: dt.datetime | None = None, until: dt.datetime | None = None
) -> tuple[Rows, Rows]:
    """Per workflow and per step (as :func:`conversions`), from one snapshot."""
    with read_transaction(context.engine) as connection:
        return (
            conversion_store.report_txn(connection, by_step=False, since=since, until=until),
            conversion_store.report_txn(connection, by_step=True, since=since, until=until),
        )
