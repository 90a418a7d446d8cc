"""``/api/v1/reports``: conversions and revenue per workflow and per step, per currency
(``journeyman report conversions`` reads the same query)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query
from pydantic import BaseModel, Field

from journeyman.api.v1.common import v1_router
from journeyman.api.wire import Journeyman, parse_time
from journeyman.services import reports

router = v1_router("reports")

When = Annotated[
    str | None, Query(description="ISO 8601 date or date-time; without an offset, UTC")
]


class Revenue(BaseModel):
    currency: str
    conversions: int
    revenue: float


class WorkflowRevenue(Revenue):
    workflow: str


class StepRevenue(WorkflowRevenue):
    step: str | None


class ConversionsReport(BaseModel):
    """Revenue is summed per currency, never converted between currencies."""

    since: str | None
    until: str | None
    totals: list[Revenue] = Field(description="per currency")
    workflows: list[WorkflowRevenue] = Field(description="per workflow and currency")
    steps: list[StepRevenue] = Field(description="per workflow, step and currency")


@router.get("/reports/conversions", response_model=ConversionsReport)
def conversions_report(
    app: Journeyman,
    since: When = None,
    until: When = None,
) -> ConversionsReport:
    """Conversions recorded in ``[since, until)`` (each optional)."""
    start, end = parse_time(since, "since"), parse_time(until, "until")
    per_workflow, per_step = reports.conversions_per_workflow_and_step(app, since=start, until=end)
    totals: dict[str, Revenue] = {}
    for row in per_workflow:
        total = totals.setdefault(
            row["currency"], Revenue(currency=row["currency"], conversions=0, revenue=0.0)
        )
        total.conversions += row["conversions"]
        total.revenue += float(row["revenue"] or 0)
    return ConversionsReport(
        since=start.isoformat() if start else None,
        until=end.isoformat() if end else None,
        totals=sorted(totals.values(), key=lambda t: t.currency),
        workflows=[WorkflowRevenue(**r) for r in per_workflow],
        steps=[StepRevenue(**r) for r in per_step],
    )
