"""Runs, their states and the outcomes step kinds return."""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

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


@dataclass(frozen=True, kw_only=True)
class RunView:
    """What a step kind sees of a run."""

    run_id: int
    workflow_id: int
    version_id: int
    contact_id: int
    step_id: str
    seq: int
    trigger_event_id: int | None = None
    context: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class Outcome:
    """What happened when a run executed one step.

    ``branch`` names the way out (``next``, ``then``, ``else``); the engine maps it to the
    target step through the definition. ``wait_until`` parks the run until then.
    ``fail`` ends the run as failed instead.
    """

    run_id: int
    result: str
    branch: str | None = "next"
    reason: str = ""
    wait_until: dt.datetime | None = None
    fail: bool = False
    effects: tuple[Effect, ...] = ()
