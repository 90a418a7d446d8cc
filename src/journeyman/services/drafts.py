"""Drafts: what the builder saves before publishing, the diff to the running version, and
publishing (the same apply as ``POST /api/v1/workflows`` and ``journeyman workflow apply``).

A draft is stored as sent, even when the validator refuses it (a draft may be incomplete),
and answered with the validator's problems. Its key is the builder's handle on it; the
workflow it publishes to is the one its document names (``key``, else the slug of
``name``), so a draft whose key field was changed keeps everything it holds, and publishing
deletes it only while it still holds the document that was published.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import yaml
from sqlalchemy.engine import Connection

from journeyman.errors import InvalidWorkflow, NotFound, Problem
from journeyman.services import workflows as workflow_service
from journeyman.services.context import Context
from journeyman.services.workflows import ApplyReport
from journeyman.store import drafts, read_transaction, transaction, workflows, write
from journeyman.workflow.document import parse_workflow, slugify


@dataclass(frozen=True, kw_only=True)
class DraftView:
    """A draft with what the builder shows beside it: the workflow it publishes to, that
    workflow's current version, and the validator's problems (none: publishable)."""

    draft: drafts.Draft
    workflow: str
    current_version: int | None
    problems: tuple[Problem, ...]


@dataclass(frozen=True, kw_only=True)
class DraftDiff:
    workflow: str
    version: int | None  # the running version compared with; None: the workflow is new
    diff: str


def target_key(key: str, document: Mapping[str, Any]) -> str:
    """The workflow a draft publishes to: its document's ``key``, else the slug of its
    ``name`` (as apply derives it), else the draft's own key."""
    named, name = document.get("key"), document.get("name")
    if isinstance(named, str) and named:
        return named
    if isinstance(name, str) and name.strip():
        return slugify(name) or key
    return key


def list_drafts(ctx: Context) -> list[drafts.Draft]:
    with read_transaction(ctx.engine) as connection:
        return drafts.drafts_txn(connection)


def get_draft(ctx: Context, key: str) -> DraftView:
    with read_transaction(ctx.engine) as connection:
        draft = drafts.draft_txn(connection, key)
        workflow = target_key(key, draft.document)
        version = _current_version_txn(connection, workflow)
    return DraftView(
        draft=draft,
        workflow=workflow,
        current_version=version,
        problems=_problems(ctx, draft.document),
    )


def save_draft(
    ctx: Context,
    key: str,
    document: Mapping[str, Any],
    *,
    based_on_version: int | None = None,
) -> DraftView:
    """Store ``document`` as draft ``key`` whatever the validator says. ``based_on_version``
    (else the one kept from an earlier save, else the workflow's current version) tells the
    builder later whether somebody published since the draft was started."""
    now = ctx.clock.now()
    workflow = target_key(key, document)

    def save(connection: Connection) -> tuple[drafts.Draft, int | None]:
        current = _current_version_txn(connection, workflow)
        based_on = based_on_version
        if based_on is None:
            try:
                based_on = drafts.draft_txn(connection, key).based_on_version
            except NotFound:
                based_on = current
        return drafts.save_draft_txn(connection, key, document, based_on, now), current

    draft, current = write(ctx.engine, save)
    return DraftView(
        draft=draft, workflow=workflow, current_version=current, problems=_problems(ctx, document)
    )


def delete_draft(ctx: Context, key: str) -> None:
    with transaction(ctx.engine) as connection:
        if not drafts.delete_draft_txn(connection, key):
            raise NotFound(f"no draft with key {key!r}")


def draft_diff(ctx: Context, key: str) -> DraftDiff:
    """A unified diff of the YAML of the running version and of the draft, both normalised
    as apply stores them (templates inlined, defaults filled in, keys sorted); a draft the
    validator refuses is compared as written."""
    with read_transaction(ctx.engine) as connection:
        draft = drafts.draft_txn(connection, key)
        workflow = target_key(key, draft.document)
        version = _current_version_txn(connection, workflow)
        running = workflows.current_definition_txn(connection, workflow)
    try:
        proposed: Mapping[str, Any] = parse_workflow(draft.document).document
    except InvalidWorkflow:
        proposed = draft.document
    before = _yaml(running) if running is not None else ""
    lines = difflib.unified_diff(
        before.splitlines(keepends=True),
        _yaml(proposed).splitlines(keepends=True),
        fromfile=f"{workflow} v{version}" if version is not None else "/dev/null",
        tofile=f"{workflow} draft {key}",
    )
    return DraftDiff(workflow=workflow, version=version, diff="".join(lines))


def publish_draft(ctx: Context, key: str, *, activate: bool = True) -> ApplyReport:
    """Apply the draft as ``POST /api/v1/workflows`` does (refused the same way, with the
    same problems), then delete it unless it was saved again meanwhile. Runs in flight stay
    on their versions."""
    with read_transaction(ctx.engine) as connection:
        draft = drafts.draft_txn(connection, key)
    report = workflow_service.apply(ctx, draft.document, activate=activate)
    with transaction(ctx.engine) as connection:
        drafts.delete_draft_txn(connection, key, if_document=draft.document)
    return report


def _problems(ctx: Context, document: Mapping[str, Any]) -> tuple[Problem, ...]:
    try:
        workflow_service.validate(ctx, document)
    except InvalidWorkflow as refused:
        return refused.problems
    return ()


def _current_version_txn(connection: Connection, key: str) -> int | None:
    found = workflows.list_workflows_txn(connection, key)
    return found[0]["version"] if found else None


def _yaml(document: Mapping[str, Any]) -> str:
    """Keys sorted: PostgreSQL's JSONB keeps a stored version's keys in an order of its own,
    so the order in which they were written is not a change."""
    return yaml.safe_dump(dict(document), sort_keys=True, allow_unicode=True)
