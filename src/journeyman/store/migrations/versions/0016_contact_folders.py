"""contact folders: the folders Brevo's lists belong to

``lists.folder`` held the folder id a client gave as text, naming no folder. Folders are
rows now: the first one ("Your first folder", id 1) holds the lists created without one,
and every folder id the lists name becomes a folder of its own, so no list is left in a
folder that does not exist.

Revision ID: 0016
Revises: 0015
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

FIRST_FOLDER = "Your first folder"


def upgrade() -> None:
    folders = op.create_table(
        "contact_folders",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contact_folders")),
        sqlite_autoincrement=True,
    )
    connection = op.get_bind()
    named = connection.execute(sa.text("SELECT DISTINCT folder FROM lists")).scalars()
    ids = sorted({int(f) for f in named if f and f.isdigit() and 1 < int(f) < 2**31})
    rows = [{"id": 1, "name": FIRST_FOLDER}]
    rows += [{"id": i, "name": f"Folder {i}"} for i in ids]
    op.bulk_insert(folders, rows)
    if connection.dialect.name == "postgresql":
        # Ids given explicitly do not move the sequence on.
        connection.execute(
            sa.text(
                "SELECT setval(pg_get_serial_sequence('contact_folders', 'id'), "
                "(SELECT max(id) FROM contact_folders))"
            )
        )


def downgrade() -> None:
    op.drop_table("contact_folders")
