"""The cohort stepper: claim a batch, group it by (version, step), run each group with one
batch call, apply every outcome in the same transaction.

A run that moves on without waiting is executed again within the same tick (no new claim);
effects are written after each pass, so the next pass's conditions see them.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.engine import Connection, Engine

from journeyman.clock import Clock
from journeyman.engine import triggers
from journeyman.engine.facts import load_items_txn
from journeyman.model.events import Event
from journeyman.model.effects import Effect, JoinList, LeaveList, QueueEmail
from journeyman.model.runs import Outcome, RunStatus, RunView
from journeyman.model.workflow import StepDef, Workflow, parse_workflow
from journeyman.steps.base import StepEnv, StepItem
from journeyman.store import events, lists, outbox, runs, transaction, workflows
from journeyman.store.runs import LogEntry, NewRun, RunState

logger = logging.getLogger(__name__)


@dataclass(frozen=True, kw_only=True)
class EngineSettings:
    batch_size: int = 1000
    max_hops: int = 100  # steps a run may take in one tick before it is stopped as a loop
    secret: bytes = b"journeyman-development-secret"


@dataclass(frozen=True, kw_only=True)
class TickReport:
    events: int = 0
    enrolled: int = 0
    claimed: int = 0
    steps: int = 0

    @property
    def idle(self) -> bool:
        return self.events == 0 and self.claimed == 0 and self.enrolled == 0


@dataclass(kw_only=True)
class _Pass:
    """What one tick accumulates before writing it."""

    states: dict[int, RunState] = dataclasses.field(default_factory=dict)
    log: list[LogEntry] = dataclasses.field(default_factory=list)
    steps: int = 0


class Stepper:
    def __init__(self, engine: Engine, clock: Clock, settings: EngineSettings | None = None):
        self._engine = engine
        self._clock = clock
        self._settings = settings or EngineSettings()
        self._definitions: dict[int, Workflow] = {}
        self._keys: dict[int, str] = {}

    def tick(self) -> TickReport:
        """One transaction: due runs first, then new events up to the batch size."""
        with transaction(self._engine) as connection:
            now = self._clock.now()
            due = runs.claim_due_runs_txn(connection, self._settings.batch_size, now)
            room = self._settings.batch_size - len(due)
            queued: list[Event] = []
            candidates = self._candidates_txn(connection)
            if room > 0:
                filtered = any(e.where for c in candidates for e in c.workflow.entry_points)
                queued = events.claim_queued_events_txn(connection, room, with_properties=filtered)
            new = self._enrol_txn(connection, queued, candidates)
            steps = self._advance_txn(connection, due, new, now)
        return TickReport(events=len(queued), enrolled=len(new), claimed=len(due), steps=steps)

    def _candidates_txn(self, connection: Connection) -> list[triggers.Candidate]:
        live = workflows.live_versions_txn(connection)
        self._load_definitions_txn(connection, {v.version_id for v in live})
        return [
            triggers.Candidate(
                workflow_id=v.workflow_id,
                version_id=v.version_id,
                workflow=self._definitions[v.version_id],
            )
            for v in live
        ]

    def _enrol_txn(
        self,
        connection: Connection,
        queued: Sequence[Event],
        candidates: Sequence[triggers.Candidate],
    ) -> list[RunView]:
        """Runs for the events that match an active workflow's entry points.

        Events that match nothing leave the queue all the same: a workflow activated later
        does not act on the past."""
        if not queued:
            return []
        once = [c.workflow_id for c in candidates if c.workflow.reentry == "once"]
        entered = runs.entered_txn(connection, once, [e.contact_id for e in queued])
        enrolments, refusals = triggers.decide_enrolments(queued, candidates, entered)
        for refusal in refusals:
            logger.info(
                "enrolment refused: %s",
                refusal.reason,
                extra={
                    "action": "enrolment_refused",
                    "workflow_id": refusal.workflow_id,
                    "event_id": refusal.event.id,
                },
            )
        new = [
            NewRun(
                workflow_id=e.candidate.workflow_id,
                version_id=e.candidate.version_id,
                contact_id=e.event.contact_id,
                step_id=e.candidate.workflow.first_step,
                trigger_event_id=e.event.id,
            )
            for e in enrolments
        ]
        return runs.allocate_runs_txn(connection, new)

    def _advance_txn(
        self, connection: Connection, due: list[RunView], new: list[RunView], now: dt.datetime
    ) -> int:
        """Move claimed and new runs as far as they go; new runs are inserted in their end
        state, claimed ones updated."""
        batch = [*due, *new]
        if not batch:
            return 0
        self._load_definitions_txn(connection, {r.version_id for r in batch})
        list_ids = lists.list_ids_txn(connection)
        tick = _Pass()
        active, hops = batch, 0
        while active:
            hops += 1
            if hops > self._settings.max_hops:
                self._stop_loops(active, tick, now)
                break
            active = self._one_pass_txn(connection, active, tick, list_ids, now)
        runs.insert_runs_txn(connection, new, tick.states, now)
        runs.save_states_txn(connection, [tick.states[r.run_id] for r in due], now)
        runs.append_log_txn(connection, tick.log)
        return tick.steps

    def _one_pass_txn(
        self,
        connection: Connection,
        active: list[RunView],
        tick: _Pass,
        list_ids: dict[str, int],
        now: dt.datetime,
    ) -> list[RunView]:
        groups: dict[tuple[int, str], list[RunView]] = defaultdict(list)
        for run in active:
            groups[(run.version_id, run.step_id)].append(run)
        moving: list[RunView] = []
        effects: list[Effect] = []
        for (version_id, step_id), group in groups.items():
            workflow = self._definitions[version_id]
            step = workflow.steps.get(step_id)
            if step is None:
                outcomes = [
                    Outcome(run_id=r.run_id, result="failed", fail=True, reason="step is gone")
                    for r in group
                ]
                kind = "missing"
            else:
                outcomes = self._run_group_txn(connection, workflow, step, group, list_ids, now)
                kind = step.kind
            tick.steps += len(group)
            for run, outcome in zip(group, outcomes, strict=True):
                effects.extend(outcome.effects)
                follow = _follow(workflow, run, step_id, outcome, kind, tick, now)
                if follow is not None:
                    moving.append(follow)
        _apply_effects_txn(connection, effects, now)
        return moving

    def _run_group_txn(
        self,
        connection: Connection,
        workflow: Workflow,
        step: StepDef,
        group: list[RunView],
        list_ids: dict[str, int],
        now: dt.datetime,
    ) -> list[Outcome]:
        handler = step.handler
        if step.disabled:
            branch = handler.branches[0]
            return [
                Outcome(run_id=r.run_id, result="skipped", branch=branch, reason="step disabled")
                for r in group
            ]
        items: list[StepItem] = load_items_txn(connection, handler.needs(step.params), group, now)
        env = StepEnv(
            now=now,
            workflow_key=workflow.key,
            step_id=step.id,
            list_ids=list_ids,
            secret=self._settings.secret,
        )
        outcomes = handler.run(step.params, items, env)
        if len(outcomes) != len(group):
            raise RuntimeError(f"step kind {step.kind} returned {len(outcomes)} outcomes")
        return outcomes

    def _stop_loops(self, active: list[RunView], tick: _Pass, now: dt.datetime) -> None:
        reason = f"stopped: more than {self._settings.max_hops} steps without waiting (a loop?)"
        for run in active:
            tick.states[run.run_id] = RunState(
                run_id=run.run_id,
                status=RunStatus.FAILED,
                step_id=run.step_id,
                seq=run.seq,
                due_at=None,
            )
            tick.log.append(
                LogEntry(
                    run_id=run.run_id,
                    seq=run.seq,
                    step_id=run.step_id,
                    kind="engine",
                    result="failed",
                    branch=None,
                    reason=reason,
                    at=now,
                )
            )

    def _load_definitions_txn(self, connection: Connection, version_ids: set[int]) -> None:
        missing = version_ids - self._definitions.keys()
        for version_id, document in workflows.definitions_txn(connection, missing).items():
            self._definition(version_id, document)

    def _definition(self, version_id: int, document: object) -> Workflow:
        found = self._definitions.get(version_id)
        if found is None:
            found = parse_workflow(document)  # type: ignore[arg-type]
            self._definitions[version_id] = found
        return found


def _follow(
    workflow: Workflow,
    run: RunView,
    step_id: str,
    outcome: Outcome,
    kind: str,
    tick: _Pass,
    now: dt.datetime,
) -> RunView | None:
    """Record the outcome; the run as it continues in this tick, or None when it stops here."""
    seq = run.seq + 1
    target = (
        workflow.target(step_id, outcome.branch)
        if outcome.branch and step_id in workflow.steps and not outcome.fail
        else None
    )
    tick.log.append(
        LogEntry(
            run_id=run.run_id,
            seq=seq,
            step_id=step_id,
            kind=kind,
            result=outcome.result,
            branch=outcome.branch if not outcome.fail else None,
            reason=outcome.reason,
            at=now,
        )
    )
    if outcome.fail:
        status, due, step = RunStatus.FAILED, None, step_id
    elif target is None:
        status, due, step = RunStatus.COMPLETED, None, None
    elif outcome.wait_until is not None and outcome.wait_until > now:
        status, due, step = RunStatus.WAITING, outcome.wait_until, target
    else:
        tick.states.pop(run.run_id, None)
        return dataclasses.replace(run, step_id=target, seq=seq)
    tick.states[run.run_id] = RunState(
        run_id=run.run_id, status=status, step_id=step, seq=seq, due_at=due
    )
    return None


def _apply_effects_txn(connection: Connection, effects: list[Effect], now: dt.datetime) -> None:
    if not effects:
        return
    lists.join_lists_txn(connection, [e for e in effects if isinstance(e, JoinList)], now)
    lists.leave_lists_txn(connection, [e for e in effects if isinstance(e, LeaveList)])
    emails = [e for e in effects if isinstance(e, QueueEmail)]
    if emails:
        outbox.enqueue_txn(connection, emails, now)
