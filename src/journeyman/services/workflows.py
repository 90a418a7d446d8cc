"""Workflows: apply and validate documents, move workflows through their lifecycle, move
runs between versions, list them, and the secret that signs their webhook calls.

Apply and validate check the same things the same way (the document, then the names its
steps use); validate does it in a read transaction and stores nothing. The versions (history,
documents, diffs, rollback) are in :mod:`journeyman.services.versions`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import Connection

from journeyman.engine import triggers
from journeyman.errors import InvalidInput, InvalidWorkflow
from journeyman.links import workflow_secret
from journeyman.services.context import Context
from journeyman.store import (
    contacts,
    crm,
    lists,
    read_transaction,
    reports,
    system_events,
    transaction,
    workflows,
)
from journeyman.store import runs as run_store
from journeyman.store.workflows import WorkflowStatus
from journeyman.workflow.document import Workflow, parse_workflow
from journeyman.workflow.references import KnownNames, lists_to_create, reference_problems

__all__ = [
    "ApplyReport",
    "Detail",
    "ValidationReport",
    "WorkflowStatus",
    "apply",
    "detail",
    "list_workflows",
    "migrate_runs",
    "set_status",
    "summaries",
    "validate",
    "webhook_secret",
]


@dataclass(frozen=True, kw_only=True)
class ApplyReport:
    key: str
    version: int
    created: bool
    status: str
    lists_created: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class ValidationReport:
    workflow: Workflow
    lists_to_create: tuple[str, ...] = ()  # apply would create them


@dataclass(frozen=True, kw_only=True)
class Detail:
    """A workflow with its current document, every version and its runs by status."""

    row: dict[str, Any]  # key, name, status, version, updated_at
    document: Mapping[str, Any] | None
    versions: list[dict[str, Any]]
    run_counts: dict[str, int]


def apply(context: Context, document: Mapping[str, Any], *, activate: bool = True) -> ApplyReport:
    """Validate and store a new version; lists the workflow names are created."""
    workflow = parse_workflow(document)
    now = context.clock.now()
    status = WorkflowStatus.ACTIVE if activate else WorkflowStatus.DRAFT
    with transaction(context.engine) as connection:
        existing, _ = _check_for_apply_txn(connection, workflow, activate=activate)
        created_lists = lists.ensure_lists_txn(connection, workflow.lists_used(), now)
        saved = workflows.save_version_txn(connection, workflow.document, now, status_if_new=status)
        rate = triggers.backfill_rate(workflow)
        if existing is None and saved.status == WorkflowStatus.ACTIVE.value and rate:
            system_events.start_backfill_txn(connection, saved.key, rate, now)
    return ApplyReport(
        key=saved.key,
        version=saved.version,
        created=saved.created,
        status=saved.status,
        lists_created=tuple(created_lists),
    )


def validate(
    context: Context, document: Mapping[str, Any], *, activate: bool = True
) -> ValidationReport:
    """What ``apply(document, activate=...)`` would refuse, refused the same way (the
    document, then the names it uses), in a read transaction: nothing stored."""
    workflow = parse_workflow(document)
    with read_transaction(context.engine) as connection:
        _, known = _check_for_apply_txn(connection, workflow, activate=activate)
    return ValidationReport(
        workflow=workflow, lists_to_create=tuple(lists_to_create(workflow, known))
    )


def set_status(context: Context, key: str, status: WorkflowStatus) -> int:
    """Activating checks again that every workflow the steps start exists; stopping makes
    every run inside exit (how many did is returned)."""
    now = context.clock.now()
    with transaction(context.engine) as connection:
        before = workflows.status_of_txn(connection, key)
        if status is WorkflowStatus.ACTIVE:
            document = workflows.current_definition_txn(connection, key)
            if document is not None:
                workflow = parse_workflow(document)
                _check_references_txn(connection, workflow, activating=True)
                rate = triggers.backfill_rate(workflow)
                if rate and before != WorkflowStatus.ACTIVE.value:
                    system_events.start_backfill_txn(connection, key, rate, now)
        workflows.set_status_txn(connection, key, status, now)
        if status is not WorkflowStatus.STOPPED:
            return 0
        workflow_id = _workflow_id_txn(connection, key)
        return run_store.exit_all_txn(connection, workflow_id, "workflow stopped", now)


def migrate_runs(context: Context, key: str, from_version: int, mapping: Mapping[str, str]) -> int:
    """Move the runs inside ``from_version`` to the current version; ``mapping`` renames
    steps (old id -> new id); every step a run stands on must exist afterwards."""
    with transaction(context.engine) as connection:
        history = workflows.versions_txn(connection, key)
        source = next((v for v in history if v["version"] == from_version), None)
        current = next(v for v in history if v["current"])
        if source is None:
            raise InvalidInput(f"workflow {key!r} has no version {from_version}")
        target = parse_workflow(
            workflows.version_document_txn(connection, key, current["version"]), stored=True
        )
        old = parse_workflow(
            workflows.version_document_txn(connection, key, from_version), stored=True
        )
        missing = sorted({mapping.get(s, s) for s in old.steps} - set(target.steps))
        if missing:
            raise InvalidInput(
                f"steps {', '.join(missing)} do not exist in version {current['version']}: "
                "map them (--map OLD=NEW)"
            )
        return run_store.migrate_txn(
            connection,
            _workflow_id_txn(connection, key),
            source["id"],
            current["id"],
            mapping,
            context.clock.now(),
        )


def list_workflows(context: Context) -> list[dict[str, Any]]:
    """Every workflow: id, key, name, status, current version, updated_at."""
    with read_transaction(context.engine) as connection:
        return workflows.list_workflows_txn(connection)


def summaries(context: Context) -> tuple[list[dict[str, Any]], dict[int, dict[str, int]]]:
    """Every workflow (as :func:`list_workflows`) and, by workflow id, its runs by status."""
    with read_transaction(context.engine) as connection:
        return workflows.list_workflows_txn(connection), reports.run_counts_txn(connection)


def detail(context: Context, key: str) -> Detail:
    """Workflow ``key`` (NotFound if there is none) with its document, versions and runs."""
    with read_transaction(context.engine) as connection:
        workflow_id = reports.workflow_id_txn(connection, key)
        return Detail(
            row=workflows.list_workflows_txn(connection, key)[0],
            document=workflows.current_definition_txn(connection, key),
            versions=workflows.versions_txn(connection, key),
            run_counts=reports.run_counts_txn(connection, workflow_id).get(workflow_id, {}),
        )


def webhook_secret(context: Context, key: str) -> str:
    """The secret that signs workflow ``key``'s webhook calls (Standard Webhooks)."""
    return workflow_secret(context.keys.current(), key)


def _workflow_id_txn(connection: Connection, key: str) -> int:
    return next(r.id for r in workflows.workflow_rows_txn(connection) if r.key == key)


def _check_for_apply_txn(
    connection: Connection, workflow: Workflow, *, activate: bool
) -> tuple[str | None, KnownNames]:
    """What apply checks in its transaction (validate too, in a read-only one): the names the
    steps use. The workflow's status before (None: new) and the names that exist."""
    existing = workflows.status_of_txn(connection, workflow.key)
    status = WorkflowStatus.ACTIVE if activate else WorkflowStatus.DRAFT
    activating = (existing or status.value) == WorkflowStatus.ACTIVE.value
    return existing, _check_references_txn(connection, workflow, activating=activating)


def _check_references_txn(
    connection: Connection, workflow: Workflow, *, activating: bool
) -> KnownNames:
    known = _known_names_txn(connection, workflow)
    problems = reference_problems(workflow, known, activating=activating)
    if problems:
        raise InvalidWorkflow(problems)
    return known


def _known_names_txn(connection: Connection, workflow: Workflow) -> KnownNames:
    """Of the names ``workflow`` uses, those that exist: every attribute and list, the users
    it names, the workflows it starts with the steps of their current versions."""
    named = workflow.references()
    started = named.get("workflows", {})
    versions = {r.key: r.version_id for r in workflows.workflow_rows_txn(connection)}
    versions = {key: version for key, version in versions.items() if key in started}
    documents = workflows.definitions_txn(connection, [v for v in versions.values() if v])
    return KnownNames(
        attributes=frozenset(contacts.attribute_definitions_txn(connection)),
        users=frozenset(crm.users_by_email_txn(connection, named.get("users", {}))),
        workflows={
            key: frozenset(s.get("id") for s in documents[v].get("steps", [])) if v else None
            for key, v in versions.items()
        },
        lists=frozenset(lists.list_ids_txn(connection)),
    )
