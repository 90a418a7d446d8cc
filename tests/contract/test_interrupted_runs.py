"""Runs a dead worker held, and runs that are due, on both databases: a contact's later
events wait for them instead of being refused, and an event backlog never starves them."""

from __future__ import annotations

import datetime as dt
import os
import socket
import subprocess
from collections.abc import Sequence

from journeyman import App, EventInput
from journeyman.engine.claims import process_started
from journeyman.engine.stepper import Stepper
from journeyman.model.runs import RunView

from .support import (
    clock_of,
    count,
    coupon_document,
    members,
    messages_to,
    rows,
    send,
    tick_until_idle,
    workflow,
)

JANE = "jane@example.com"


class DiesAfterItsClaim(Stepper):
    """A worker killed right after its claim was committed: its new runs stay held by a
    process that no longer lives (what a SIGKILL between the two transactions leaves)."""

    def _advance(self, batch: list[RunView]) -> int:
        return 0


def dead_worker(app: App) -> Stepper:
    stepper = DiesAfterItsClaim(app.engine, app.clock)
    stepper.claim = f"{socket.gethostname()[:30]}:{_dead_pid()}:00000000"
    return stepper


def _dead_pid() -> int:
    """The id of a process that has ended."""
    process = subprocess.Popen(["true"])
    process.wait()
    return process.pid


def purchase(email: str = JANE, order: str = "A1") -> EventInput:
    return EventInput(name="purchase", email=email, properties={"amount": 20, "order_id": order})


def refusals(app: App) -> list[str]:
    return [r["reason"] for r in rows(app, "entry_refusals")]


def assert_the_outcome_without_a_crash(app: App) -> None:
    """Both purchases started a run and completed; one coupon; Jane is a loyal customer."""
    assert [r["status"] for r in rows(app, "runs")] == ["completed", "completed"]
    assert len(messages_to(app, JANE)) == 1
    assert members(app, "Loyal customers") == [JANE]
    assert refusals(app) == []
    assert count(app, "event_queue") == 0


def test_a_later_purchase_waits_while_a_dead_worker_holds_the_first_run(app: App) -> None:
    app.apply_workflow(coupon_document())
    send(app, purchase())
    dead_worker(app).tick()  # the first purchase's run, held by a killed worker
    send(app, purchase(order="B1"))

    app.stepper().tick()  # before the dead worker's runs are released

    assert count(app, "runs") == 1, "no second run beside one a worker holds"
    assert count(app, "event_queue") == 1, "the second purchase waits, in the queue"
    assert refusals(app) == []

    assert app.stepper().release_dead_claims() == 1
    tick_until_idle(app)

    assert_the_outcome_without_a_crash(app)


def test_a_dead_workers_process_id_given_to_a_later_process_does_not_keep_its_runs(
    app: App,
) -> None:
    app.apply_workflow(coupon_document())
    send(app, purchase())
    later = subprocess.Popen(["sleep", "30"])  # alive, with an id the dead worker "had"
    try:
        held = DiesAfterItsClaim(app.engine, app.clock)
        held.claim = f"{socket.gethostname()[:30]}:{later.pid}:1:00000000"  # started at tick 1
        held.tick()
        send(app, purchase(email="bob@example.com", order="B1"))
        alive = DiesAfterItsClaim(app.engine, app.clock)
        alive.claim = f"{socket.gethostname()[:30]}:{later.pid}:{process_started(later.pid)}:0"
        alive.tick()

        assert count(app, "runs") == 2
        # Jane's run: its worker started at tick 1, not when this process did; Bob's stays.
        assert app.stepper().release_dead_claims() == 1
    finally:
        later.kill()
        later.wait()


def test_runs_of_an_earlier_process_with_this_ones_id_are_released(app: App) -> None:
    app.apply_workflow(coupon_document())
    send(app, purchase())
    earlier = DiesAfterItsClaim(app.engine, app.clock)
    earlier.claim = f"{socket.gethostname()[:30]}:{os.getpid()}:1:00000000"  # started at tick 1
    earlier.tick()

    assert app.stepper().release_dead_claims() == 1
    tick_until_idle(app)
    assert [r["status"] for r in rows(app, "runs")] == ["completed"]
    assert len(messages_to(app, JANE)) == 1


def test_a_later_purchase_waits_for_a_released_run_instead_of_being_refused(app: App) -> None:
    app.apply_workflow(coupon_document())
    send(app, purchase())
    dead_worker(app).tick()
    send(app, purchase(order="B1"))
    stepper = app.stepper()
    assert stepper.release_dead_claims() == 1  # as `journeyman run` does when it starts

    tick_until_idle(app)

    assert_the_outcome_without_a_crash(app)


def test_released_runs_go_first_under_a_backlog_of_purchases(app: App) -> None:
    """30 buyers' first runs held by a killed worker, 60 other contacts' purchases queued,
    then the 30 buy again: every second purchase finds its first run done."""
    app.apply_workflow(coupon_document())
    buyers = [f"b{i:02d}@example.com" for i in range(30)]
    send(app, *(purchase(b) for b in buyers))
    dead_worker(app).tick()
    send(app, *(purchase(f"c{i}@example.com", f"X{i}") for i in range(60)))
    send(app, *(purchase(b, "B") for b in buyers))
    assert app.stepper().release_dead_claims() == 30

    tick_until_idle(app, batch_size=10)

    failed = [(r["step_id"], r["reason"]) for r in rows(app, "run_log", result="failed")]
    assert failed == []
    assert sorted(r["status"] for r in rows(app, "runs")) == ["completed"] * 120
    assert members(app, "Loyal customers") == buyers
    assert {len(messages_to(app, b)) for b in buyers} == {1}
    assert count(app, "messages") == 90
    assert refusals(app) == []


# --- due timers under an event backlog ----------------------------------------------------


def timer_and_pings() -> Sequence[dict[str, object]]:
    timer = workflow(
        {"id": "wait", "delay": {"hours": 1}, "next": "done"},
        {"id": "done", "add_to_list": {"lists": ["Waited"]}},
        key="timer",
    )
    pings = workflow(
        {"id": "seen", "add_to_list": {"lists": ["Pinged"]}},
        key="pings",
        event="ping",
        reentry="every_time",
    )
    return timer, pings


def test_due_timers_take_a_share_of_every_batch_under_an_event_backlog(app: App) -> None:
    for document in timer_and_pings():
        app.apply_workflow(document)
    send(app, *(("signup", f"t{i}@example.com") for i in range(20)))
    tick_until_idle(app)
    clock_of(app).advance(dt.timedelta(hours=2))  # all 20 timers are due
    send(app, *(("ping", f"p{i}@example.com") for i in range(200)))  # each starts a run

    stepper = app.stepper(batch_size=20)
    first, second = stepper.tick(), stepper.tick()

    assert first.claimed == second.claimed == 10, "half of each batch for due runs"
    assert len(members(app, "Waited")) == 20, "every timer fired within two ticks"
    assert len(members(app, "Pinged")) == 20
    assert count(app, "event_queue") == 180, "the events went on, too"
    third = stepper.tick()
    assert (third.claimed, third.enrolled) == (0, 20), "nothing due: the events take it all"
