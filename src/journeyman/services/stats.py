"""What the runs of a workflow did on each step, counted from the records the engine writes
(``store.reports.workflow_stats_txn``). Read transactions only."""

from __future__ import annotations

from dataclasses import dataclass

from journeyman.services.context import Context
from journeyman.store import read_transaction, reports
from journeyman.store import workflows as workflow_store
from journeyman.store.reports import StepStats, WorkflowStats
from journeyman.workflow.document import parse_workflow

__all__ = ["Found", "StepStats", "WorkflowStats", "of_workflow"]


@dataclass(frozen=True, kw_only=True)
class Found:
    version: int | None  # the current version (None: the workflow has none)
    stats: WorkflowStats


def of_workflow(context: Context, key: str) -> Found:
    """Per step of workflow ``key`` (NotFound for an unknown key), the current version's
    steps first, and its runs by status."""
    with read_transaction(context.engine) as connection:
        workflow_id = reports.workflow_id_txn(connection, key)
        document = workflow_store.current_definition_txn(connection, key)
        version = next(
            (v["version"] for v in workflow_store.versions_txn(connection, key) if v["current"]),
            None,
        )
        steps = parse_workflow(document, stored=True).steps.values() if document else []
        kinds = {s.id: s.kind for s in steps}
        return Found(
            version=version, stats=reports.workflow_stats_txn(connection, workflow_id, kinds)
        )
