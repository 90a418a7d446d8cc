"""``/api/v1/workflows/{key}/steps/{step}/contacts``: the contacts on a step now, or that
passed it, each with the run and contact id that lead to the contact's timeline."""

from __future__ import annotations

import datetime as dt
import enum
from typing import Annotated

from fastapi import Path, Query
from pydantic import BaseModel, Field

from journeyman.api.v1.common import Limit, Offset, v1_router
from journeyman.api.wire import Journeyman
from journeyman.services import browse
from journeyman.workflow.document import STEP_ID

router = v1_router("workflows")

MAX_VERSION = 2_147_483_647  # an INTEGER column
StepPath = Annotated[str, Path(pattern=STEP_ID, description="a step id")]
VersionQuery = Annotated[
    int | None, Query(ge=1, le=MAX_VERSION, description="only runs of this version")
]


class StepState(enum.StrEnum):
    NOW = "now"  # standing on the step now (a delay holds its waiting runs)
    PASSED = "passed"  # executed the step


class StepContact(BaseModel):
    contact_id: int
    email: str | None
    run_id: int
    version: int
    status: str = Field(description="the run's status")
    current_step: str | None = Field(description="the step the run stands on (null: finished)")
    due_at: dt.datetime | None = Field(description="when a waiting run goes on")
    at: dt.datetime = Field(description="now: since when; passed: when it executed the step")


class StepContactsPage(BaseModel):
    key: str
    step: str
    state: StepState
    version: int | None
    contacts: list[StepContact]
    count: int
    limit: int
    offset: int


@router.get("/workflows/{key}/steps/{step}/contacts", response_model=StepContactsPage)
def step_contacts(
    key: str,
    step: StepPath,
    app: Journeyman,
    state: Annotated[StepState, Query(description="now or passed")] = StepState.NOW,
    version: VersionQuery = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> StepContactsPage:
    """Runs on the step now (``now``: waiting on a delay counts on the delay) or that
    executed it (``passed``), newest first, with their contacts."""
    rows, total = browse.step_contacts(
        app,
        key,
        step,
        passed=state is StepState.PASSED,
        version=version,
        limit=limit,
        offset=offset,
    )
    return StepContactsPage(
        key=key,
        step=step,
        state=state,
        version=version,
        contacts=[StepContact(**r) for r in rows],
        count=total,
        limit=limit,
        offset=offset,
    )
