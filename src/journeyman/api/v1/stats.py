"""``/api/v1/workflows/{key}/stats``: what the runs did on each step.

Counted from the records the engine writes (run log, runs, outbox, conversions) and the
tracking events (``email_opened``/``email_clicked`` whose ``message_key`` is a message's
idempotency key), one grouped query each (``store.reports.workflow_stats_txn``).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Query
from pydantic import BaseModel, Field

from journeyman.api.v1.common import v1_router
from journeyman.api.v1.workflows import RunCounts, run_counts
from journeyman.api.wire import Journeyman
from journeyman.services import stats

router = v1_router("workflows")

MAX_VERSION = 2_147_483_647  # an INTEGER column


class MessageCounts(BaseModel):
    """The step's messages by outbox status; ``queued`` includes those being sent now."""

    total: int = 0
    queued: int = 0
    sent: int = 0
    failed: int = 0
    suppressed: int = 0


class StepStats(BaseModel):
    id: str
    kind: str | None = Field(description="null: the step is not in the current version")
    entered: int = Field(description="runs that executed the step (each run once)")
    waiting_now: int = Field(
        description="runs on the step now; runs waiting on a delay are counted on the delay"
    )
    branches: dict[str, int] = Field(description="way out (then, else, path_1...) -> times taken")
    messages: MessageCounts
    opened: int = Field(description="messages opened at least once")
    clicked: int = Field(description="messages clicked at least once")
    conversions: int
    revenue: dict[str, float] = Field(description="currency -> sum of conversion values")


class OverallStats(RunCounts):
    converted: int = Field(default=0, description="contacts with a conversion in the workflow")


class WorkflowStats(BaseModel):
    key: str
    version: int | None = Field(description="the version counted, else the current one")
    runs: OverallStats
    steps: list[StepStats]


@router.get("/workflows/{key}/stats", response_model=WorkflowStats)
def workflow_stats(
    key: str,
    app: Journeyman,
    version: Annotated[
        int | None,
        Query(ge=1, le=MAX_VERSION, description="only this version's runs (default: every run)"),
    ] = None,
) -> WorkflowStats:
    """Per step: entered, waiting now, branches taken, messages, opens, clicks, conversions;
    overall: runs by status and contacts converted. With ``version``: of that version's
    runs and their messages (conversions: of contacts who had such a run)."""
    counted = stats.of_workflow(app, key, version)
    found = counted.stats
    overall = OverallStats(**run_counts(dict(found.runs)).model_dump(), converted=found.converted)
    return WorkflowStats(
        key=key, version=counted.version, runs=overall, steps=[_step(s) for s in found.steps]
    )


def _step(found: stats.StepStats) -> StepStats:
    by_status = found.messages
    return StepStats(
        id=found.step_id,
        kind=found.kind,
        entered=found.entered,
        waiting_now=found.waiting_now,
        branches=found.branches,
        messages=MessageCounts(
            total=sum(by_status.values()),
            queued=by_status.get("queued", 0) + by_status.get("sending", 0),
            sent=by_status.get("sent", 0),
            failed=by_status.get("failed", 0),
            suppressed=by_status.get("suppressed", 0),
        ),
        opened=found.opened,
        clicked=found.clicked,
        conversions=found.conversions,
        revenue=found.revenue,
    )
