"""Which events enrol which contacts into which workflows: a pure decision."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from journeyman.conditions.evaluate import compare
from journeyman.model.events import Event, property_at
from journeyman.model.workflow import EventEntry, Workflow


@dataclass(frozen=True, kw_only=True)
class Candidate:
    """An active workflow version that events may enrol into."""

    workflow_id: int
    version_id: int
    workflow: Workflow


@dataclass(frozen=True, kw_only=True)
class Enrolment:
    candidate: Candidate
    event: Event


@dataclass(frozen=True, kw_only=True)
class Refusal:
    workflow_id: int
    event: Event
    reason: str


def entry_matches(entry: EventEntry, event: Event) -> bool:
    if entry.event != event.name:
        return False
    return all(
        compare(property_at(event.properties, path), test) for path, test in entry.where.items()
    )


def decide_enrolments(
    events: Sequence[Event],
    candidates: Sequence[Candidate],
    entered: Iterable[tuple[int, int]],
) -> tuple[list[Enrolment], list[Refusal]]:
    """Enrolments for ``events`` in order; ``entered`` holds (workflow, contact) pairs that
    already have a run (they are refused where re-entry is ``once``)."""
    seen = set(entered)
    enrolments: list[Enrolment] = []
    refusals: list[Refusal] = []
    for event in events:
        for candidate in candidates:
            workflow = candidate.workflow
            if not any(entry_matches(e, event) for e in workflow.entry_points):
                continue
            pair = (candidate.workflow_id, event.contact_id)
            if workflow.reentry == "once" and pair in seen:
                refusals.append(
                    Refusal(
                        workflow_id=candidate.workflow_id,
                        event=event,
                        reason="re-entry is off and the contact already entered this workflow",
                    )
                )
                continue
            seen.add(pair)
            enrolments.append(Enrolment(candidate=candidate, event=event))
    return enrolments, refusals


def event_names(candidates: Sequence[Candidate]) -> set[str]:
    return {e.event for c in candidates for e in c.workflow.entry_points}
