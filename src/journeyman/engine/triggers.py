"""Which events enrol which contacts into which workflows: a pure decision.

Every entry point is an event name plus property filters (``model.entry_points``), so one
path serves them all: the events of a batch are matched by name and filters, then the
contact filters (and segments) are evaluated on facts the caller loaded for the batch
(``fact_subjects`` says for which events and ``contact_needs`` which facts), then re-entry.

Besides its entry points, every workflow accepts the ``manual_enrolment`` events that name
it (``workflow`` property): manual enrolment from the CLI or the API.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from journeyman.conditions import Facts, Needs, compare, evaluate, needs_of
from journeyman.model.events import AnniversaryScan, Event, property_at
from journeyman.model.runs import Refusal
from journeyman.model.subjects import Probe
from journeyman.workflow.document import Workflow
from journeyman.workflow.entry_points import (
    ATTRIBUTE_CHANGED,
    CONTACT_CREATED,
    LIST_ADDED,
    LIST_REMOVED,
    MANUAL_ENROLMENT,
    SEGMENT_BACKFILL,
    AnniversaryEntry,
    Entry,
    EventEntry,
    SegmentEntry,
)

# Events that name the one workflow they are for (``workflow`` property).
_ADDRESSED = frozenset({MANUAL_ENROLMENT, SEGMENT_BACKFILL})
# The implicit entry point of every workflow: manual enrolment.
_MANUAL = EventEntry(event=MANUAL_ENROLMENT)


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


def entry_matches(entry: Entry, event: Event) -> bool:
    """The event's name and properties fit the entry point (its contact filter aside)."""
    if event.name not in entry.event_names:
        return False
    return all(compare(property_at(event.properties, path), test) for path, test in entry.filters)


def decide_enrolments(
    events: Sequence[Event],
    candidates: Sequence[Candidate],
    entered: Iterable[tuple[int, int]],
    facts: Mapping[int, Facts] | None = None,
) -> tuple[list[Enrolment], list[Refusal]]:
    """Enrolments for ``events`` in order; ``entered`` holds (workflow, contact) pairs that
    already have a run (they are refused where re-entry is ``once``); ``facts`` maps the id
    of each event ``fact_subjects`` named to its contact's facts.

    An entry point with a contact filter refuses, with the filter's reason, when its event
    has no facts (the filter cannot be checked). A contact starts matching a workflow's
    segments at most once per batch: several changes in one batch are one start."""
    seen = set(entered)
    started: set[tuple[int, int]] = set()
    routes = _routes(candidates)
    enrolments: list[Enrolment] = []
    refusals: list[Refusal] = []
    for event in events:
        for candidate, entries in routes.get(event.name, ()):
            admitted, reason = _admits(candidate, entries, event, facts)
            if admitted is None:
                if reason is not None:
                    refusals.append(_refusal(candidate, event, reason))
                continue
            pair = (candidate.workflow_id, event.contact_id)
            if isinstance(admitted, SegmentEntry):
                if pair in started:
                    continue
                started.add(pair)
            if candidate.workflow.reentry == "once" and pair in seen:
                refusals.append(
                    _refusal(
                        candidate,
                        event,
                        "re-entry is off and the contact already entered this workflow",
                    )
                )
                continue
            seen.add(pair)
            enrolments.append(Enrolment(candidate=candidate, event=event))
    return enrolments, refusals


def _refusal(candidate: Candidate, event: Event, reason: str) -> Refusal:
    return Refusal(
        workflow_id=candidate.workflow_id,
        contact_id=event.contact_id,
        event_id=event.id,
        reason=reason,
    )


def _routes(
    candidates: Sequence[Candidate],
) -> dict[str, list[tuple[Candidate, tuple[Entry, ...]]]]:
    """Event name -> the candidates (in order) with their entry points for that name."""
    routes: dict[str, list[tuple[Candidate, tuple[Entry, ...]]]] = {}
    for candidate in candidates:
        by_name: dict[str, list[Entry]] = {name: [] for name in _ADDRESSED}
        for entry in candidate.workflow.entry_points:
            for name in entry.event_names:
                by_name.setdefault(name, []).append(entry)
        for name, entries in by_name.items():
            routes.setdefault(name, []).append((candidate, tuple(entries)))
    return routes


def _admits(
    candidate: Candidate,
    entries: tuple[Entry, ...],
    event: Event,
    facts: Mapping[int, Facts] | None,
) -> tuple[Entry | None, str | None]:
    """The entry point that takes the event, else None and, if
    contact filters refused it, why (else None: the event is not for this workflow)."""
    if event.name in _ADDRESSED:
        if event.properties.get("workflow") != candidate.workflow.key:
            return None, None
        if event.name == MANUAL_ENROLMENT:
            return _MANUAL, None
    known = facts.get(event.id) if facts is not None else None
    reasons: list[str] = []
    for entry in entries:
        if not entry_matches(entry, event):
            continue
        if isinstance(entry, SegmentEntry):
            if known is None:
                reasons.append("segment not evaluated: no facts were loaded")
                continue
            if not starts_matching(entry, event, known):
                continue
        if entry.contacts is not None:
            if known is None:
                reasons.append("contact filter not evaluated: no facts were loaded")
                continue
            verdict = evaluate(entry.contacts, known)
            if not verdict.result:
                reasons.append(f"contact filter: {verdict.reason}")
                continue
        return entry, None
    return None, "; ".join(reasons) or None


def starts_matching(entry: SegmentEntry, event: Event, facts: Facts) -> bool:
    """Does the contact match the segment now, and not without the change ``event`` made?

    ``facts`` are the contact's as loaded (after the change); the state before is the same
    with the change undone. A new contact and a backfill (``enrol_existing``) had no
    state before."""
    if not evaluate(entry.segment, facts).result:
        return False
    if event.name in (CONTACT_CREATED, SEGMENT_BACKFILL):
        return True
    before = _undo(event, facts)
    return before is not None and not evaluate(entry.segment, before).result


def _undo(event: Event, facts: Facts) -> Facts | None:
    properties = event.properties
    if event.name == ATTRIBUTE_CHANGED:
        name = properties.get("name")
        if not isinstance(name, str):
            return None
        attributes = dict(facts.attributes)
        old = properties.get("old")
        if old is None:
            attributes.pop(name, None)
        else:
            attributes[name] = old
        return facts._replace(attributes=attributes)
    if event.name in (LIST_ADDED, LIST_REMOVED):
        name = properties.get("list")
        if not isinstance(name, str):
            return None
        lists = facts.lists - {name} if event.name == LIST_ADDED else facts.lists | {name}
        return facts._replace(lists=lists)
    return None


# --- what the caller loads for a batch ----------------------------------------------------


def _conditional(entry: Entry) -> bool:
    return entry.contacts is not None or isinstance(entry, SegmentEntry)


def contact_needs(candidates: Sequence[Candidate]) -> Needs | None:
    """The facts the contact filters and segments of these workflows read (None: they have
    none, nothing to load)."""
    found: Needs | None = None
    for candidate in candidates:
        for entry in candidate.workflow.entry_points:
            for condition in (entry.contacts, getattr(entry, "segment", None)):
                if condition is not None:
                    needs = needs_of(condition)
                    found = needs if found is None else found | needs
    return found


def fact_subjects(events: Sequence[Event], candidates: Sequence[Candidate]) -> list[Probe]:
    """What the facts loader loads for: one subject per event that reaches a contact filter
    or a segment, keyed and anchored by the event's id, so event counts are taken up to the
    event, as for a run it starts."""
    conditional: dict[str, list[Entry]] = {}
    for candidate in candidates:
        for entry in candidate.workflow.entry_points:
            if _conditional(entry):
                for name in entry.event_names:
                    conditional.setdefault(name, []).append(entry)
    if not conditional:
        return []
    return [
        Probe(key=event.id, contact_id=event.contact_id, anchor_event_id=event.id)
        for event in events
        if any(entry_matches(e, event) for e in conditional.get(event.name, ()))
    ]


def event_names(candidates: Sequence[Candidate]) -> set[str]:
    """The event names the entry points of ``candidates`` listen to (every workflow also
    takes the ``manual_enrolment`` events that name it)."""
    return {n for c in candidates for e in c.workflow.entry_points for n in e.event_names}


# --- what the runner schedules ------------------------------------------------------------


def anniversary_specs(candidates: Sequence[Candidate]) -> frozenset[AnniversaryScan]:
    """What the daily scan (``store.system_events.record_due_anniversaries_txn``) looks
    for: one per attribute and offset of the anniversary entry points."""
    return frozenset(
        AnniversaryScan(attribute=entry.anniversary.attribute, days_before=entry.anniversary.offset)
        for c in candidates
        for entry in c.workflow.entry_points
        if isinstance(entry, AnniversaryEntry)
    )


def backfill_rate(workflow: Workflow) -> int | None:
    """Contacts per minute to examine when ``workflow`` is activated: set when one of its
    segment entry points has ``enrol_existing`` (the fastest one wins), else None."""
    rates = [
        e.per_minute
        for e in workflow.entry_points
        if isinstance(e, SegmentEntry) and e.enrol_existing
    ]
    return max(rates) if rates else None
