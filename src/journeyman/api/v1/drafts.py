"""``/api/v1/drafts``: what the builder saves before publishing (``services.drafts``).

A draft is stored as sent, valid or not, within the limits of a workflow document (2 MiB,
64 levels, text the database can hold), and answered with the validator's problems.
Publishing applies it as ``POST /api/v1/workflows`` does and deletes it.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import Depends, Path, Query, Request, Response
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from journeyman import documents
from journeyman.api import limits
from journeyman.api.errors import InvalidParameter, MissingParameter, ProblemBody
from journeyman.api.v1.common import V1_ERRORS, v1_router
from journeyman.api.v1.workflows import Applied
from journeyman.api.wire import Journeyman
from journeyman.errors import InvalidWorkflow
from journeyman.services import drafts
from journeyman.workflow.document import KEY

router = v1_router("drafts")

DraftKey = Annotated[
    str, Path(pattern=KEY, description="the draft's key: a-z, 0-9, '_' and '-', at most 64")
]

DRAFT_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": "the document as the builder has it, complete or not",
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "required": ["document"],
                    "properties": {
                        "document": {"type": "object", "description": "a workflow document"},
                        "based_on_version": {
                            "type": ["integer", "null"],
                            "minimum": 1,
                            "maximum": limits.MAX_INTEGER,
                            "description": "the version the draft started from (default: "
                            "the one kept, else the workflow's current version)",
                        },
                    },
                }
            }
        },
    }
}


class DraftSummary(BaseModel):
    key: str
    name: str | None = Field(description="the document's name, when it has one")
    workflow: str = Field(description="the workflow publishing would create or update")
    based_on_version: int | None
    updated_at: dt.datetime


class DraftList(BaseModel):
    drafts: list[DraftSummary]
    count: int


class DraftDetail(DraftSummary):
    document: dict[str, Any]
    current_version: int | None = Field(
        description="the workflow's current version now (null: it does not exist yet); "
        "another than based_on_version: somebody published since the draft started"
    )
    valid: bool = Field(description="the validator has no problem with it: publishable")
    problems: list[ProblemBody] = Field(description="what the validator refuses, by step and field")


class DraftDiff(BaseModel):
    workflow: str
    version: int | None = Field(description="the running version compared with; null: new")
    diff: str = Field(description="unified diff of the normalised YAML; empty: no change")


class DraftInput:
    """The body of a save: ``document`` (an object) and an optional ``based_on_version``."""

    def __init__(self, document: dict[str, Any], based_on_version: int | None) -> None:
        self.document = document
        self.based_on_version = based_on_version


async def draft_input(request: Request) -> DraftInput:
    raw = await request.body()  # at most a document's bytes (api/body_limit)
    try:
        body = await run_in_threadpool(
            documents.parse_document, raw, yaml_text=False, source="the body"
        )
    except InvalidWorkflow as refused:
        raise InvalidParameter(str(refused.problems[0])) from None
    document, based_on = body.get("document"), body.get("based_on_version")
    if document is None:
        raise MissingParameter("document is missing")
    if not isinstance(document, dict):
        raise InvalidParameter("document: expected a workflow document (an object)")
    if based_on is not None and (
        type(based_on) is not int or not 1 <= based_on <= limits.MAX_INTEGER
    ):
        raise InvalidParameter(f"based_on_version: expected a version number, got {based_on!r}")
    found = limits.problem(document, max_text=None, max_depth=documents.MAX_DOCUMENT_DEPTH)
    if found is not None:
        raise InvalidParameter(f"document.{found}")
    return DraftInput(document, based_on)


def _summary(draft: Any, workflow: str) -> dict[str, Any]:
    name = draft.document.get("name")
    return {
        "key": draft.key,
        "name": name if isinstance(name, str) else None,
        "workflow": workflow,
        "based_on_version": draft.based_on_version,
        "updated_at": draft.updated_at,
    }


def _detail(view: drafts.DraftView) -> DraftDetail:
    return DraftDetail(
        **_summary(view.draft, view.workflow),
        document=dict(view.draft.document),
        current_version=view.current_version,
        valid=not view.problems,
        problems=[
            ProblemBody(step=p.step, field=p.field, message=p.message, code=p.code)
            for p in view.problems
        ],
    )


@router.get("/drafts", response_model=DraftList)
def list_drafts(app: Journeyman) -> DraftList:
    """Every draft, the most recently saved first."""
    found = [
        DraftSummary(**_summary(d, drafts.target_key(d.key, d.document)))
        for d in drafts.list_drafts(app)
    ]
    return DraftList(drafts=found, count=len(found))


@router.get("/drafts/{key}", response_model=DraftDetail)
def get_draft(key: DraftKey, app: Journeyman) -> DraftDetail:
    """The draft with the validator's problems."""
    return _detail(drafts.get_draft(app, key))


@router.put("/drafts/{key}", response_model=DraftDetail, openapi_extra=DRAFT_BODY)
def save_draft(
    key: DraftKey, body: Annotated[DraftInput, Depends(draft_input)], app: Journeyman
) -> DraftDetail:
    """Create or replace the draft, as sent even if the validator refuses it; the answer
    carries the validator's problems."""
    view = drafts.save_draft(app, key, body.document, based_on_version=body.based_on_version)
    return _detail(view)


@router.delete("/drafts/{key}", status_code=204)
def delete_draft(key: DraftKey, app: Journeyman) -> Response:
    drafts.delete_draft(app, key)
    return Response(status_code=204)


@router.get("/drafts/{key}/diff", response_model=DraftDiff)
def draft_diff(key: DraftKey, app: Journeyman) -> DraftDiff:
    """What publishing would change: the running version against the draft."""
    found = drafts.draft_diff(app, key)
    return DraftDiff(workflow=found.workflow, version=found.version, diff=found.diff)


@router.post("/drafts/{key}/publish", response_model=Applied, responses=V1_ERRORS)
def publish_draft(
    key: DraftKey,
    app: Journeyman,
    draft: Annotated[bool, Query(description="store a new workflow as draft, not active")] = False,
) -> Applied:
    """Apply the draft as ``POST /api/v1/workflows`` does (422 with every problem by step
    and field), as the workflow's next version, and delete the draft. Runs in flight stay on
    their version."""
    return Applied.of(drafts.publish_draft(app, key, activate=not draft))
