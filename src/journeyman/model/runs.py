"""Runs: their states, what step kinds see and return, what the engine writes of them, and
why a contact did not start one."""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, NamedTuple

from journeyman.model.effects import Effect


class RunStatus(enum.StrEnum):
    """Where a run is in its life. Allowed moves are in ``RUN_TRANSITIONS``."""

    ACTIVE = "active"  # due now: the engine will execute ``step_id``
    WAITING = "waiting"  # sleeps until ``due_at``, then executes ``step_id``
    COMPLETED = "completed"  # reached the end of a branch
    EXITED = "exited"  # left early (exit condition, stopped workflow)
    FAILED = "failed"  # a step could not be executed; the reason is in the run log


RUN_TRANSITIONS: Mapping[RunStatus, frozenset[RunStatus]] = {
    RunStatus.ACTIVE: frozenset(
        {
            RunStatus.ACTIVE,
            RunStatus.WAITING,
            RunStatus.COMPLETED,
            RunStatus.EXITED,
            RunStatus.FAILED,
        }
    ),
    RunStatus.WAITING: frozenset(
        {
            RunStatus.ACTIVE,
            RunStatus.WAITING,
            RunStatus.COMPLETED,
            RunStatus.EXITED,
            RunStatus.FAILED,
        }
    ),
    RunStatus.COMPLETED: frozenset(),
    RunStatus.EXITED: frozenset(),
    RunStatus.FAILED: frozenset(),
}

TERMINAL = frozenset({RunStatus.COMPLETED, RunStatus.EXITED, RunStatus.FAILED})


def can_move(old: RunStatus, new: RunStatus) -> bool:
    return new in RUN_TRANSITIONS[old]


_EMPTY: Mapping[str, Any] = MappingProxyType({})


def _empty() -> Mapping[str, Any]:
    return _EMPTY


@dataclass(frozen=True, slots=True, kw_only=True)
class RunView:
    """What a step kind sees of a run: a held run as the store claimed or created it, moved
    on by the engine from pass to pass."""

    run_id: int
    workflow_id: int
    version_id: int
    contact_id: int
    step_id: str
    seq: int
    trigger_event_id: int | None = None
    context: Mapping[str, Any] = field(default_factory=_empty)

    # As a subject of the facts loader (``model.subjects``), so no other value is built per
    # run and step to load its facts.
    @property
    def key(self) -> int:
        return self.run_id

    @property
    def anchor_event_id(self) -> int | None:
        return self.trigger_event_id


# A NamedTuple, not a frozen dataclass: one is built per run and step on the engine's hot
# path, where it costs a third as much (docs/architecture.md, "Measured").
class Outcome(NamedTuple):
    """What happened when a run executed one step.

    ``branch`` names the way out (``next``, ``then``, ``else``); the engine maps it to the
    target step through the definition. ``wait_until`` parks the run until then.
    ``fail`` ends the run as failed instead. ``park`` keeps the run waiting on this same step
    until something outside wakes it (a webhook's answer); ``context``, when given, replaces
    the run's context.
    """

    run_id: int
    result: str
    branch: str | None = "next"
    reason: str = ""
    wait_until: dt.datetime | None = None
    fail: bool = False
    effects: tuple[Effect, ...] = ()
    park: bool = False
    context: Mapping[str, Any] | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class NewRun:
    """A run to create at its workflow's step ``step_id``, due at once."""

    workflow_id: int
    version_id: int
    contact_id: int
    step_id: str
    trigger_event_id: int | None
    context: Mapping[str, Any] = field(default_factory=_empty)


@dataclass(frozen=True, slots=True, kw_only=True)
class RunState:
    """Where a run stands after the engine moved it; ``holding``: it goes on in this tick
    (the store keeps it held), else it is let go, due at ``due_at`` if ever."""

    run_id: int
    status: RunStatus
    step_id: str | None
    seq: int
    due_at: dt.datetime | None = None
    holding: bool = False
    context: Mapping[str, Any] | None = None  # when given, the run's new context


@dataclass(frozen=True, slots=True, kw_only=True)
class LogEntry:
    """One row of the run log: what a step (or the engine, or an event) did to a run."""

    run_id: int
    seq: int
    step_id: str
    kind: str  # the step kind, or ``engine``, ``lifecycle``, ``missing``
    result: str
    branch: str | None
    reason: str
    at: dt.datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class InFlight:
    """A run inside a workflow (active or waiting), as events find it. ``held``: a worker
    holds it (at the start of a tick: one that died, or another one); ``due``: it is due, so
    the engine has yet to move it on (released from a dead worker, woken, or its time has
    come). ``trigger_properties``: those of the event that started it."""

    run_id: int
    workflow_id: int
    version_id: int
    contact_id: int
    status: RunStatus
    step_id: str | None
    seq: int
    trigger_event_id: int | None
    context: Mapping[str, Any] = field(default_factory=_empty)
    trigger_properties: Mapping[str, Any] = field(default_factory=_empty)
    held: bool = False
    due: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class RunChange:
    """What an event did to a run inside: ended it (``context`` None: let go, not due) or
    made it due at once on ``step_id`` with ``context`` (a restart, a wake). ``result`` is
    what the run log says (``converted``, ``exited``, ``restarted``, ``woken``)."""

    run_id: int
    seq: int
    status: RunStatus
    step_id: str | None
    context: Mapping[str, Any] | None
    result: str
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Refusal:
    """Why a contact did not enter a workflow on an event (persisted: the contact's journey
    shows it)."""

    workflow_id: int
    contact_id: int
    event_id: int | None
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Wake:
    """A webhook's answer for the run that waits on it at ``step_id``."""

    run_id: int
    step_id: str
    answer: Mapping[str, Any]
