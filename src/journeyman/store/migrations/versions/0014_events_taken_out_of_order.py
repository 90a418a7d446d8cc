"""events: where the engine took an event that committed after a higher id (PostgreSQL)

A PostgreSQL transaction may commit an event after another one, of the same contact, that
drew a higher id and that the engine took in between. ``events.taken_as`` gives such an
event its place in the order the engine took events (history conditions count by it), and
``claim_marks`` keeps the highest place taken so far per shard of contacts.

Revision ID: 0014
Revises: 0013
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("events") as batch:
        batch.add_column(sa.Column("taken_as", _ID, nullable=True))
    op.create_table(
        "claim_marks",
        sa.Column("shard_count", sa.Integer(), nullable=False),
        sa.Column("shard_index", sa.Integer(), nullable=False),
        sa.Column("high", _ID, nullable=False),
        sa.PrimaryKeyConstraint("shard_count", "shard_index", name=op.f("pk_claim_marks")),
    )


def downgrade() -> None:
    op.drop_table("claim_marks")
    with op.batch_alter_table("events") as batch:
        batch.drop_column("taken_as")
