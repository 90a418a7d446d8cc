"""The names a workflow uses from outside itself, checked against the names that exist (pure).

The store loads what exists (:class:`KnownNames`); :func:`reference_problems` decides.
Apply, validate (HTTP and CLI) and activate all decide here, so they refuse the same
documents with the same problems: step id, field path of the reference, message.

Lists are not checked: apply creates the lists a workflow uses (:func:`lists_to_create`
says which it would create).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from journeyman.errors import Problem
from journeyman.workflow.document import Workflow


@dataclass(frozen=True, kw_only=True)
class KnownNames:
    """What exists in a database, as far as references go."""

    attributes: frozenset[str] = frozenset()
    users: frozenset[str] = frozenset()  # emails, lower case
    # workflow key -> the step ids of its current version (None: no version to look into)
    workflows: Mapping[str, frozenset[str] | None] = field(default_factory=dict)
    lists: frozenset[str] = frozenset()


def reference_problems(workflow: Workflow, known: KnownNames, *, activating: bool) -> list[Problem]:
    """Every attribute, user and workflow the steps name exists (a workflow may name itself),
    and a ``start_workflow`` at a named step finds that step in the target's current version.

    A workflow named by ``start_workflow`` may be missing while this one is stored as a draft
    (two workflows that start each other are applied one after the other): ``activating``
    False lets it pass."""
    exists = {
        "attributes": known.attributes,
        "users": known.users,
        "workflows": set(known.workflows) | {workflow.key},
    }
    problems = [
        Problem(
            step=step_id,
            field=reference_field(workflow, step_id, kind, name),
            message=f"{kind[:-1]} {name!r} does not exist",
            code=f"unknown_{kind[:-1]}",
        )
        for kind, names in sorted(workflow.references().items())
        for name, step_ids in sorted(names.items())
        if kind in exists and name not in exists[kind]
        if activating or kind != "workflows"
        for step_id in step_ids
    ]
    return problems + _missing_start_steps(workflow, known)


def lists_to_create(workflow: Workflow, known: KnownNames) -> list[str]:
    """The lists the steps use that do not exist yet (apply creates them), sorted."""
    return sorted(set(workflow.lists_used()) - known.lists)


def _missing_start_steps(workflow: Workflow, known: KnownNames) -> list[Problem]:
    # The workflow's own steps are those of the version being checked: once it is stored,
    # that is the current version a start_workflow of itself enters.
    steps_of = {**known.workflows, workflow.key: frozenset(workflow.steps)}
    problems = []
    for step in workflow.steps.values():
        if step.kind != "start_workflow" or step.params.step is None:
            continue
        key, target_step = step.params.workflow, step.params.step
        steps = steps_of.get(key)
        if steps is not None and target_step not in steps:
            problems.append(
                Problem(
                    step=step.id,
                    field="start_workflow.step",
                    message=f"workflow {key!r} has no step {target_step!r}",
                    code="unknown_start_step",
                )
            )
    return problems


def reference_field(workflow: Workflow, step_id: str, kind: str, name: str) -> str:
    """``kind.path`` of the parameter where the step names ``name``."""
    step = workflow.steps[step_id]
    return f"{step.kind}.{step.handler.reference_field(step.params, kind, name)}"
