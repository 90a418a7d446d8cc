"""``/api/v1/workflows``: apply, validate, list, read and move workflows through their
lifecycle, with the verbs ``journeyman workflow ...`` uses."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import Depends, Query, Request
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from journeyman import documents
from journeyman.api.v1.common import V1_ERRORS, v1_router
from journeyman.api.wire import Journeyman
from journeyman.services import workflows
from journeyman.services.workflows import ApplyReport, WorkflowStatus

router = v1_router("workflows")

YAML_TYPES = ("application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml")

# The request body of apply and validate, for the OpenAPI document.
DOCUMENT_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": "a workflow document (``journeyman workflow schema`` prints its schema)",
        "content": {
            "application/json": {"schema": {"type": "object"}},
            "application/yaml": {"schema": {"type": "string"}},
            "text/yaml": {"schema": {"type": "string"}},
        },
    }
}


async def workflow_document(request: Request) -> dict[str, Any]:
    """The body as a document: YAML for a YAML content type, else JSON, with the limits the
    command line applies (``documents.parse_document``). No file is read for a
    ``template:``: the document carries its templates (``templates: {name: html}``)."""
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    raw = await request.body()  # at most MAX_DOCUMENT_BYTES: the body limit (api/body_limit)
    # Parsed in a worker thread: up to 2 MB of YAML takes a while, and the event loop serves
    # the busiest routes.
    return await run_in_threadpool(
        documents.parse_document, raw, yaml_text=media in YAML_TYPES, source="the body"
    )


Document = Annotated[dict[str, Any], Depends(workflow_document)]


class Applied(BaseModel):
    key: str
    version: int
    status: str
    created: bool  # a new version was stored
    unchanged: bool  # the document equalled the current version: nothing stored
    lists_created: list[str]

    @classmethod
    def of(cls, report: ApplyReport) -> Applied:
        return cls(
            key=report.key,
            version=report.version,
            status=report.status,
            created=report.created,
            unchanged=not report.created,
            lists_created=list(report.lists_created),
        )


class Valid(BaseModel):
    ok: bool
    key: str
    steps: int
    lists_to_create: list[str]  # the lists apply would create


class RunCounts(BaseModel):
    """Runs of a workflow by status; ``inside`` = active + waiting."""

    entered: int = 0
    inside: int = 0
    active: int = 0
    waiting: int = 0
    completed: int = 0
    exited: int = 0
    failed: int = 0


class WorkflowSummary(BaseModel):
    key: str
    name: str
    status: str
    version: int | None
    updated_at: dt.datetime
    runs: RunCounts


class WorkflowList(BaseModel):
    workflows: list[WorkflowSummary]
    count: int


class VersionInfo(BaseModel):
    version: int
    created_at: dt.datetime
    runs: int
    current: bool


class WorkflowDetail(WorkflowSummary):
    document: dict[str, Any] | None
    versions: list[VersionInfo]


class StatusChanged(BaseModel):
    key: str
    status: str
    exited: int  # runs that left (stop only)


def run_counts(by_status: dict[str, int]) -> RunCounts:
    statuses = ("active", "waiting", "completed", "exited", "failed")
    counts = {s: by_status.get(s, 0) for s in statuses}
    return RunCounts(
        **counts,
        inside=counts["active"] + counts["waiting"],
        entered=sum(by_status.values()),
    )


@router.post("/workflows", response_model=Applied, responses=V1_ERRORS, openapi_extra=DOCUMENT_BODY)
def apply_workflow(
    document: Document,
    app: Journeyman,
    draft: Annotated[bool, Query(description="store a new workflow as draft, not active")] = False,
) -> Applied:
    """Store the document as the workflow's next version (``journeyman workflow apply``); an
    unchanged document stores nothing."""
    return Applied.of(workflows.apply(app, document, activate=not draft))


@router.post(
    "/workflows/validate", response_model=Valid, responses=V1_ERRORS, openapi_extra=DOCUMENT_BODY
)
def validate_workflow(
    document: Document,
    app: Journeyman,
    draft: Annotated[bool, Query(description="check as apply with draft=true would")] = False,
) -> Valid:
    """Check the document as apply would, without storing anything (``journeyman workflow
    validate``): the document, then the attributes, users and workflows its steps name."""
    report = workflows.validate(app, document, activate=not draft)
    return Valid(
        ok=True,
        key=report.workflow.key,
        steps=len(report.workflow.steps),
        lists_to_create=list(report.lists_to_create),
    )


@router.get("/workflows", response_model=WorkflowList)
def list_workflows(app: Journeyman) -> WorkflowList:
    rows, counts = workflows.summaries(app)
    found = [_summary(row, counts.get(row["id"], {})) for row in rows]
    return WorkflowList(workflows=found, count=len(found))


@router.get("/workflows/{key}", response_model=WorkflowDetail)
def get_workflow(key: str, app: Journeyman) -> WorkflowDetail:
    """The workflow with its current document and every version."""
    found = workflows.detail(app, key)
    return WorkflowDetail(
        **_summary(found.row, found.run_counts).model_dump(),
        document=dict(found.document) if found.document is not None else None,
        versions=[
            VersionInfo(**{k: v[k] for k in VersionInfo.model_fields}) for v in found.versions
        ],
    )


def _summary(row: dict[str, Any], counts: dict[str, int]) -> WorkflowSummary:
    return WorkflowSummary(
        key=row["key"],
        name=row["name"],
        status=row["status"],
        version=row["version"],
        updated_at=row["updated_at"],
        runs=run_counts(counts),
    )


def _set_status(app: Journeyman, key: str, status: WorkflowStatus) -> StatusChanged:
    exited = workflows.set_status(app, key, status)
    return StatusChanged(key=key, status=status.value, exited=exited)


@router.post("/workflows/{key}/activate", response_model=StatusChanged, responses=V1_ERRORS)
def activate_workflow(key: str, app: Journeyman) -> StatusChanged:
    """Entry points enrol contacts again; every workflow the steps start must exist."""
    return _set_status(app, key, WorkflowStatus.ACTIVE)


@router.post("/workflows/{key}/pause", response_model=StatusChanged)
def pause_workflow(key: str, app: Journeyman) -> StatusChanged:
    """No new entries; the runs inside continue."""
    return _set_status(app, key, WorkflowStatus.PAUSED)


@router.post("/workflows/{key}/stop", response_model=StatusChanged)
def stop_workflow(key: str, app: Journeyman) -> StatusChanged:
    """No new entries, and every run inside exits (reason: workflow stopped)."""
    return _set_status(app, key, WorkflowStatus.STOPPED)
