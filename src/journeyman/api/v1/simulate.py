"""``POST /api/v1/workflows/{key}/simulate``: the dry-run simulator (:mod:`journeyman.simulation`)
over HTTP: a contact and an event through the workflow's current version, time skipped,
nothing sent, webhooks answered as the request says."""

from __future__ import annotations

import datetime as dt
from typing import Any, ClassVar

from pydantic import BaseModel, Field

from journeyman import simulation
from journeyman.api.v1.common import V1_ERRORS, v1_router
from journeyman.api.wire import Body, Journeyman
from journeyman.services import versions, workflows

router = v1_router("workflows")


class WebhookAnswer(BaseModel):
    status: int = Field(default=200, ge=100, le=599)
    json_body: Any = Field(default=None, alias="json", description="the JSON it answers with")


class LaterEventBody(BaseModel):
    after_minutes: int = Field(ge=0, le=5_270_400, description="after the entering event")
    event_name: str
    event_properties: dict[str, Any] = Field(default_factory=dict)


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
    then_events: list[LaterEventBody] = Field(
        default_factory=list,
        max_length=100,
        description="later events of the contact: what waits, exits and goals react to",
    )


class DocumentScenarioBody(ScenarioBody):
    max_text: ClassVar[int | None] = None  # templates are long texts; the body is limited
    document: dict[str, Any] = Field(
        description="a workflow document, as apply takes it; it is not stored"
    )


def _scenario(body: ScenarioBody) -> simulation.Scenario:
    return simulation.Scenario(
        email=body.email,
        attributes=body.attributes,
        lists=tuple(body.lists),
        event=body.event_name,
        properties=body.event_properties,
        webhook_status=body.webhook.status,
        webhook_json=body.webhook.json_body,
        horizon=dt.timedelta(days=body.horizon_days),
        later=tuple(
            simulation.LaterEvent(
                after=dt.timedelta(minutes=e.after_minutes),
                name=e.event_name,
                properties=e.event_properties,
            )
            for e in body.then_events
        ),
    )


@router.post("/workflows/simulate", response_model=simulation.Simulation, responses=V1_ERRORS)
def simulate_document(body: DocumentScenarioBody, app: Journeyman) -> simulation.Simulation:
    """Dry run of a document before it is applied: validated as apply would (422 with every
    problem), then simulated as ``/workflows/{key}/simulate`` does. Nothing is stored."""
    workflows.validate(app, body.document)
    return simulation.simulate(app, body.document, _scenario(body))


@router.post("/workflows/{key}/simulate", response_model=simulation.Simulation, responses=V1_ERRORS)
def simulate_workflow(key: str, body: ScenarioBody, app: Journeyman) -> simulation.Simulation:
    """Dry run of the current version: the path, the reason of every step, the messages it
    would send and the webhooks it would call. The store is only read."""
    return simulation.simulate(app, versions.current_document(app, key), _scenario(body))
