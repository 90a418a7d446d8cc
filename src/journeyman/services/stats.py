"""What the runs of a workflow did on each step, counted from the records the engine writes
(``store.reports.workflow_stats_txn``). Read transactions only."""

from __future__ import annotations

from dataclasses import dataclass

from journeyman.services.context import Context
from journeyman.store import (
    contacts,
    events,
    lists,
    outbox,
    read_transaction,
    reports,
    runs,
    step_reads,
)
from journeyman.store import workflows as workflow_store
from journeyman.store.reports import StepStats, WorkflowStats
from journeyman.workflow.document import parse_workflow

__all__ = ["Found", "StepStats", "WorkflowStats", "of_workflow"]


@dataclass(frozen=True, kw_only=True)
class Found:
    version: int | None  # the version counted, else the current one (None: none yet)
    stats: WorkflowStats


def of_workflow(context: Context, key: str, version: int | None = None) -> Found:
    """Per step of workflow ``key`` (NotFound for an unknown key or version) and its runs by
    status: of every run, the current version's steps first; or of the runs of ``version``,
    its steps first."""
    with read_transaction(context.engine) as connection:
        workflow_id = reports.workflow_id_txn(connection, key)
        version_id = None
        if version is None:
            document = workflow_store.current_definition_txn(connection, key)
            shown = next(
                (
                    v["version"]
                    for v in workflow_store.versions_txn(connection, key)
                    if v["current"]
                ),
                None,
            )
        else:
            version_id = step_reads.version_id_txn(connection, workflow_id, version)
            document = workflow_store.version_document_txn(connection, key, version)
            shown = version
        steps = parse_workflow(document, stored=True).steps.values() if document else []
        kinds = {s.id: s.kind for s in steps}
        return Found(
            version=shown,
            stats=reports.workflow_stats_txn(connection, workflow_id, kinds, version_id),
        )


@dataclass(frozen=True, kw_only=True)
class Totals:
    """Whole-database counts, as the demo reports them."""

    contacts: int
    events: int  # of the named event
    runs: dict[str, int]  # by status
    messages: dict[str, int]  # by status
    list_members: int  # of the named list
    contacts_emailed_more_than_once: int


def totals(context: Context, *, event: str, list_name: str) -> Totals:
    """Counts over the whole database, read in one snapshot."""
    with read_transaction(context.engine) as connection:
        return Totals(
            contacts=contacts.count_contacts_txn(connection),
            events=events.count_events_txn(connection, event),
            runs=runs.status_counts_txn(connection),
            messages=outbox.message_counts_txn(connection),
            list_members=lists.members_count_txn(connection, list_name),
            contacts_emailed_more_than_once=outbox.contacts_emailed_more_than_once_txn(connection),
        )
