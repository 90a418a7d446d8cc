"""What a step kind is: a parameter model, the facts it needs, and a batch function."""

from __future__ import annotations

import datetime as dt
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, NamedTuple
from zoneinfo import ZoneInfo

from journeyman import schedule, templating
from journeyman.conditions import Facts
from journeyman.conditions.rules import Needs
from journeyman.model.contacts import AttributeDefinition, ContactView
from journeyman.model.runs import Outcome, RunView


# A NamedTuple, not a frozen dataclass: one is built per run and step on the engine's hot
# path, where it costs a third as much (docs/architecture.md, "Measured").
class StepItem(NamedTuple):
    """One run handed to a step, with the facts the engine loaded for it."""

    run: RunView
    contact: ContactView | None
    facts: Facts
    event: Mapping[str, Any] | None = None  # the trigger event: name, occurred_at, properties


@dataclass(frozen=True, kw_only=True)
class StepEnv:
    """What a whole batch shares: the time, the workflow, resolved names, the secret."""

    now: dt.datetime
    workflow_key: str
    step_id: str
    list_ids: Mapping[str, int]
    secret: bytes
    workflow_id: int = 0
    public_url: str | None = None  # where the HTTP API answers links (unsubscribe)
    owners: Mapping[int, str] = field(default_factory=dict)  # user id -> email
    attributes: Mapping[str, AttributeDefinition] = field(default_factory=dict)
    workflows: Mapping[str, WorkflowInfo] = field(default_factory=dict)
    default_timezone: str = "UTC"  # for contacts without a time zone of their own


@dataclass(frozen=True, kw_only=True)
class WorkflowInfo:
    """What a step may know of another workflow: to start it, and at which step."""

    key: str
    status: str
    steps: frozenset[str]


class StepKind(ABC):
    """A kind of step. ``kind`` is persisted in workflow versions: never rename it.

    ``branches`` are the ways out a definition must connect (``next`` is optional and means
    "end" when absent; the others are required). ``sends_message``: the step messages the
    contact, so the engine holds it back during a workflow's quiet hours.
    """

    kind: ClassVar[str]
    params: ClassVar[Any]
    branches: ClassVar[tuple[str, ...]] = ("next",)
    branch_fields: ClassVar[bool] = True  # False: ``targets(params)`` names the ways out
    aliases: ClassVar[tuple[str, ...]] = ()
    sends_message: ClassVar[bool] = False

    def needs(self, params: Any) -> Needs:
        return Needs()

    def lists_used(self, params: Any) -> set[str]:
        return set()

    def references(self, params: Any) -> dict[str, set[str]]:
        """Names of attributes, workflows or users the step uses (checked at apply time)."""
        return {}

    def reference_field(self, params: Any, kind: str, name: str) -> str:
        """Where the user wrote reference ``name`` of ``kind`` (problems name it there)."""
        return {"attributes": "name", "workflows": "workflow"}.get(kind, kind)

    def targets(self, params: Any) -> dict[str, str] | None:
        """Ways out that the parameters name (``go_to``); None: the step's branch fields."""
        return None

    def target_field(self, params: Any, branch: str) -> str:
        """Where the user wrote the way out ``branch`` (problems name it there)."""
        return branch

    def check(self, params: Any) -> list[tuple[str, str]]:
        """Apply-time checks beyond the parameter model: (field, message) pairs."""
        return []

    def templates(self, params: Any) -> list[tuple[str, str, bool]]:
        """The step's templates: (field, source, html) triples, checked against the render
        limits when a workflow is applied."""
        return []

    @abstractmethod
    def run(self, params: Any, items: Sequence[StepItem], env: StepEnv) -> list[Outcome]:
        """One outcome per item, in order. Pure: no I/O, no clock but ``env.now``."""


def idempotency_key(item: StepItem, env: StepEnv) -> str:
    """``run:step:seq``: the same for a replay of the same step, so that what the step queues
    or records (a message, a deal, a conversion) is written once and ``unique_code`` gives
    the same code again."""
    return f"{item.run.run_id}:{env.step_id}:{item.run.seq}"


def contact_zone(item: StepItem, env: StepEnv) -> ZoneInfo:
    """The contact's time zone, else the configured default (journeyman.schedule.zone_or)."""
    return schedule.zone_or(item.contact.timezone if item.contact else None, env.default_timezone)


def failed(run_id: int, reason: str) -> Outcome:
    """The step could not do its work: the run ends as failed, ``reason`` in its log."""
    return Outcome(run_id=run_id, result="failed", fail=True, reason=reason)


def template_context(item: StepItem, env: StepEnv) -> dict[str, Any]:
    """What every template sees, whatever the step: the contact, the trigger event, the
    answers of the run's webhooks, the workflow, the step's id and ``unique_code``."""
    run = item.run
    return {
        "contact": item.contact.template_context() if item.contact else {"id": run.contact_id},
        "event": item.event or {},
        "webhook": run.context.get("webhook", {}),
        "workflow": {"key": env.workflow_key},
        "step": env.step_id,
        "unique_code": templating.code_maker(env.secret, idempotency_key(item, env)),
    }


def template_failed(run_id: int, error: templating.TemplateError, now: dt.datetime) -> Outcome:
    """The outcome of a render that failed: the step fails with the reason, except when the
    step's batch ran out of render time: then the run waits on the step and tries again."""
    if isinstance(error, templating.TemplateDeferred):
        retry = now + dt.timedelta(seconds=templating.DEFER_SECONDS)
        return Outcome(
            run_id=run_id,
            result="deferred",
            branch=None,
            reason=f"{error}: tried again at {retry:%H:%M:%S}",
            park=True,
            wait_until=retry,
        )
    return failed(run_id, str(error))
