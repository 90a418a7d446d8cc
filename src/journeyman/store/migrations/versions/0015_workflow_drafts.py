"""workflow drafts: what the builder saved and has not published yet

A draft is a workflow document kept as the builder sent it, complete or not, under a key of
its own; publishing applies it as a new version and deletes it.

Revision ID: 0015
Revises: 0014
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "workflow_drafts",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column(
            "document", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False
        ),
        sa.Column("based_on_version", sa.Integer(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_workflow_drafts")),
    )


def downgrade() -> None:
    op.drop_table("workflow_drafts")
