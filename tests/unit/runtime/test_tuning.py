"""The interpreter tuning ``journeyman serve`` applies: the collector's thresholds and frozen
start-up objects, and the GIL switch interval on PostgreSQL only."""

from __future__ import annotations

import gc
import sys
from collections.abc import Iterator

import pytest

from journeyman.runtime.tuning import (
    GC_YOUNGEST_THRESHOLD,
    POSTGRES_SWITCH_INTERVAL,
    tune_garbage_collector,
    tune_thread_switching,
)


@pytest.fixture
def restored() -> Iterator[None]:
    """The process's settings as they were, after the test."""
    thresholds, interval = gc.get_threshold(), sys.getswitchinterval()
    try:
        yield
    finally:
        gc.unfreeze()
        gc.set_threshold(*thresholds)
        sys.setswitchinterval(interval)


@pytest.mark.usefixtures("restored")
def test_the_collector_is_tuned_and_start_up_objects_frozen() -> None:
    older, oldest = gc.get_threshold()[1:]
    alive = ["allocated before the tuning, as the app's objects are"]

    tune_garbage_collector()

    assert gc.get_threshold() == (GC_YOUNGEST_THRESHOLD, older, oldest)
    assert gc.get_freeze_count() > 0
    assert not any(o is alive for o in gc.get_objects())  # out of the collector's sight


@pytest.mark.usefixtures("restored")
@pytest.mark.parametrize(
    ("dialect", "expected"), [("postgresql", POSTGRES_SWITCH_INTERVAL), ("sqlite", None)]
)
def test_the_switch_interval_is_shorter_on_postgresql_only(
    dialect: str, expected: float | None
) -> None:
    before = sys.getswitchinterval()

    tune_thread_switching(dialect)

    assert sys.getswitchinterval() == pytest.approx(expected if expected is not None else before)
