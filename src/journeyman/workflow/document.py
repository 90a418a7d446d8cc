"""Workflow documents: the pydantic model users write, validation, and the parsed definition.

A document is validated in two passes: the parameter models (pydantic, per step kind), then
the graph (unique ids, existing targets, every step reachable). Every problem names the step
id and the field.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    TypeAdapter,
    ValidationError,
    create_model,
)

from journeyman import templating
from journeyman.conditions import Comparison, rules
from journeyman.errors import InvalidWorkflow, Problem
from journeyman.schedule import Window
from journeyman.steps.base import StepKind
from journeyman.steps.registry import REGISTRY
from journeyman.steps.timing import QuietHoursParams
from journeyman.workflow.entry_points import Entry, EntryPoint

END = "end"
STEP_ID = r"^[A-Za-z][A-Za-z0-9_-]{0,63}$"
KEY = r"^[a-z0-9][a-z0-9_-]{0,63}$"

StepId = Annotated[str, Field(pattern=STEP_ID)]
TemplateName = Annotated[str, Field(min_length=1, max_length=500)]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


class EventRule(_Frozen):
    """An event that changes runs already inside: ``where`` filters its properties; ``same``
    names a property that must equal the trigger event's (the same ``cart_id``)."""

    event: str = Field(min_length=1)
    where: dict[str, Comparison] = Field(default_factory=dict)
    same: str | None = None


class GapDays(_Frozen):
    days: int = Field(ge=1, le=3650)


class ReentryAfter(_Frozen):
    """Enter again once ``after`` has passed since the last entry."""

    after: GapDays


class WorkflowDocument(_Frozen):
    key: str | None = Field(default=None, pattern=KEY, description="stable id; default: from name")
    name: str = Field(min_length=1)
    description: str | None = None
    entry_points: list[EntryPoint] = Field(min_length=1)
    reentry: Literal["once", "every_time"] | ReentryAfter = Field(
        default="once",
        description="may a contact enter again: once, every_time, {after: {days: N}}",
    )
    allow_parallel_runs: bool = Field(
        default=False, description="may a contact have several runs inside at once?"
    )
    exit_when: list[EventRule] = Field(default_factory=list, description="leave from any step")
    restart_when: list[EventRule] = Field(default_factory=list, description="back to step 1")
    goals: list[EventRule] = Field(default_factory=list, description="end the run as converted")
    quiet_hours: QuietHoursParams | None = Field(
        default=None, description="no messages from..to in the contact's local time"
    )
    templates: dict[TemplateName, str] = Field(
        default_factory=dict,
        description="named HTML templates: a send_email ``template:`` naming one takes its "
        "HTML (before any file of that name; over the HTTP API the only templates there are)",
    )
    steps: list[Any] = Field(min_length=1)


@dataclass(frozen=True, kw_only=True)
class StepDef:
    id: str
    kind: str
    params: Any
    targets: Mapping[str, str | None]
    disabled: bool = False
    name: str | None = None

    @property
    def handler(self) -> StepKind:
        return REGISTRY.get(self.kind)


@dataclass(frozen=True, kw_only=True)
class Workflow:
    """A validated definition: what the engine runs. ``document`` is its stored JSON form."""

    key: str
    name: str
    entry_points: tuple[Entry, ...]
    reentry: str  # once, every_time, after (then ``reentry_gap``)
    steps: Mapping[str, StepDef]
    first_step: str
    document: Mapping[str, Any]
    reentry_gap: dt.timedelta | None = None
    allow_parallel_runs: bool = False
    exit_when: tuple[EventRule, ...] = ()
    restart_when: tuple[EventRule, ...] = ()
    goals: tuple[EventRule, ...] = ()
    quiet_hours: Window | None = None

    @property
    def reacts_to_events(self) -> bool:
        """Do events change this workflow's runs once inside (exit, restart, goal, waits)?"""
        return bool(
            self.exit_when
            or self.restart_when
            or self.goals
            or any(s.kind == "wait_for_event" for s in self.steps.values())
        )

    def target(self, step_id: str, branch: str) -> str | None:
        return self.steps[step_id].targets.get(branch)

    def references(self) -> dict[str, dict[str, list[str]]]:
        """What the steps name outside the workflow: kind ("attributes", "workflows",
        "users") -> name -> the ids of the steps that name it."""
        found: dict[str, dict[str, list[str]]] = {}
        for step in self.steps.values():
            for kind, names in step.handler.references(step.params).items():
                for name in names:
                    found.setdefault(kind, {}).setdefault(name, []).append(step.id)
        return found

    def lists_used(self) -> dict[str, list[str]]:
        """List name -> the ids of the steps that use it."""
        used: dict[str, list[str]] = {}
        for step in self.steps.values():
            for name in step.handler.lists_used(step.params):
                used.setdefault(name, []).append(step.id)
        return used


@cache
def step_model(kind: StepKind) -> type[BaseModel]:
    fields: dict[str, Any] = {
        "id": (StepId, ...),
        "name": (str | None, None),
        "disabled": (bool, False),
        kind.kind: (kind.params, ...),
    }
    for branch in kind.branches if kind.branch_fields else ():
        if branch == "next":
            fields[branch] = (StepId | None, None)
        else:
            fields[branch] = (StepId, ...)
    model_name = "".join(part.title() for part in kind.kind.split("_")) + "Step"
    return create_model(model_name, __config__=ConfigDict(frozen=True, extra="forbid"), **fields)


def _step_tag(value: Any) -> str | None:
    if isinstance(value, dict):
        kinds = [k for k in value if k in REGISTRY]
        return kinds[0] if len(kinds) == 1 else None
    return None


@cache
def _step_adapter() -> TypeAdapter[Any]:
    members = tuple(Annotated[step_model(k), Tag(k.kind)] for k in REGISTRY.primary())
    union: Any = Annotated[_union(members), Discriminator(_step_tag)]  # built at run time
    return TypeAdapter(union)


def _union(members: tuple[Any, ...]) -> Any:
    result = members[0]
    for member in members[1:]:
        result = result | member
    return result


def json_schema() -> dict[str, Any]:
    """The published JSON Schema of workflow documents."""
    schema = WorkflowDocument.model_json_schema()
    step_schema = _step_adapter().json_schema(ref_template="#/$defs/{model}")
    defs = schema.setdefault("$defs", {})
    defs.update(step_schema.pop("$defs", {}))
    defs["Step"] = step_schema
    schema["properties"]["steps"]["items"] = {"$ref": "#/$defs/Step"}
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "Journeyman workflow"
    return schema


def parse_workflow(raw: Mapping[str, Any], *, stored: bool = False) -> Workflow:
    """Validate a document (already loaded from YAML/JSON, templates inlined).

    ``stored``: a version read back from the database, applied before; its templates are
    not dry-rendered again (an old version over today's limits fails its runs one by one
    with the reason instead of stopping the engine)."""
    if not isinstance(raw, Mapping):
        raise InvalidWorkflow(
            [Problem(message="a workflow document is a mapping (object)", code="not_mapping")]
        )
    problems: list[Problem] = []
    document = _validate_document(raw, problems)
    given = raw.get("steps")
    raw_steps = _with_templates(given if isinstance(given, list) else [], raw.get("templates"))
    steps = [_validate_step(i, s, problems) for i, s in enumerate(raw_steps)]
    defs = [s for s in steps if s is not None]
    # Steps that failed their own checks still exist as targets: report each problem once.
    known = {str(s["id"]) for s in raw_steps if isinstance(s, dict) and s.get("id")}
    _check_graph(defs, problems, known, complete=len(defs) == len(raw_steps))
    for step in defs:
        for field, message in step.handler.check(step.params):
            problems.append(Problem(step=step.id, field=f"{step.kind}.{field}", message=message))
    if not stored:
        problems += _template_limits(defs)
    if document is None or problems:
        raise InvalidWorkflow(problems)
    return _definition(document, defs, raw_steps)


def _template_limits(steps: list[StepDef]) -> list[Problem]:
    """Templates over a render limit whatever the contact (``{{ 'a' * 10**9 }}``)."""
    problems = []
    for step in steps:
        for field, source, html in step.handler.templates(step.params):
            reason = templating.check_limits(source, html=html)
            if reason:
                where = f"{step.kind}.{field}"
                problems.append(Problem(step=step.id, field=where, message=f"template: {reason}"))
    return problems


def _with_templates(raw_steps: list[Any], templates: Any) -> list[Any]:
    """The steps with the HTML of every named template inlined (copies; the input stays as it
    is), so that a stored version holds its HTML and not a name."""
    if not isinstance(templates, Mapping) or not templates:
        return raw_steps
    found = []
    for step in raw_steps:
        params = step.get("send_email") if isinstance(step, dict) else None
        if isinstance(params, dict) and params.get("html") is None:
            name = params.get("template")
            html = templates.get(name) if isinstance(name, str) else None
            if isinstance(html, str):
                step = {**step, "send_email": {**params, "html": html}}
        found.append(step)
    return found


def _validate_document(raw: Mapping[str, Any], problems: list[Problem]) -> WorkflowDocument | None:
    try:
        document = WorkflowDocument.model_validate(raw)
    except ValidationError as exc:
        for error in exc.errors():
            if error["loc"] and error["loc"][0] == "steps" and len(error["loc"]) > 1:
                continue
            loc = tuple(p for p in error["loc"] if not _union_member(p))
            message = error["msg"].removeprefix("Value error, ")
            problems.append(Problem(field=_dotted(loc), message=message, code=error["type"]))
        return None
    return document


def _validate_step(index: int, raw: Any, problems: list[Problem]) -> StepDef | None:
    step_id = raw.get("id") if isinstance(raw, dict) else None
    label = str(step_id) if step_id else f"#{index + 1}"
    if not isinstance(raw, dict):
        problems.append(
            Problem(step=label, message="a step is a mapping (object)", code="not_mapping")
        )
        return None
    kinds = [k for k in raw if k in REGISTRY]
    if len(kinds) != 1:
        unknown = [k for k in raw if k not in {"id", "name", "disabled", "next", "then", "else"}]
        what = f"unknown step kind {unknown[0]!r}" if unknown and not kinds else "no step kind"
        if len(kinds) > 1:
            what = f"several step kinds {kinds}"
        problems.append(
            Problem(
                step=label,
                message=f"{what}; expected one of: {', '.join(REGISTRY.names())}",
                code="unknown_kind",
            )
        )
        return None
    kind = REGISTRY.get(kinds[0])
    try:
        model = step_model(kind).model_validate(raw)
    except ValidationError as exc:
        for error in exc.errors():
            message = error["msg"].removeprefix("Value error, ")
            if error["type"] == "extra_forbidden":
                message = "unknown field"
            problems.append(
                Problem(
                    step=label, field=_dotted(error["loc"]), message=message, code=error["type"]
                )
            )
        return None
    targets = kind.targets(getattr(model, kinds[0])) or {
        b: getattr(model, b) for b in kind.branches
    }
    return StepDef(
        id=model.id,  # type: ignore[attr-defined]
        kind=kind.kind,
        params=getattr(model, kinds[0]),
        targets={b: (None if t == END else t) for b, t in targets.items()},
        disabled=model.disabled,  # type: ignore[attr-defined]
        name=model.name,  # type: ignore[attr-defined]
    )


def _check_graph(
    steps: list[StepDef], problems: list[Problem], known: set[str], *, complete: bool
) -> None:
    """Unique ids and existing targets; when every step is valid, reachability too."""
    before = len(problems)
    ids: dict[str, StepDef] = {}
    for step in steps:
        if step.id == END:
            problems.append(
                Problem(
                    step=step.id, field="id", message=f"{END!r} is reserved", code="reserved_id"
                )
            )
        if step.id in ids:
            problems.append(
                Problem(step=step.id, field="id", message="duplicate step id", code="duplicate_id")
            )
        ids[step.id] = step
    for step in steps:
        for branch, target in step.targets.items():
            if target is not None and target not in known:
                problems.append(
                    Problem(
                        step=step.id,
                        field=step.handler.target_field(step.params, branch),
                        message=f"target {target!r} is not a step of this workflow "
                        f"(use {END!r} to end the run)",
                        code="unknown_target",
                    )
                )
    if len(problems) > before or not steps or not complete:
        return
    seen, todo = set(), [steps[0].id]
    while todo:
        current = todo.pop()
        if current in seen:
            continue
        seen.add(current)
        todo.extend(t for t in ids[current].targets.values() if t is not None)
    for step in steps:
        if step.id not in seen:
            problems.append(
                Problem(
                    step=step.id,
                    message=f"unreachable: no path leads here from {steps[0].id!r}",
                    code="unreachable",
                )
            )


def _definition(document: WorkflowDocument, steps: list[StepDef], raw_steps: list[Any]) -> Workflow:
    key = document.key or slugify(document.name)
    # Named templates are inlined into the steps: the stored version does not keep the map.
    stored = document.model_dump(
        mode="json", by_alias=True, exclude_none=True, exclude={"templates"}
    )
    stored["key"] = key
    stored["steps"] = raw_steps
    return Workflow(
        key=key,
        name=document.name,
        entry_points=tuple(document.entry_points),
        reentry=document.reentry if isinstance(document.reentry, str) else "after",
        steps={s.id: s for s in steps},
        first_step=steps[0].id,
        document=stored,
        reentry_gap=(
            dt.timedelta(days=document.reentry.after.days)
            if isinstance(document.reentry, ReentryAfter)
            else None
        ),
        allow_parallel_runs=document.allow_parallel_runs,
        exit_when=tuple(document.exit_when),
        restart_when=tuple(document.restart_when),
        goals=tuple(document.goals),
        quiet_hours=document.quiet_hours.window() if document.quiet_hours else None,
    )


def slugify(name: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    return slug[:64] or "workflow"


def _union_member(part: int | str) -> bool:
    """Pydantic names the member of a union in an error's location: not a field."""
    return isinstance(part, str) and (part[:1].isupper() or "[" in part)


def _dotted(loc: tuple[int | str, ...]) -> str:
    """The field path of an error's location. A condition rule is a tagged union: pydantic
    names the tag (``event_count``) before the field of the same name; the document has the
    field once (``if.event_count.event``, not ``if.event_count.event_count.event``)."""
    parts: list[str] = []
    i = 0
    while i < len(loc):
        tag = i + 1 < len(loc) and loc[i] == loc[i + 1] and loc[i] in rules.RULE_KINDS
        parts.append(str(loc[i + 1] if tag else loc[i]))
        i += 2 if tag else 1
    return ".".join(parts)
