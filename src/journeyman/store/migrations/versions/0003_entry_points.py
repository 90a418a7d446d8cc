"""entry points: anniversary marks, segment backfills

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28 00:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "anniversary_marks",
        sa.Column(
            "contact_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("attribute", sa.String(length=100), nullable=False),
        sa.Column("days_before", sa.Integer(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["contacts.id"],
            name=op.f("fk_anniversary_marks_contact_id_contacts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "contact_id", "attribute", "days_before", "due_on", name=op.f("pk_anniversary_marks")
        ),
    )
    op.create_table(
        "entry_backfills",
        sa.Column("workflow_id", sa.Integer(), nullable=False),
        sa.Column("after_contact_id", sa.BigInteger(), nullable=False),
        sa.Column("per_minute", sa.Integer(), nullable=False),
        sa.Column("next_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["workflow_id"],
            ["workflows.id"],
            name=op.f("fk_entry_backfills_workflow_id_workflows"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("workflow_id", name=op.f("pk_entry_backfills")),
    )


def downgrade() -> None:
    op.drop_table("entry_backfills")
    op.drop_table("anniversary_marks")
