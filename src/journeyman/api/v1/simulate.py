"""``POST /api/v1/workflows/{key}/simulate``: the dry-run simulator (:mod:`journeyman.simulation`)
over HTTP: a contact and an event through the workflow's current version, time skipped,
nothing sent, webhooks answered as the request says."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict
from typing import Any

from pydantic import BaseModel, Field

from journeyman import simulation
from journeyman.api.v1.common import V1_ERRORS, v1_router
from journeyman.api.wire import Body, Journeyman

router = v1_router("workflows")


class WebhookAnswer(BaseModel):
    status: int = Field(default=200, ge=100, le=599)
    json_body: Any = Field(default=None, alias="json", description="the JSON it answers with")


class ScenarioBody(Body):
    email: str | None = Field(
        default=None, description="a stored contact (copied with its history) or a new one"
    )
    attributes: dict[str, Any] = Field(default_factory=dict, description="set on top")
    lists: list[str] = Field(default_factory=list, description="the contact is also in these")
    event_name: str | None = Field(default=None, description="default: the entry point's")
    event_properties: dict[str, Any] = Field(default_factory=dict)
    webhook: WebhookAnswer = Field(default_factory=WebhookAnswer)
    horizon_days: int = Field(default=400, ge=1, le=3660, description="stop after")


class SimulatedStep(BaseModel):
    at: dt.datetime
    workflow: str | None
    run_id: int
    step_id: str
    kind: str
    result: str
    branch: str | None
    reason: str


class SimulatedMessage(BaseModel):
    at: dt.datetime
    channel: str
    step_id: str | None
    recipient: str | None
    subject: str
    text: str | None
    status: str
    reason: str | None


class WebhookCall(BaseModel):
    at: dt.datetime
    method: str
    url: str
    body: Any


class SimulatedRun(BaseModel):
    status: str
    step_id: str | None


class SimulationResult(BaseModel):
    workflow: str
    email: str
    stored_contact: bool = Field(description="copied from the store with its history")
    event: str
    started_at: dt.datetime
    ended_at: dt.datetime = Field(description="the simulated clock when it stopped")
    entered: bool
    finished: bool = Field(description="no run inside at the end (else: the horizon)")
    runs: list[SimulatedRun]
    steps: list[SimulatedStep]
    refusals: list[str]
    messages: list[SimulatedMessage]
    webhooks: list[WebhookCall]


@router.post("/workflows/{key}/simulate", response_model=SimulationResult, responses=V1_ERRORS)
def simulate_workflow(key: str, body: ScenarioBody, app: Journeyman) -> SimulationResult:
    """Dry run of the current version: the path, the reason of every step, the messages it
    would send and the webhooks it would call. The store is only read."""
    scenario = simulation.Scenario(
        email=body.email,
        attributes=body.attributes,
        lists=tuple(body.lists),
        event=body.event_name,
        properties=body.event_properties,
        webhook_status=body.webhook.status,
        webhook_json=body.webhook.json_body,
        horizon=dt.timedelta(days=body.horizon_days),
    )
    found = simulation.simulate(app, app.current_document(key), scenario)
    return SimulationResult.model_validate(asdict(found))
