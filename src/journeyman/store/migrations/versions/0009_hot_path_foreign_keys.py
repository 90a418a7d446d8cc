"""hot path without foreign keys to append-only parents: runs to workflows and versions,
the event queue to events

Each foreign key costs PostgreSQL a row lookup and a row lock (``FOR KEY SHARE``) per
inserted row: three of them per event, the rows of tables that never lose a row (workflows
and their versions are never deleted) or whose rows the code removes itself (a deleted
contact's queue entries; the engine skips an entry whose event is gone).

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("event_queue", schema=None) as batch_op:
        batch_op.drop_constraint("fk_event_queue_event_id_events", type_="foreignkey")
    with op.batch_alter_table("runs", schema=None) as batch_op:
        batch_op.drop_constraint("fk_runs_workflow_id_workflows", type_="foreignkey")
        batch_op.drop_constraint("fk_runs_version_id_workflow_versions", type_="foreignkey")


def downgrade() -> None:
    with op.batch_alter_table("runs", schema=None) as batch_op:
        batch_op.create_foreign_key(
            "fk_runs_version_id_workflow_versions", "workflow_versions", ["version_id"], ["id"]
        )
        batch_op.create_foreign_key(
            "fk_runs_workflow_id_workflows", "workflows", ["workflow_id"], ["id"]
        )
    with op.batch_alter_table("event_queue", schema=None) as batch_op:
        batch_op.create_foreign_key(
            "fk_event_queue_event_id_events", "events", ["event_id"], ["id"], ondelete="CASCADE"
        )
