"""``/api/v1/workflows/{key}/versions/{version}``, ``/diff`` and ``/rollback``: a stored
version's document, what changed between two versions, and an earlier version published
again as the newest (``journeyman workflow history|diff|rollback``)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import Path, Query
from pydantic import BaseModel

from journeyman.api.v1.common import V1_ERRORS, v1_router
from journeyman.api.v1.workflows import Applied
from journeyman.api.wire import Journeyman
from journeyman.errors import NotFound
from journeyman.services import versions

router = v1_router("workflows")

MAX_VERSION = 2_147_483_647  # an INTEGER column
VersionPath = Annotated[int, Path(ge=1, le=MAX_VERSION, description="a version number")]


def _version(description: str) -> Any:
    return Query(ge=1, le=MAX_VERSION, description=description)


class VersionDocument(BaseModel):
    key: str
    version: int
    created_at: dt.datetime
    runs: int
    current: bool
    document: dict[str, Any]


class VersionDiff(BaseModel):
    key: str
    old: int
    new: int
    diff: str  # unified, of the two documents as YAML; "" when equal


@router.get("/workflows/{key}/versions/{version}", response_model=VersionDocument)
def get_version(key: str, version: VersionPath, app: Journeyman) -> VersionDocument:
    """One version as stored (templates inlined), with the runs on it."""
    found = next((v for v in versions.history(app, key) if v["version"] == version), None)
    if found is None:
        raise NotFound(f"workflow {key!r} has no version {version}")
    return VersionDocument(
        key=key,
        version=version,
        created_at=found["created_at"],
        runs=found["runs"],
        current=found["current"],
        document=dict(versions.document(app, key, version)),
    )


@router.get("/workflows/{key}/diff", response_model=VersionDiff)
def diff_versions(
    key: str,
    app: Journeyman,
    old: Annotated[int, _version("the older version")],
    new: Annotated[int | None, _version("the newer version (default: the current one)")] = None,
) -> VersionDiff:
    """What changed between two versions: a unified diff of their YAML."""
    newest, diff = versions.diff(app, key, old, new)
    return VersionDiff(key=key, old=old, new=newest, diff=diff)


@router.post("/workflows/{key}/rollback", response_model=Applied, responses=V1_ERRORS)
def rollback_workflow(
    key: str, app: Journeyman, version: Annotated[int, _version("the version to publish again")]
) -> Applied:
    """Publish an earlier version's document again as the newest version; runs in flight stay
    on theirs. Unchanged (nothing stored) when it equals the current one."""
    return Applied.of(versions.rollback(app, key, version))
