"""How events change runs already inside a workflow, and who may enter again: pure decisions.

- ``react``: an event of the contact reaches a goal (the run ends as converted), an exit
  condition (the run exits), a restart condition (back to the first step), or what a
  ``wait_for_event`` step waits for (the run wakes). One reaction per run and batch.
- ``change``: what a reaction writes of its run (status, step, context, the run-log line).
- ``admit``: re-entry after a minimum gap, and at most one run per contact and workflow
  unless ``allow_parallel_runs``: a second event for a run started in the same batch waits
  for the next tick (deferred), one for a run already inside is refused.
- ``hold_back``: before either, the events of a batch that must wait for the next tick (a
  run's second reaction; an event about a run the batch may start; an event about a run the
  engine has yet to move, a crash's or a backlog's), so that none is lost and none is
  decided against a run's stale state.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from journeyman.conditions.evaluate import compare
from journeyman.engine.triggers import Candidate, Enrolment, entry_matches
from journeyman.model.events import Event, property_at
from journeyman.model.runs import InFlight, RunChange, RunStatus
from journeyman.workflow.document import EventRule, Workflow
from journeyman.workflow.entry_points import MANUAL_ENROLMENT, SEGMENT_BACKFILL


@dataclass(frozen=True, kw_only=True)
class Reaction:
    run: InFlight
    kind: str  # goal, exit, restart, wake
    event: Event
    reason: str


def rule_matches(rule: EventRule, event: Event, trigger_properties: Mapping[str, Any]) -> bool:
    if rule.event != event.name:
        return False
    if not all(
        compare(property_at(event.properties, path), test) for path, test in rule.where.items()
    ):
        return False
    if rule.same is None:
        return True
    mine = property_at(event.properties, rule.same)
    return mine is not None and mine == property_at(trigger_properties, rule.same)


def react(
    events: Sequence[Event], runs: Sequence[InFlight], definitions: Mapping[int, Workflow]
) -> list[Reaction]:
    by_contact: dict[int, list[InFlight]] = {}
    for run in runs:
        by_contact.setdefault(run.contact_id, []).append(run)
    reactions: list[Reaction] = []
    done: set[int] = set()
    for event in events:
        for run in by_contact.get(event.contact_id, ()):
            if run.run_id in done or (run.trigger_event_id or 0) >= event.id:
                continue  # one reaction per batch; never to the event that started it
            found = _reaction(run, event, definitions[run.version_id])
            if found is not None:
                reactions.append(found)
                done.add(run.run_id)
    return reactions


def _reaction(run: InFlight, event: Event, workflow: Workflow) -> Reaction | None:
    for kind, rules, verb in (
        ("goal", workflow.goals, "goal reached"),
        ("exit", workflow.exit_when, "exit"),
        ("restart", workflow.restart_when, "restart"),
    ):
        if any(rule_matches(r, event, run.trigger_properties) for r in rules):
            return Reaction(run=run, kind=kind, event=event, reason=f"{verb}: {event.name}")
    waiting = run.context.get("waiting")
    if not isinstance(waiting, Mapping) or run.status is not RunStatus.WAITING:
        return None
    step = workflow.steps.get(str(waiting.get("step")))
    if step is None or step.kind != "wait_for_event":
        return None
    params = step.params
    if params.event != event.name or not all(
        compare(property_at(event.properties, path), test) for path, test in params.where.items()
    ):
        return None
    if params.same is not None:
        mine = property_at(event.properties, params.same)
        if mine is None or mine != waiting.get("same"):  # no value is no correlation
            return None
    return Reaction(run=run, kind="wake", event=event, reason=f"{event.name} arrived")


def change(reaction: Reaction, workflow: Workflow) -> RunChange:
    """What ``reaction`` does to its run (``workflow``: the run's version): goals and exits
    end it, a restart takes it back to the first step keeping only its chain, a wake keeps
    it on its step with the event that woke it in its context."""
    run, event = reaction.run, reaction.event
    seq, reason = run.seq + 1, reaction.reason
    if reaction.kind in ("goal", "exit"):
        converted = reaction.kind == "goal"
        return RunChange(
            run_id=run.run_id,
            seq=seq,
            status=RunStatus.COMPLETED if converted else RunStatus.EXITED,
            step_id=run.step_id,
            context=None,
            result="converted" if converted else "exited",
            reason=reason,
        )
    if reaction.kind == "restart":
        return RunChange(
            run_id=run.run_id,
            seq=seq,
            status=RunStatus.ACTIVE,
            step_id=workflow.first_step,
            context={k: v for k, v in run.context.items() if k == "chain"},
            result="restarted",
            reason=reason,
        )
    matched = {"id": event.id, "name": event.name, "properties": dict(event.properties)}
    return RunChange(
        run_id=run.run_id,
        seq=seq,
        status=RunStatus.ACTIVE,
        step_id=run.step_id,
        context={**run.context, "matched": matched},
        result="woken",
        reason=reason,
    )


def hold_back(
    events: Sequence[Event],
    runs: Sequence[InFlight],
    definitions: Mapping[int, Workflow],
    candidates: Sequence[Candidate],
) -> tuple[list[Event], list[Event]]:
    """(now, later): the events of a batch this tick decides, and those it puts back.

    A run takes one reaction per batch, and a run the batch starts takes its first step only
    after the batch. So an event that would be a run's second reaction, or that concerns a
    workflow an earlier event of the batch may start a run of the contact in (its exit,
    restart and goal events, the events its steps wait for, and its entry points unless runs
    may go in parallel), waits for the next tick; so do the contact's later events, to keep
    their order.

    So does an event about a run the engine has yet to move (``stale``): it would otherwise
    be decided against where the run stood when a worker died or fell behind (a purchase
    refused as "already inside" a run that was about to complete). Such a run is due, so a
    later tick moves it and then decides the event: the outcome is the one without the crash.
    A contact's first event is decided unless it waits for such a run: the queue moves on."""
    by_contact: dict[int, list[InFlight]] = {}
    for run in runs:
        by_contact.setdefault(run.contact_id, []).append(run)
    opens = _opens(candidates)
    now: list[Event] = []
    later: list[Event] = []
    held: set[int] = set()  # contacts whose later events wait
    reacted: set[int] = set()  # runs
    opened: dict[int, set[str]] = {}  # contact -> event names about runs it may start
    for event in events:
        contact = event.contact_id
        if (
            contact in held
            or event.name in opened.get(contact, ())
            or any(stale(run, event, definitions) for run in by_contact.get(contact, ()))
        ):
            held.add(contact)
            later.append(event)
            continue
        hits = {
            run.run_id
            for run in by_contact.get(contact, ())
            if not run.held
            and (run.trigger_event_id or 0) < event.id
            and _reaction(run, event, definitions[run.version_id]) is not None
        }
        if hits & reacted:
            held.add(contact)
            later.append(event)
            continue
        reacted |= hits
        for key, names in opens.get(event.name, ()):
            if key is None or event.properties.get("workflow") == key:
                opened.setdefault(contact, set()).update(names)
        now.append(event)
    return now, later


def stale(run: InFlight, event: Event, definitions: Mapping[int, Workflow]) -> bool:
    """Would ``event`` be decided against a state of ``run`` that is about to change: a
    reaction of a run a worker holds, or an entry refused as "already inside" a run that is
    held or due?"""
    if not (run.held or run.due) or (run.trigger_event_id or 0) >= event.id:
        return False
    workflow = definitions[run.version_id]
    if run.held and _reaction(run, event, workflow) is not None:
        return True
    return (
        not workflow.allow_parallel_runs
        and workflow.reentry != "once"  # refused for having entered, whatever the run does
        and _enters(workflow, event)
    )


def _enters(workflow: Workflow, event: Event) -> bool:
    if event.name in (MANUAL_ENROLMENT, SEGMENT_BACKFILL):
        return event.properties.get("workflow") == workflow.key
    return any(entry_matches(entry, event) for entry in workflow.entry_points)


def _opens(candidates: Sequence[Candidate]) -> dict[str, list[tuple[str | None, frozenset[str]]]]:
    """Event name -> what an event of that name may start a run in: (the key it must name,
    for the events addressed to one workflow, else None; the names that concern the run)."""
    opens: dict[str, list[tuple[str | None, frozenset[str]]]] = {}
    for candidate in candidates:
        workflow = candidate.workflow
        names = _concerns(workflow)
        for name in _entry_names(workflow):
            opens.setdefault(name, []).append((None, names))
        for name in (MANUAL_ENROLMENT, SEGMENT_BACKFILL):
            opens.setdefault(name, []).append((workflow.key, names))
    return opens


def _entry_names(workflow: Workflow) -> frozenset[str]:
    return frozenset(n for entry in workflow.entry_points for n in entry.event_names)


def _concerns(workflow: Workflow) -> frozenset[str]:
    """The events that change a run of ``workflow`` once inside, or may start a second one."""
    rules = (*workflow.exit_when, *workflow.restart_when, *workflow.goals)
    names = {r.event for r in rules}
    names.update(s.params.event for s in workflow.steps.values() if s.kind == "wait_for_event")
    if not workflow.allow_parallel_runs:
        names |= _entry_names(workflow)
    return frozenset(names)


@dataclass(frozen=True, kw_only=True)
class Admission:
    admitted: list[Enrolment]
    deferred: list[Event]  # back to the queue: the next tick decides
    refused: list[tuple[Enrolment, str]]


def admit(
    enrolments: Sequence[Enrolment],
    inside: Mapping[tuple[int, int], int],
    last_entered: Mapping[tuple[int, int], dt.datetime],
    now: dt.datetime,
) -> Admission:
    """``inside``: (workflow, contact) -> a run id still inside; ``last_entered``: the latest
    entry time of each pair (for re-entry after a gap).

    An event that would start a second run beside one started in this same batch is
    deferred whole (none of its enrolments), and so are the contact's later events: the next
    tick decides them, in order, once the first run has moved on."""
    admitted: list[Enrolment] = []
    deferred: dict[int, Event] = {}
    refused: list[tuple[Enrolment, str]] = []
    started: set[tuple[int, int]] = set()
    held_back: set[int] = set()  # contacts whose later events wait too
    for event_id, group in _by_event(enrolments):
        event = group[0].event
        if event.contact_id in held_back:
            deferred[event_id] = event
            continue
        chosen: list[Enrolment] = []
        for enrolment in group:
            pair = (enrolment.candidate.workflow_id, event.contact_id)
            if not enrolment.candidate.workflow.allow_parallel_runs and pair in started:
                held_back.add(event.contact_id)
                break
            reason = _refusal(enrolment, pair, inside, last_entered, now)
            if reason is None:
                chosen.append(enrolment)
            else:
                refused.append((enrolment, reason))
        if event.contact_id in held_back:
            deferred[event_id] = event
            refused = [r for r in refused if r[0].event.id != event_id]
            continue
        for enrolment in chosen:
            started.add((enrolment.candidate.workflow_id, event.contact_id))
        admitted.extend(chosen)
    return Admission(admitted=admitted, deferred=list(deferred.values()), refused=refused)


def _by_event(enrolments: Sequence[Enrolment]) -> list[tuple[int, list[Enrolment]]]:
    groups: dict[int, list[Enrolment]] = {}
    for enrolment in enrolments:
        groups.setdefault(enrolment.event.id, []).append(enrolment)
    return list(groups.items())


def _refusal(
    enrolment: Enrolment,
    pair: tuple[int, int],
    inside: Mapping[tuple[int, int], int],
    last_entered: Mapping[tuple[int, int], dt.datetime],
    now: dt.datetime,
) -> str | None:
    workflow = enrolment.candidate.workflow
    if workflow.reentry_gap is not None and pair in last_entered:
        since = now - last_entered[pair]
        if since < workflow.reentry_gap:
            return f"entered {since.days} days ago; again after {workflow.reentry_gap.days}"
    if not workflow.allow_parallel_runs and pair in inside:
        return f"already inside this workflow (run {inside[pair]})"
    return None
