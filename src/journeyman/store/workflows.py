"""Workflows and their immutable versions."""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from journeyman.errors import NotFound
from journeyman.store.schema import workflow_versions, workflows


class WorkflowStatus(enum.StrEnum):
    DRAFT = "draft"  # stored, nothing enters
    ACTIVE = "active"  # entry points enrol contacts
    PAUSED = "paused"  # no new entries; runs inside continue
    STOPPED = "stopped"  # no new entries; the runs inside exit


@dataclass(frozen=True, kw_only=True)
class SavedVersion:
    workflow_id: int
    key: str
    version: int
    version_id: int
    status: str
    created: bool  # False when the document equalled the current version


@dataclass(frozen=True, kw_only=True)
class LiveVersion:
    workflow_id: int
    key: str
    version_id: int


def save_version_txn(
    connection: Connection,
    document: Mapping[str, Any],
    now: dt.datetime,
    *,
    status_if_new: WorkflowStatus,
) -> SavedVersion:
    """Store ``document`` as the workflow's next version (a no-op when nothing changed)."""
    key, name = document["key"], document["name"]
    row = connection.execute(sa.select(workflows).where(workflows.c.key == key)).first()
    if row is None:
        workflow_id = connection.execute(
            sa.insert(workflows).values(
                key=key, name=name, status=status_if_new.value, created_at=now, updated_at=now
            )
        ).inserted_primary_key[0]  # type: ignore[index]
        status = status_if_new.value
    else:
        workflow_id, status = row.id, row.status
        current = _version_row(connection, row.current_version_id)
        if current is not None and current.definition == dict(document):
            return SavedVersion(
                workflow_id=workflow_id,
                key=key,
                version=current.version,
                version_id=current.id,
                status=status,
                created=False,
            )
    number = (
        connection.execute(
            sa.select(sa.func.max(workflow_versions.c.version)).where(
                workflow_versions.c.workflow_id == workflow_id
            )
        ).scalar_one()
        or 0
    ) + 1
    version_id = connection.execute(
        sa.insert(workflow_versions).values(
            workflow_id=workflow_id, version=number, definition=dict(document), created_at=now
        )
    ).inserted_primary_key[0]  # type: ignore[index]
    connection.execute(
        sa.update(workflows)
        .where(workflows.c.id == workflow_id)
        .values(current_version_id=version_id, name=name, updated_at=now)
    )
    return SavedVersion(
        workflow_id=workflow_id,
        key=key,
        version=number,
        version_id=version_id,
        status=status,
        created=True,
    )


def _version_row(connection: Connection, version_id: int | None) -> Any:
    if version_id is None:
        return None
    return connection.execute(
        sa.select(workflow_versions).where(workflow_versions.c.id == version_id)
    ).first()


def set_status_txn(
    connection: Connection, key: str, status: WorkflowStatus, now: dt.datetime
) -> None:
    result = connection.execute(
        sa.update(workflows)
        .where(workflows.c.key == key)
        .values(status=status.value, updated_at=now)
    )
    if result.rowcount == 0:
        raise NotFound(f"no workflow with key {key!r}")


def live_versions_txn(connection: Connection) -> list[LiveVersion]:
    """The current version of every active workflow: what entry points enrol into."""
    statement = (
        sa.select(workflows.c.id, workflows.c.key, workflow_versions.c.id.label("version_id"))
        .join(workflow_versions, workflow_versions.c.id == workflows.c.current_version_id)
        .where(workflows.c.status == WorkflowStatus.ACTIVE.value)
        .order_by(workflows.c.id)
    )
    return [
        LiveVersion(workflow_id=r.id, key=r.key, version_id=r.version_id)
        for r in connection.execute(statement)
    ]


def definitions_txn(
    connection: Connection, version_ids: Iterable[int]
) -> dict[int, Mapping[str, Any]]:
    ids = sorted(set(version_ids))
    if not ids:
        return {}
    rows = connection.execute(
        sa.select(workflow_versions.c.id, workflow_versions.c.definition).where(
            workflow_versions.c.id.in_(ids)
        )
    )
    return {r.id: r.definition for r in rows}


def workflow_keys_txn(connection: Connection, ids: Iterable[int]) -> dict[int, str]:
    rows = connection.execute(
        sa.select(workflows.c.id, workflows.c.key).where(workflows.c.id.in_(sorted(set(ids))))
    )
    return {r.id: r.key for r in rows}


def list_workflows_txn(connection: Connection, key: str | None = None) -> list[dict[str, Any]]:
    """Every workflow (or the one with ``key``) with its current version number."""
    statement = (
        sa.select(
            workflows.c.id,
            workflows.c.key,
            workflows.c.name,
            workflows.c.status,
            workflow_versions.c.version,
            workflows.c.updated_at,
        )
        .outerjoin(workflow_versions, workflow_versions.c.id == workflows.c.current_version_id)
        .order_by(workflows.c.id)
    )
    if key is not None:
        statement = statement.where(workflows.c.key == key)
    return [dict(r._mapping) for r in connection.execute(statement)]


@dataclass(frozen=True, kw_only=True)
class WorkflowRow:
    id: int
    key: str
    status: WorkflowStatus
    version_id: int | None


def workflow_rows_txn(connection: Connection) -> list[WorkflowRow]:
    rows = connection.execute(
        sa.select(
            workflows.c.id, workflows.c.key, workflows.c.status, workflows.c.current_version_id
        )
    )
    return [
        WorkflowRow(id=r[0], key=r[1], status=WorkflowStatus(r[2]), version_id=r[3]) for r in rows
    ]


def status_of_txn(connection: Connection, key: str) -> str | None:
    row = connection.execute(sa.select(workflows.c.status).where(workflows.c.key == key)).first()
    return None if row is None else str(row[0])


def current_definition_txn(connection: Connection, key: str) -> Mapping[str, Any] | None:
    row = connection.execute(
        sa.select(workflow_versions.c.definition)
        .join(workflows, workflows.c.current_version_id == workflow_versions.c.id)
        .where(workflows.c.key == key)
    ).first()
    return None if row is None else row[0]


def versions_txn(connection: Connection, key: str) -> list[dict[str, Any]]:
    """A workflow's versions, oldest first, with the number of runs on each."""
    from journeyman.store.schema import runs

    run_count = (
        sa.select(sa.func.count())
        .where(runs.c.version_id == workflow_versions.c.id)
        .scalar_subquery()
    )
    statement = (
        sa.select(
            workflow_versions.c.id,
            workflow_versions.c.version,
            workflow_versions.c.created_at,
            run_count.label("runs"),
            (workflows.c.current_version_id == workflow_versions.c.id).label("current"),
        )
        .join(workflows, workflows.c.id == workflow_versions.c.workflow_id)
        .where(workflows.c.key == key)
        .order_by(workflow_versions.c.version)
    )
    found = [dict(r._mapping) for r in connection.execute(statement)]
    if not found:
        raise NotFound(f"no workflow with key {key!r}")
    return found


def version_document_txn(connection: Connection, key: str, version: int) -> Mapping[str, Any]:
    row = connection.execute(
        sa.select(workflow_versions.c.definition)
        .join(workflows, workflows.c.id == workflow_versions.c.workflow_id)
        .where(workflows.c.key == key, workflow_versions.c.version == version)
    ).first()
    if row is None:
        raise NotFound(f"workflow {key!r} has no version {version}")
    return row[0]  # type: ignore[no-any-return]


def workflow_documents_txn(connection: Connection) -> dict[str, Mapping[str, Any]]:
    """Key -> current definition of every workflow that is not stopped (what may still act on
    lists and attributes by name)."""
    statement = (
        sa.select(workflows.c.key, workflow_versions.c.definition)
        .join(workflow_versions, workflow_versions.c.id == workflows.c.current_version_id)
        .where(workflows.c.status != "stopped")
    )
    return {r.key: r.definition for r in connection.execute(statement)}
