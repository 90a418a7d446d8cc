"""SQLite: ids of deleted contacts, lists and runs are never given out again

SQLite's rowid (and ``Bulk.allocate_ids``, which took ``max(id) + 1``) gave the newest
deleted row's id to the next one. A deleted contact's id then named another person in the
links of the emails kept in the outbox (an old open pixel recorded opens for them, an old
unsubscribe link blocklisted them), and a deleted run's id gave the next run the keys of the
deleted run's messages and CRM records, so the new run's email was taken for one already
written and never sent. ``AUTOINCREMENT`` keeps the highest id ever used (in
``sqlite_sequence``); SQLite cannot add it to a table, so the three tables are rebuilt.
Events are left as they are: no row that outlives a contact names its events, and
AUTOINCREMENT costs each inserted row a write of ``sqlite_sequence`` (0.4 µs; storing 500
events at a time, with their new contacts, became 8 % slower with it on both tables).

What was deleted before this upgrade is seeded where it left a trace: contact ids kept by
messages, CRM records, conversions and entry refusals; run ids in the keys of messages, CRM
records and conversions (``run:step:seq``). PostgreSQL's sequences never reuse an id:
nothing to do there.

Revision ID: 0012
Revises: 0011
"""

from __future__ import annotations

from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def _run_ids(table: str, column: str) -> str:
    """The run ids in a ``run:step:seq`` key column."""
    return (
        f"SELECT max(CAST(substr({column}, 1, instr({column}, ':') - 1) AS INTEGER)) "
        f"FROM {table} WHERE instr({column}, ':') > 1"
    )


# The highest id each table ever gave out, where the rows that are gone left a trace.
TRACES = {
    "contacts": [
        f"SELECT max(contact_id) FROM {t}"
        for t in ("messages", "deals", "tasks", "conversions", "entry_refusals")
    ],
    "lists": [],
    "runs": [
        _run_ids("messages", "idempotency_key"),
        *(_run_ids(t, "source_key") for t in ("deals", "tasks", "conversions")),
    ],
}


def upgrade() -> None:
    if op.get_context().dialect.name != "sqlite":
        return
    for table, traces in TRACES.items():
        with op.batch_alter_table(
            table, recreate="always", table_kwargs={"sqlite_autoincrement": True}
        ):
            pass
        highest = ", ".join(
            f"coalesce(({sql}), 0)" for sql in (f"SELECT max(id) FROM {table}", *traces)
        )
        op.execute(f"DELETE FROM sqlite_sequence WHERE name = '{table}'")
        op.execute(f"INSERT INTO sqlite_sequence (name, seq) SELECT '{table}', max({highest}, 0)")


def downgrade() -> None:
    if op.get_context().dialect.name != "sqlite":
        return
    for table in TRACES:
        with op.batch_alter_table(
            table, recreate="always", table_kwargs={"sqlite_autoincrement": False}
        ):
            pass
