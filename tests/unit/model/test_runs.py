"""The run status table: which moves are allowed, and that the end states are final."""

from __future__ import annotations

import itertools

import pytest

from journeyman.model.runs import RUN_TRANSITIONS, TERMINAL, RunStatus, can_move


def test_every_status_has_a_row() -> None:
    assert set(RUN_TRANSITIONS) == set(RunStatus)


@pytest.mark.parametrize("status", sorted(TERMINAL))
def test_terminal_states_have_no_exits(status: RunStatus) -> None:
    assert RUN_TRANSITIONS[status] == frozenset()
    assert not any(can_move(status, other) for other in RunStatus)


def test_the_terminal_set_is_exactly_the_states_without_exits() -> None:
    assert {s for s, exits in RUN_TRANSITIONS.items() if not exits} == TERMINAL
    assert {RunStatus.COMPLETED, RunStatus.EXITED, RunStatus.FAILED} == TERMINAL


@pytest.mark.parametrize("status", [RunStatus.ACTIVE, RunStatus.WAITING])
def test_live_runs_can_reach_every_state(status: RunStatus) -> None:
    assert all(can_move(status, other) for other in RunStatus)


def test_can_move_follows_the_table() -> None:
    for old, new in itertools.product(RunStatus, repeat=2):
        assert can_move(old, new) is (new in RUN_TRANSITIONS[old])


def test_persisted_names_do_not_change() -> None:
    assert [s.value for s in RunStatus] == ["active", "waiting", "completed", "exited", "failed"]
