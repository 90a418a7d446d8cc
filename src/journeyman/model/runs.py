"""Runs, their states and the outcomes step kinds return."""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Mapping
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


# A NamedTuple, not a frozen dataclass: one is built per run and step on the engine's hot
# path, where it costs a third as much (docs/architecture.md, "Measured").
class RunView(NamedTuple):
    """What a step kind sees of a run."""

    run_id: int
    workflow_id: int
    version_id: int
    contact_id: int
    step_id: str
    seq: int
    trigger_event_id: int | None = None
    context: Mapping[str, Any] = MappingProxyType({})


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
