"""Workflow drafts: documents the builder saved and has not published.

A draft is kept exactly as sent (it may be incomplete or invalid), under its own key; its
document's ``key`` field may name another workflow, and nothing here reads it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from journeyman.errors import NotFound
from journeyman.store.schema import workflow_drafts


@dataclass(frozen=True, kw_only=True)
class Draft:
    key: str
    document: Mapping[str, Any]
    based_on_version: int | None
    updated_at: dt.datetime


def _draft(row: Any) -> Draft:
    return Draft(
        key=row.key,
        document=row.document,
        based_on_version=row.based_on_version,
        updated_at=row.updated_at,
    )


def drafts_txn(connection: Connection) -> list[Draft]:
    """Every draft, the most recently saved first."""
    statement = sa.select(workflow_drafts).order_by(
        workflow_drafts.c.updated_at.desc(), workflow_drafts.c.key
    )
    return [_draft(r) for r in connection.execute(statement)]


def draft_txn(connection: Connection, key: str) -> Draft:
    """The draft ``key``, or :class:`NotFound`."""
    row = connection.execute(sa.select(workflow_drafts).where(workflow_drafts.c.key == key)).first()
    if row is None:
        raise NotFound(f"no draft with key {key!r}")
    return _draft(row)


def save_draft_txn(
    connection: Connection,
    key: str,
    document: Mapping[str, Any],
    based_on_version: int | None,
    now: dt.datetime,
) -> Draft:
    """Create or replace the draft ``key`` (an update, then an insert when there was none;
    on PostgreSQL two first saves at once make the second fail on the primary key, which
    ``store.write`` runs again as an update)."""
    values = {"document": dict(document), "based_on_version": based_on_version, "updated_at": now}
    updated = connection.execute(
        sa.update(workflow_drafts).where(workflow_drafts.c.key == key).values(**values)
    )
    if updated.rowcount == 0:
        connection.execute(sa.insert(workflow_drafts).values(key=key, **values))
    return Draft(key=key, document=document, based_on_version=based_on_version, updated_at=now)


def delete_draft_txn(
    connection: Connection, key: str, *, if_document: Mapping[str, Any] | None = None
) -> bool:
    """Delete the draft ``key``; with ``if_document``, only while it still holds that
    document (a save since then is kept). Whether a draft was deleted."""
    statement = sa.select(workflow_drafts.c.document).where(workflow_drafts.c.key == key)
    row = connection.execute(statement).first()
    if row is None or (if_document is not None and row.document != dict(if_document)):
        return False
    connection.execute(sa.delete(workflow_drafts).where(workflow_drafts.c.key == key))
    return True
