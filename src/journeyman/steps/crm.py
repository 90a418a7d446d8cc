"""CRM actions: create a deal, create a task, assign the contact to a user.

Who gets the deal, the task or the contact (the owner spec) is written in the workflow as
``{user: EMAIL}``, ``contact_owner`` or ``{round_robin: [EMAIL, ...]}``. The step only
passes the spec on: the engine resolves it when it writes the effect, in the transaction
that advances the runs, so a round-robin stays fair across concurrent batches and workers.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Annotated, Any, ClassVar, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    field_validator,
)

from journeyman import templating
from journeyman.conditions.rules import Needs
from journeyman.errors import InvalidContact
from journeyman.model.contacts import normalize_email
from journeyman.model.effects import AssignOwner, CreateDeal, CreateTask, OwnerChoice
from journeyman.model.events import property_at
from journeyman.model.runs import Outcome
from journeyman.steps.base import (
    StepEnv,
    StepItem,
    StepKind,
    failed,
    idempotency_key,
    template_context,
    template_failed,
)
from journeyman.steps.workflows import FromEvent

CONTACT_OWNER: Literal["contact_owner"] = "contact_owner"
_OWNER_FORMS = "contact_owner, {user: EMAIL} or {round_robin: [EMAIL, ...]}"


class FixedUser(BaseModel):
    """One user, by email."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    user: str


class RoundRobin(BaseModel):
    """These users in turn, fairly across batches and workers."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    round_robin: tuple[str, ...] = Field(json_schema_extra={"minItems": 1})


def _owner_form(value: Any) -> str | None:
    if value == CONTACT_OWNER:
        return CONTACT_OWNER
    if isinstance(value, dict) and len(value) == 1:
        key = next(iter(value))
        return key if key in ("user", "round_robin") else None
    return None


def _normalized(spec: Any) -> Any:
    """Emails lower-cased and checked; a user named twice in a rotation refused."""
    try:
        if isinstance(spec, FixedUser):
            return FixedUser(user=normalize_email(spec.user))
        if isinstance(spec, RoundRobin):
            if not spec.round_robin:
                raise ValueError("round_robin names no user")
            emails = tuple(normalize_email(e) for e in spec.round_robin)
            twice = sorted({e for e in emails if emails.count(e) > 1})
            if twice:
                raise ValueError(f"round_robin names {', '.join(twice)} more than once")
            return RoundRobin(round_robin=emails)
    except InvalidContact as exc:
        raise ValueError(str(exc)) from None
    return spec


OwnerSpec = Annotated[
    Annotated[Literal["contact_owner"], Tag(CONTACT_OWNER)]
    | Annotated[FixedUser, Tag("user")]
    | Annotated[RoundRobin, Tag("round_robin")],
    Discriminator(
        _owner_form, custom_error_type="owner", custom_error_message=f"expected {_OWNER_FORMS}"
    ),
    AfterValidator(_normalized),
]
UserSpec = Annotated[
    Annotated[FixedUser, Tag("user")] | Annotated[RoundRobin, Tag("round_robin")],
    Discriminator(
        _owner_form,
        custom_error_type="owner",
        custom_error_message="expected {user: EMAIL} or {round_robin: [EMAIL, ...]}",
    ),
    AfterValidator(_normalized),
]


def _users_of(spec: Any) -> set[str]:
    if isinstance(spec, FixedUser):
        return {spec.user}
    if isinstance(spec, RoundRobin):
        return set(spec.round_robin)
    return set()


def _user_field(spec: Any, email: str) -> str:
    """Where in an owner spec ``email`` is written: ``user`` or ``round_robin.N``."""
    if isinstance(spec, RoundRobin) and email in spec.round_robin:
        return f"round_robin.{spec.round_robin.index(email)}"
    return "user"


def _choice(spec: Any, env: StepEnv) -> OwnerChoice:
    if isinstance(spec, FixedUser):
        return OwnerChoice(user=spec.user)
    if isinstance(spec, RoundRobin):
        return OwnerChoice(round_robin=spec.round_robin, rotation=_rotation(env))
    return OwnerChoice()


def _rotation(env: StepEnv) -> str:
    """The key of a step's round-robin position: its workflow and its id."""
    return f"{env.workflow_key}:{env.step_id}"


def _describe(spec: Any) -> str:
    if isinstance(spec, FixedUser):
        return spec.user
    if isinstance(spec, RoundRobin):
        return f"round-robin over {', '.join(spec.round_robin)}"
    return "the contact's owner"


def _check_template(source: str) -> str:
    error = templating.check_template(source, html=False)
    if error:
        raise ValueError(f"template error: {error}")
    return source


def _templated(source: str) -> bool:
    return "{" in source


def _render(source: str, item: StepItem, env: StepEnv, limit: int) -> str:
    """A name or title: the template with the contact and the trigger event, one line."""
    if not _templated(source):
        return source
    text = " ".join(templating.render(source, template_context(item, env), html=False).split())
    return text[:limit]


class CreateDealParams(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: Annotated[str, AfterValidator(_check_template)] = Field(
        min_length=1, description="template with contact and event"
    )
    pipeline: str = Field(default="default", min_length=1, max_length=100)
    stage: str = Field(min_length=1, max_length=100)
    amount: float | FromEvent | None = Field(
        default=None, description="a number, or {from_event: property} of the trigger event"
    )
    owner: OwnerSpec = CONTACT_OWNER

    @field_validator("amount")
    @classmethod
    def _not_negative(cls, value: float | FromEvent | None) -> float | FromEvent | None:
        if isinstance(value, float) and value < 0:
            raise ValueError("a deal is worth 0 or more")
        return value


class CreateDealStep(StepKind):
    """A deal linked to the contact, open, owned by the user the owner spec gives."""

    kind = "create_deal"
    params: ClassVar[type[CreateDealParams]] = CreateDealParams

    def templates(self, params: CreateDealParams) -> list[tuple[str, str, bool]]:
        return [("name", params.name, False)]

    def needs(self, params: CreateDealParams) -> Needs:
        templated = _templated(params.name)
        return Needs(contact=templated, event=templated or isinstance(params.amount, FromEvent))

    def references(self, params: CreateDealParams) -> dict[str, set[str]]:
        users = _users_of(params.owner)
        return {"users": users} if users else {}

    def reference_field(self, params: CreateDealParams, kind: str, name: str) -> str:
        return f"owner.{_user_field(params.owner, name)}"

    def run(
        self, params: CreateDealParams, items: Sequence[StepItem], env: StepEnv
    ) -> list[Outcome]:
        return [self._one(params, item, env) for item in items]

    def _one(self, params: CreateDealParams, item: StepItem, env: StepEnv) -> Outcome:
        given, amount = params.amount, None
        if isinstance(given, FromEvent):
            found = property_at((item.event or {}).get("properties") or {}, given.from_event)
            try:
                amount = float(found)
            except (TypeError, ValueError):
                return failed(
                    item.run.run_id, f"event property {given.from_event} = {found!r}, not a number"
                )
        else:
            amount = given
        try:
            name = _render(params.name, item, env, limit=300)
        except templating.TemplateError as exc:
            return template_failed(item.run.run_id, exc, env.now)
        if not name:
            return failed(item.run.run_id, "the deal name rendered empty")
        effect = CreateDeal(
            source_key=idempotency_key(item, env),
            contact_id=item.run.contact_id,
            name=name,
            pipeline=params.pipeline,
            stage=params.stage,
            amount=amount,
            owner=_choice(params.owner, env),
        )
        worth = "" if amount is None else f", amount {amount:g}"
        return Outcome(
            run_id=item.run.run_id,
            result="created",
            reason=f"deal {name!r} in {params.pipeline}/{params.stage}{worth}, "
            f"owner: {_describe(params.owner)}",
            effects=(effect,),
        )


class CreateTaskParams(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    title: Annotated[str, AfterValidator(_check_template)] = Field(
        min_length=1, description="template with contact and event"
    )
    type: Literal["todo", "call", "email", "meeting", "deadline"] = "todo"
    due_in_days: int = Field(default=0, ge=0, le=3650)
    assignee: OwnerSpec = CONTACT_OWNER


class CreateTaskStep(StepKind):
    """A task linked to the contact and to the contact's latest deal (if any)."""

    kind = "create_task"
    params: ClassVar[type[CreateTaskParams]] = CreateTaskParams

    def templates(self, params: CreateTaskParams) -> list[tuple[str, str, bool]]:
        return [("title", params.title, False)]

    def needs(self, params: CreateTaskParams) -> Needs:
        templated = _templated(params.title)
        return Needs(contact=templated, event=templated)

    def references(self, params: CreateTaskParams) -> dict[str, set[str]]:
        users = _users_of(params.assignee)
        return {"users": users} if users else {}

    def reference_field(self, params: CreateTaskParams, kind: str, name: str) -> str:
        return f"assignee.{_user_field(params.assignee, name)}"

    def run(
        self, params: CreateTaskParams, items: Sequence[StepItem], env: StepEnv
    ) -> list[Outcome]:
        due_at = env.now + dt.timedelta(days=params.due_in_days)
        assignee = _describe(params.assignee)
        outcomes = []
        for item in items:
            try:
                title = _render(params.title, item, env, limit=300)
            except templating.TemplateError as exc:
                outcomes.append(template_failed(item.run.run_id, exc, env.now))
                continue
            if not title:
                outcomes.append(failed(item.run.run_id, "the task title rendered empty"))
                continue
            effect = CreateTask(
                source_key=idempotency_key(item, env),
                contact_id=item.run.contact_id,
                title=title,
                type=params.type,
                due_at=due_at,
                assignee=_choice(params.assignee, env),
            )
            reason = (
                f"{params.type} task {title!r} due {due_at.date().isoformat()}, "
                f"assignee: {assignee}"
            )
            outcomes.append(
                Outcome(run_id=item.run.run_id, result="created", reason=reason, effects=(effect,))
            )
        return outcomes


class AssignUser(StepKind):
    """Make a user the contact's owner: a fixed user or round-robin over several."""

    kind = "assign_user"
    # The parameters are the spec itself: ``assign_user: {round_robin: [...]}``.
    params: ClassVar[Any] = UserSpec

    def references(self, params: FixedUser | RoundRobin) -> dict[str, set[str]]:
        return {"users": _users_of(params)}

    def reference_field(self, params: FixedUser | RoundRobin, kind: str, name: str) -> str:
        return _user_field(params, name)

    def run(
        self, params: FixedUser | RoundRobin, items: Sequence[StepItem], env: StepEnv
    ) -> list[Outcome]:
        choice = _choice(params, env)
        reason = f"owner: {_describe(params)}"
        return [
            Outcome(
                run_id=item.run.run_id,
                result="assigned",
                reason=reason,
                effects=(AssignOwner(contact_id=item.run.contact_id, owner=choice),),
            )
            for item in items
        ]
