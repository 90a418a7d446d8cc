"""signing secrets kept in the database; api key scopes and a revocation counter

Tokens were signed with JOURNEYMAN_SECRET or, without it, a value written in the source
code. Each database now has secrets of its own (generated on first use, rotated with a grace
period). API keys get a scope (``admin``, every existing key; ``tracker``, the browser
tracker's public key) and one counter that every revocation raises.

Revision ID: 0013
Revises: 0012
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "signing_secrets",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.Column("value", sa.String(length=128), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("retired_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("verifies_until", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_signing_secrets")),
        sa.UniqueConstraint("generation", name=op.f("uq_signing_secrets_generation")),
    )
    op.create_table(
        "api_key_revision",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("revision", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_key_revision")),
    )
    with op.batch_alter_table("api_keys") as batch:
        batch.add_column(
            sa.Column("scope", sa.String(length=16), nullable=False, server_default="admin")
        )


def downgrade() -> None:
    with op.batch_alter_table("api_keys") as batch:
        batch.drop_column("scope")
    op.drop_table("api_key_revision")
    op.drop_table("signing_secrets")
