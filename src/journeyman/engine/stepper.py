"""The cohort stepper: claim a batch, group it by (version, step), run each group with one
batch call, apply every outcome in bulk.

A tick has three kinds of transactions:

1. **claim** (short, writing): hold due runs of this worker's shard until a lease ends, and
   turn queued events into new runs, held the same way;
2. per pass, **read** (a snapshot, no write lock): load the facts each group needs; then the
   step kinds decide, outside any transaction (rendering included);
3. per pass, **write** (short, writing): the effects, the runs' new states and the run log,
   together, so a crash can neither lose an effect nor apply it twice.

Runs that move on without waiting take the next pass in the same tick (no new claim), and
each pass reads what the previous one wrote. Only the writes are serialised, so several
workers (one per shard of contacts) use several cores, on SQLite too.
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from sqlalchemy.engine import Connection, Engine

from journeyman import templating
from journeyman.clock import Clock
from journeyman.conditions import Facts
from journeyman.engine import lifecycle, triggers
from journeyman.engine.claims import release_dead_claims, worker_claim
from journeyman.engine.effects import apply_effects_txn
from journeyman.engine.facts import load_facts_txn, load_items_txn
from journeyman.model.contacts import AttributeDefinition
from journeyman.model.effects import Effect
from journeyman.model.events import Event
from journeyman.model.runs import LogEntry, NewRun, Outcome, Refusal, RunState, RunStatus, RunView
from journeyman.model.shards import Shard
from journeyman.signing import FixedKeys, SigningKeys
from journeyman.steps.base import StepEnv, StepItem, WorkflowInfo, failed
from journeyman.steps.timing import run_outside_quiet_hours
from journeyman.store import (
    contacts,
    events,
    lists,
    read_transaction,
    runs,
    system_events,
    transaction,
    workflows,
)
from journeyman.workflow.document import StepDef, Workflow, parse_workflow

logger = logging.getLogger(__name__)


@dataclass(frozen=True, kw_only=True)
class EngineSettings:
    batch_size: int = 1000
    max_hops: int = 100  # steps a run may take in one tick before it is stopped as a loop
    lease: dt.timedelta = dt.timedelta(minutes=5)
    # Random unless given (journeyman.signing: there is no built-in secret).
    keys: SigningKeys = field(default_factory=lambda: FixedKeys(secrets.token_bytes(32)))
    shard: tuple[int, int] = (0, 1)  # (index, count): this worker takes contact_id % count
    public_url: str | None = None
    default_timezone: str = "UTC"  # for contacts without their own


@dataclass(frozen=True, kw_only=True)
class TickReport:
    events: int = 0
    enrolled: int = 0
    claimed: int = 0
    steps: int = 0

    @property
    def idle(self) -> bool:
        return self.events == 0 and self.claimed == 0 and self.enrolled == 0


@dataclass(frozen=True, kw_only=True)
class _Shared:
    owners: Mapping[int, str]
    attributes: Mapping[str, AttributeDefinition]
    workflows: Mapping[str, WorkflowInfo]
    versions: Mapping[str, tuple[int, int]]  # key -> (workflow id, current version id)
    definitions: Mapping[int, Workflow]

    def live(self, key: str) -> tuple[int, int, Workflow] | None:
        """An active workflow by key: (id, current version id, definition)."""
        info, found = self.workflows.get(key), self.versions.get(key)
        if info is None or found is None or info.status != workflows.WorkflowStatus.ACTIVE:
            return None
        return found[0], found[1], self.definitions[found[1]]


@dataclass(frozen=True, kw_only=True)
class _Group:
    workflow: Workflow
    step: StepDef | None
    runs: list[RunView]


class Stepper:
    def __init__(self, engine: Engine, clock: Clock, settings: EngineSettings | None = None):
        self._engine = engine
        self._clock = clock
        self._settings = settings or EngineSettings()
        index, count = self._settings.shard
        self._shard = Shard(index=index, count=count)
        self._definitions: dict[int, Workflow] = {}
        self._inside: dict[tuple[int, int], int] = {}
        self._next_scan: dt.datetime | None = None
        self.claim = worker_claim()

    def release_dead_claims(self) -> int:
        """What dead workers of this host held becomes due now (not when leases end)."""
        return release_dead_claims(self._engine, self._clock)

    def tick(self) -> TickReport:
        settings = self._settings
        now = self._clock.now()
        with transaction(self._engine) as connection:
            lease_until = now + settings.lease
            candidates = self._candidates_txn(connection)
            if any(c.workflow.reentry != "every_time" for c in candidates):
                runs.serialize_enrolments_txn(connection)
            # Events first: they may end, restart or wake runs, and start new ones; then the
            # runs that are due (woken ones included) fill the batch. Up to half of it is
            # kept for runs already due, so that runs released from a dead worker, and
            # timers, move on under any backlog of events (events about them wait).
            share = runs.due_runs_count_txn(
                connection, now, up_to=settings.batch_size // 2, shard=self._shard
            )
            queued = events.claim_queued_events_txn(
                connection,
                max(settings.batch_size - share, 1),
                with_properties=True,
                shard=self._shard,
            )
            queued = self._react_txn(connection, queued, candidates, now)
            new = self._enrol_txn(connection, queued, candidates, now, lease_until)
            due = runs.claim_due_runs_txn(
                connection,
                max(settings.batch_size - len(new), share, 1),
                now,
                lease_until=lease_until,
                claim=self.claim,
                shard=self._shard,
            )
        steps = self._advance([*due, *new])
        return TickReport(events=len(queued), enrolled=len(new), claimed=len(due), steps=steps)

    def _react_txn(
        self,
        connection: Connection,
        queued: Sequence[Event],
        candidates: Sequence[triggers.Candidate],
        now: dt.datetime,
    ) -> list[Event]:
        """Goals, exits, restarts and waits for events: the runs of these events' contacts.

        Returns the events this tick decides; the others go back to the queue (see
        ``lifecycle.hold_back``). Leaves in ``self._inside`` the (workflow, contact) pairs
        that still have a run inside, for the enrolment that follows."""
        self._inside = {}
        if not queued:
            return []
        in_flight = runs.in_flight_txn(connection, {e.contact_id for e in queued}, now)
        self._load_definitions_txn(connection, {r.version_id for r in in_flight})
        decided, later = lifecycle.hold_back(queued, in_flight, self._definitions, candidates)
        events.requeue_txn(connection, later)
        # a run that a worker holds reacts once it is let go (hold_back kept its events)
        free = [run for run in in_flight if not run.held]
        reactions = lifecycle.react(decided, free, self._definitions)
        runs.apply_reactions_txn(
            connection,
            [lifecycle.change(r, self._definitions[r.run.version_id]) for r in reactions],
            now,
        )
        ended = {r.run.run_id for r in reactions if r.kind in ("goal", "exit")}
        self._inside = {
            (run.workflow_id, run.contact_id): run.run_id
            for run in in_flight
            if run.run_id not in ended
        }
        return decided

    def _entry_facts_txn(
        self,
        connection: Connection,
        queued: Sequence[Event],
        candidates: Sequence[triggers.Candidate],
        now: dt.datetime,
    ) -> dict[int, Facts] | None:
        """Facts for the entry points' contact filters: one load per batch, keyed by event
        id; None when no entry point filters contacts."""
        needs = triggers.contact_needs(candidates)
        if needs is None:
            return None
        subjects = triggers.fact_subjects(queued, candidates)
        if not subjects:
            return {}
        facts = load_facts_txn(
            connection, needs, subjects, now, default_timezone=self._settings.default_timezone
        )
        return {s.key: f for s, f in zip(subjects, facts, strict=True)}

    def enter_scheduled(self) -> int:
        """Entries that no event brings: anniversaries (a scan every 15 minutes) and the
        throttled "everyone who already matches" backfills. Shard 0 only."""
        if self._shard.index != 0:
            return 0
        now = self._clock.now()
        with transaction(self._engine) as connection:
            found = system_events.run_backfills_txn(connection, now)
            if self._next_scan is None or now >= self._next_scan:
                specs = triggers.anniversary_specs(self._candidates_txn(connection))
                if specs:
                    found += system_events.record_due_anniversaries_txn(
                        connection, specs, now, self._settings.default_timezone
                    )
                self._next_scan = now + dt.timedelta(minutes=15)
        return found

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
        now: dt.datetime,
        lease_until: dt.datetime,
    ) -> list[RunView]:
        """Runs for the events that match an active workflow's entry points.

        Events that match nothing leave the queue all the same: a workflow activated later
        does not act on the past."""
        if not queued or not candidates:
            return []
        contact_ids = [e.contact_id for e in queued]
        once = [c.workflow_id for c in candidates if c.workflow.reentry == "once"]
        entered = runs.entered_txn(connection, once, contact_ids)
        facts = self._entry_facts_txn(connection, queued, candidates, now)
        enrolments, refusals = triggers.decide_enrolments(queued, candidates, entered, facts)
        gapped = [c.workflow_id for c in candidates if c.workflow.reentry_gap is not None]
        admission = lifecycle.admit(
            enrolments,
            self._inside,
            runs.last_entered_txn(connection, gapped, contact_ids),
            now,
        )
        events.requeue_txn(connection, admission.deferred)
        enrolments = admission.admitted
        for enrolment, reason in admission.refused:
            refusals.append(
                Refusal(
                    workflow_id=enrolment.candidate.workflow_id,
                    contact_id=enrolment.event.contact_id,
                    event_id=enrolment.event.id,
                    reason=reason,
                )
            )
        runs.record_refusals_txn(connection, refusals, now)
        for refusal in refusals:
            logger.info(
                "enrolment refused: %s",
                refusal.reason,
                extra={
                    "action": "enrolment_refused",
                    "workflow_id": refusal.workflow_id,
                    "event_id": refusal.event_id,
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
        return runs.insert_claimed_runs_txn(
            connection, new, now, lease_until=lease_until, claim=self.claim
        )

    def _advance(self, batch: list[RunView]) -> int:
        """Pass after pass until every run of the batch waits or stops; the steps taken."""
        if not batch:
            return 0
        with read_transaction(self._engine) as connection:
            self._load_definitions_txn(connection, {r.version_id for r in batch})
        active, hops, steps = batch, 0, 0
        unwritten: dict[int, list[LogEntry]] = defaultdict(list)
        while active:
            hops += 1
            if hops > self._settings.max_hops:
                self._stop_loops(active, unwritten)
                break
            steps += len(active)
            active = self._one_pass(active, unwritten)
        return steps

    def _one_pass(
        self, active: list[RunView], unwritten: dict[int, list[LogEntry]]
    ) -> list[RunView]:
        """One step for every run in ``active``; the runs that go on.

        A run that goes on from a step without effects is not written yet: redoing a pure
        decision after a crash is harmless, so its state and log entries wait in
        ``unwritten`` until a write that records them together."""
        groups = self._groups(active)
        now = self._clock.now()
        with read_transaction(self._engine) as connection:
            list_ids = lists.list_ids_txn(connection)
            shared = self._shared_txn(connection)
            loaded = [
                load_items_txn(
                    connection,
                    g.step.handler.needs(g.step.params),
                    g.runs,
                    now,
                    default_timezone=self._settings.default_timezone,
                )
                if g.step is not None and not g.step.disabled
                else []
                for g in groups
            ]
        states: list[RunState] = []
        log: list[LogEntry] = []
        effects: list[tuple[int, Effect]] = []  # (run id, effect)
        moving: list[RunView] = []
        for group, items in zip(groups, loaded, strict=True):
            outcomes = self._decide(group, items, list_ids, shared, now)
            for run, outcome in zip(group.runs, outcomes, strict=True):
                state, entry = _follow(group.workflow, run, outcome, group.step, now)
                pending = unwritten[run.run_id]
                pending.append(entry)
                if outcome.effects or not state.holding or outcome.context is not None:
                    effects.extend((run.run_id, e) for e in outcome.effects)
                    states.append(state)
                    log.extend(pending)
                    del unwritten[run.run_id]
                if state.holding and state.step_id is not None:
                    moving.append(_moved(run, state.step_id, state))
        held = self._write(states, effects, log, now, shared)
        return [m for m in moving if held is None or m.run_id in held]

    def _write(
        self,
        states: list[RunState],
        effects: list[tuple[int, Effect]],
        log: list[LogEntry],
        now: dt.datetime,
        shared: _Shared,
    ) -> set[int] | None:
        """The pass's write. When some runs are no longer held by this worker (a stopped
        workflow made them exit, or a lease ran out), write again for the others only; the
        run ids still held, or None when all were."""
        try:
            with transaction(self._engine) as connection:
                runs.save_states_txn(connection, states, now, claim=self.claim)
                apply_effects_txn(connection, [e for _, e in effects], now, shared.live)
                runs.append_log_txn(connection, log)
            return None
        except runs.LeaseLost as lost:
            with read_transaction(self._engine) as connection:
                held = runs.held_txn(connection, [s.run_id for s in states], self.claim)
            logger.warning(
                "runs lost: %s",
                lost,
                extra={"action": "lease_lost", "lost": len(states) - len(held)},
            )
        with transaction(self._engine) as connection:
            runs.save_states_txn(
                connection, [s for s in states if s.run_id in held], now, claim=self.claim
            )
            apply_effects_txn(connection, [e for r, e in effects if r in held], now, shared.live)
            runs.append_log_txn(connection, [e for e in log if e.run_id in held])
        return held

    def _groups(self, active: list[RunView]) -> list[_Group]:
        grouped: dict[tuple[int, str], list[RunView]] = defaultdict(list)
        for run in active:
            grouped[(run.version_id, run.step_id)].append(run)
        result = []
        for (version_id, step_id), members in grouped.items():
            workflow = self._definitions[version_id]
            result.append(_Group(workflow=workflow, step=workflow.steps.get(step_id), runs=members))
        return result

    def _shared_txn(self, connection: Connection) -> _Shared:
        """What every group of a pass may need besides its facts: small tables."""
        rows = workflows.workflow_rows_txn(connection)
        self._load_definitions_txn(connection, {r.version_id for r in rows if r.version_id})
        return _Shared(
            owners=contacts.user_emails_txn(connection),
            attributes=contacts.attribute_definitions_txn(connection),
            workflows={
                r.key: WorkflowInfo(
                    key=r.key,
                    status=r.status,
                    steps=frozenset(self._definitions[r.version_id].steps)
                    if r.version_id
                    else frozenset(),
                )
                for r in rows
            },
            versions={r.key: (r.id, r.version_id) for r in rows if r.version_id},
            definitions=self._definitions,
        )

    def _decide(
        self,
        group: _Group,
        items: list[StepItem],
        list_ids: Mapping[str, int],
        shared: _Shared,
        now: dt.datetime,
    ) -> list[Outcome]:
        step = group.step
        if step is None:
            return [failed(r.run_id, "step is gone") for r in group.runs]
        handler = step.handler
        if step.disabled:
            return [
                Outcome(
                    run_id=r.run_id,
                    result="skipped",
                    branch=handler.branches[0],
                    reason="step disabled",
                )
                for r in group.runs
            ]
        env = StepEnv(
            now=now,
            workflow_key=group.workflow.key,
            workflow_id=group.runs[0].workflow_id,
            step_id=step.id,
            list_ids=list_ids,
            secret=self._settings.keys.current(),
            public_url=self._settings.public_url,
            owners=shared.owners,
            attributes=shared.attributes,
            workflows=shared.workflows,
            default_timezone=self._settings.default_timezone,
        )
        quiet = group.workflow.quiet_hours if handler.sends_message else None
        # One step's templates may take so long per run (up to their time limit) that its
        # batch holds up the pass: past its share of render time, its runs wait.
        with templating.batch_budget():
            outcomes = run_outside_quiet_hours(handler, step.params, items, env, quiet)
        if len(outcomes) != len(group.runs):
            raise RuntimeError(f"step kind {step.kind} returned {len(outcomes)} outcomes")
        return outcomes

    def _stop_loops(self, active: list[RunView], unwritten: dict[int, list[LogEntry]]) -> None:
        now = self._clock.now()
        reason = f"stopped: more than {self._settings.max_hops} steps without waiting (a loop?)"
        with transaction(self._engine) as connection:
            runs.save_states_txn(
                connection,
                [
                    RunState(
                        run_id=r.run_id, status=RunStatus.FAILED, step_id=r.step_id, seq=r.seq + 1
                    )
                    for r in active
                ],
                now,
                claim=self.claim,
            )
            runs.append_log_txn(
                connection,
                [
                    entry
                    for r in active
                    for entry in [
                        *unwritten.pop(r.run_id, []),
                        LogEntry(
                            run_id=r.run_id,
                            seq=r.seq + 1,
                            step_id=r.step_id,
                            kind="engine",
                            result="failed",
                            branch=None,
                            reason=reason,
                            at=now,
                        ),
                    ]
                ],
            )

    def _load_definitions_txn(self, connection: Connection, version_ids: set[int]) -> None:
        missing = version_ids - self._definitions.keys()
        for version_id, document in workflows.definitions_txn(connection, missing).items():
            self._definitions[version_id] = parse_workflow(document, stored=True)


def _follow(
    workflow: Workflow,
    run: RunView,
    outcome: Outcome,
    step: StepDef | None,
    now: dt.datetime,
) -> tuple[RunState, LogEntry]:
    """The run's state after ``outcome`` and its run-log entry."""
    seq = run.seq + 1
    failed = outcome.fail or step is None
    target = None if failed or not outcome.branch else workflow.target(run.step_id, outcome.branch)
    entry = LogEntry(
        run_id=run.run_id,
        seq=seq,
        step_id=run.step_id,
        kind=step.kind if step is not None else "missing",
        result=outcome.result,
        branch=None if failed else outcome.branch,
        reason=outcome.reason,
        at=now,
    )
    context, wait_until = outcome.context, outcome.wait_until
    if failed:
        status, step_id, due_at = RunStatus.FAILED, run.step_id, None
    elif outcome.park:  # waits on this step until woken from outside (or ``wait_until``)
        status, step_id, due_at = RunStatus.WAITING, run.step_id, wait_until
    elif target is None:
        status, step_id, due_at = RunStatus.COMPLETED, None, None
    elif wait_until is not None and wait_until > now:
        status, step_id, due_at = RunStatus.WAITING, target, wait_until
    else:
        state = RunState(
            run_id=run.run_id,
            status=RunStatus.ACTIVE,
            step_id=target,
            seq=seq,
            holding=True,
            context=context,
        )
        return state, entry
    state = RunState(
        run_id=run.run_id, status=status, step_id=step_id, seq=seq, due_at=due_at, context=context
    )
    return state, entry


def _moved(run: RunView, step_id: str, state: RunState) -> RunView:
    """``run`` on ``step_id``, where ``state`` (it goes on in this tick) left it."""
    return RunView(
        run_id=run.run_id,
        workflow_id=run.workflow_id,
        version_id=run.version_id,
        contact_id=run.contact_id,
        step_id=step_id,
        seq=state.seq,
        trigger_event_id=run.trigger_event_id,
        context=run.context if state.context is None else state.context,
    )
