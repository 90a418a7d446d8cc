"""``/api/v1/reports``: conversions and revenue per workflow and per step, per currency
(``journeyman report conversions`` reads the same query), and each workflow's email funnel
per day (``services.browse.funnel``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query
from pydantic import BaseModel, Field

from journeyman.api.v1.common import v1_router
from journeyman.api.wire import Journeyman, parse_time
from journeyman.services import browse, reports

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


class FunnelCounts(BaseModel):
    sent: int = Field(default=0, description="emails sent")
    opened: int = Field(default=0, description="of those, opened at least once")
    clicked: int = Field(default=0, description="of those, clicked at least once")
    converted: int = Field(default=0, description="of those, followed by a conversion")


class FunnelDay(FunnelCounts):
    date: str = Field(description="the day the emails were sent (UTC), YYYY-MM-DD")


class WorkflowFunnel(BaseModel):
    workflow: str
    totals: FunnelCounts
    days: list[FunnelDay] = Field(description="days on which emails were sent, oldest first")


class FunnelReport(BaseModel):
    """Counted by the day each email was sent: of the emails sent that day, how many were
    opened, clicked and converted (whenever that happened)."""

    since: str
    until: str
    workflows: list[WorkflowFunnel]


@router.get("/reports/funnel", response_model=FunnelReport)
def funnel_report(
    app: Journeyman,
    workflow: Annotated[str | None, Query(max_length=64, description="a workflow key")] = None,
    since: When = None,
    until: When = None,
) -> FunnelReport:
    """Per workflow, the emails sent in ``[since, until)`` (default: the last 30 days, at
    most 366) per day: sent, opened, clicked, converted."""
    found = browse.funnel(app, workflow, parse_time(since, "since"), parse_time(until, "until"))
    per_workflow: dict[str, WorkflowFunnel] = {}
    for day in found.days:
        key = found.keys.get(day.workflow_id, str(day.workflow_id))
        entry = per_workflow.setdefault(
            key, WorkflowFunnel(workflow=key, totals=FunnelCounts(), days=[])
        )
        counts = {n: getattr(day, n) for n in ("sent", "opened", "clicked", "converted")}
        entry.days.append(FunnelDay(date=day.day.isoformat(), **counts))
        for name, count in counts.items():
            setattr(entry.totals, name, getattr(entry.totals, name) + count)
    return FunnelReport(
        since=found.since.isoformat(),
        until=found.until.isoformat(),
        workflows=sorted(per_workflow.values(), key=lambda w: w.workflow),
    )
