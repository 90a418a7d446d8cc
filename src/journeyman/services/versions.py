"""A workflow's versions: the history with the runs on each, a version's document, what
changed between two, and an earlier one published again. Reads take read transactions."""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import yaml

from journeyman.errors import NotFound
from journeyman.services import workflows
from journeyman.services.context import Context
from journeyman.store import read_transaction, reports
from journeyman.store import workflows as workflow_store


@dataclass(frozen=True, kw_only=True)
class CurrentVersion:
    key: str
    version: int
    document: Mapping[str, Any]


def history(context: Context, key: str) -> list[dict[str, Any]]:
    """The versions of ``key``, oldest first: id, version, created_at, runs, current."""
    with read_transaction(context.engine) as connection:
        return workflow_store.versions_txn(connection, key)


def document(context: Context, key: str, version: int) -> Mapping[str, Any]:
    """Version ``version``'s document, as stored (templates inlined)."""
    with read_transaction(context.engine) as connection:
        return workflow_store.version_document_txn(connection, key, version)


def current_document(context: Context, key: str) -> Mapping[str, Any]:
    """The current version's document of workflow ``key``."""
    with read_transaction(context.engine) as connection:
        found = workflow_store.current_definition_txn(connection, key)
    if found is None:
        raise NotFound(f"no workflow with key {key!r}")
    return found


def current(context: Context, key: str) -> CurrentVersion:
    """The current version and its document; NotFound for an unknown key or a workflow
    without a version."""
    with read_transaction(context.engine) as connection:
        reports.workflow_id_txn(connection, key)  # NotFound for an unknown key
        found = workflow_store.current_definition_txn(connection, key)
        version = next(
            (v["version"] for v in workflow_store.versions_txn(connection, key) if v["current"]),
            None,
        )
    if found is None or version is None:
        raise NotFound(f"workflow {key!r} has no version")
    return CurrentVersion(key=key, version=version, document=found)


def diff(context: Context, key: str, old: int, new: int | None = None) -> tuple[int, str]:
    """A unified diff of the YAML of versions ``old`` and ``new`` (default: the current
    one); the new version's number with it. Empty when they are equal."""
    with read_transaction(context.engine) as connection:
        versions = workflow_store.versions_txn(connection, key)
        new = new or next(r["version"] for r in versions if r["current"])
        texts = [
            yaml.safe_dump(
                dict(workflow_store.version_document_txn(connection, key, v)), sort_keys=False
            )
            for v in (old, new)
        ]
    lines = difflib.unified_diff(
        texts[0].splitlines(keepends=True),
        texts[1].splitlines(keepends=True),
        fromfile=f"{key} v{old}",
        tofile=f"{key} v{new}",
    )
    return new, "".join(lines)


def rollback(context: Context, key: str, version: int) -> workflows.ApplyReport:
    """Publish version ``version``'s document again, as the newest version."""
    return workflows.apply(context, document(context, key, version), activate=False)
