"""CRM actions end to end on both databases: users, create deal, create task, assign user.

Workflows are applied, events recorded, the engine ticked; the deals, tasks, contact owners
and the run log are read back with plain SQL.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from journeyman import App, EventInput, FakeClock, Settings
from journeyman.engine.effects import apply_effects_txn
from journeyman.errors import InvalidInput, InvalidWorkflow
from journeyman.model.effects import CreateDeal, CreateTask, Effect, OwnerChoice
from journeyman.store import crm, transaction

from .support import clock_of, contact_id, log_of, rows, send, tick_until_idle, workflow

ALICE, BOB, CAROL = "alice@example.com", "bob@example.com", "carol@example.com"


def users(app: App, *emails: str) -> dict[str, int]:
    return {e: app.create_user(e.split("@")[0].title(), e) for e in emails}


def signups(app: App, count: int, **properties: Any) -> list[str]:
    emails = [f"c{i:02d}@example.com" for i in range(count)]
    send(app, *(EventInput(name="signup", email=e, properties=properties) for e in emails))
    return emails


def owners(app: App) -> dict[str, int | None]:
    """Contact email -> owner user id."""
    return {r["email"]: r["owner_id"] for r in rows(app, "contacts")}


# --- users --------------------------------------------------------------------------------


def test_users_are_unique_by_email_whatever_the_case(app: App) -> None:
    alice = app.create_user("Alice", "Alice@Example.com")

    with pytest.raises(InvalidInput, match=r"alice@example\.com exists already"):
        app.create_user("Alice again", "ALICE@example.com ")
    with pytest.raises(InvalidInput, match="not a valid email"):
        app.create_user("Nobody", "nobody")
    with transaction(app.engine) as connection:
        found = crm.users_by_email_txn(connection, [ALICE, BOB])
        listed = crm.list_users_txn(connection)
    assert found == {ALICE: alice}
    assert listed == [{"id": alice, "name": "Alice", "email": ALICE}]


# --- create deal --------------------------------------------------------------------------


def test_create_deal_links_an_open_deal_to_the_contact(app: App) -> None:
    ids = users(app, ALICE)
    app.apply_workflow(
        workflow(
            {
                "id": "deal",
                "create_deal": {
                    "name": "{{ event.properties.plan }} for {{ contact.email }}",
                    "pipeline": "sales",
                    "stage": "qualified",
                    "amount": {"from_event": "total"},
                    "owner": {"user": ALICE},
                },
            }
        )
    )
    send(
        app,
        EventInput(name="signup", email="jo@example.com", properties={"plan": "Pro", "total": 99}),
    )

    tick_until_idle(app)

    (deal,) = rows(app, "deals")
    assert {k: deal[k] for k in ("name", "pipeline", "stage", "amount", "status")} == {
        "name": "Pro for jo@example.com",
        "pipeline": "sales",
        "stage": "qualified",
        "amount": 99.0,
        "status": "open",
    }
    assert deal["owner_id"] == ids[ALICE]
    assert deal["contact_id"] == contact_id(app, "jo@example.com")
    assert deal["created_at"] == clock_of(app).now()
    ((step, result, reason),) = [
        (r["step_id"], r["result"], r["reason"]) for r in log_of(app, "jo@example.com")
    ]
    assert (step, result) == ("deal", "created")
    assert (
        reason
        == "deal 'Pro for jo@example.com' in sales/qualified, amount 99, owner: alice@example.com"
    )


def test_a_replayed_deal_or_task_is_written_once(app: App) -> None:
    users(app, ALICE)
    (email,) = signups(app, 1)
    owner = OwnerChoice(user=ALICE)
    effects: list[Effect] = [
        CreateDeal(
            source_key="1:deal:1",
            contact_id=contact_id(app, email),
            name="Deal",
            pipeline="sales",
            stage="new",
            amount=None,
            owner=owner,
        ),
        CreateTask(
            source_key="1:task:2",
            contact_id=contact_id(app, email),
            title="Call",
            type="call",
            due_at=clock_of(app).now(),
            assignee=owner,
        ),
    ]

    for _ in range(2):  # the same step's effects, written again (a replay)
        with transaction(app.engine) as connection:
            apply_effects_txn(connection, effects, clock_of(app).now(), lambda key: None)

    assert [(d["source_key"], d["amount"]) for d in rows(app, "deals")] == [("1:deal:1", None)]
    assert [t["source_key"] for t in rows(app, "tasks")] == ["1:task:2"]


# --- owners: round-robin, contact owner ---------------------------------------------------


def test_round_robin_over_three_users_gives_each_a_third(app: App) -> None:
    ids = users(app, ALICE, BOB, CAROL)
    app.apply_workflow(
        workflow({"id": "assign", "assign_user": {"round_robin": [ALICE, BOB, CAROL]}})
    )
    signups(app, 9)

    summary = app.run_until_idle(None, batch_size=4)  # batches of 4, 4, 1: one rotation

    assert summary.steps == 9
    assert Counter(owners(app).values()) == {ids[ALICE]: 3, ids[BOB]: 3, ids[CAROL]: 3}
    assert rows(app, "round_robin") == [{"key": "flow:assign", "position": 9}]
    reasons = {r["reason"] for e in owners(app) for r in log_of(app, e)}
    assert reasons == {
        "owner: round-robin over alice@example.com, bob@example.com, carol@example.com"
    }


def test_deal_and_task_for_the_contact_owner_or_nobody(app: App) -> None:
    ids = users(app, ALICE, BOB)
    app.apply_workflow(
        workflow({"id": "own", "assign_user": {"user": BOB}}, key="owners", event="assign")
    )
    app.apply_workflow(
        workflow(
            {"id": "deal", "create_deal": {"name": "Deal", "stage": "new"}, "next": "task"},
            {"id": "task", "create_task": {"title": "Call", "assignee": "contact_owner"}},
        )
    )
    send(app, ("assign", "owned@example.com"))
    tick_until_idle(app)
    send(app, ("signup", "owned@example.com"), ("signup", "free@example.com"))

    tick_until_idle(app)

    owned, free = contact_id(app, "owned@example.com"), contact_id(app, "free@example.com")
    assert owners(app) == {"owned@example.com": ids[BOB], "free@example.com": None}
    assert {d["contact_id"]: d["owner_id"] for d in rows(app, "deals")} == {
        owned: ids[BOB],
        free: None,
    }
    assert {t["contact_id"]: t["assignee_id"] for t in rows(app, "tasks")} == {
        owned: ids[BOB],
        free: None,
    }
    assert [r["reason"] for r in log_of(app, "free@example.com")] == [
        "deal 'Deal' in default/new, owner: the contact's owner",
        "todo task 'Call' due 2027-01-04, assignee: the contact's owner",
    ]


def test_an_owner_assigned_earlier_in_the_run_owns_its_deal(app: App) -> None:
    ids = users(app, ALICE, BOB)
    app.apply_workflow(
        workflow(
            {"id": "assign", "assign_user": {"round_robin": [ALICE, BOB]}, "next": "deal"},
            {"id": "deal", "create_deal": {"name": "Deal", "stage": "new"}},
        )
    )
    emails = signups(app, 4)

    tick_until_idle(app)

    by_contact = {d["contact_id"]: d["owner_id"] for d in rows(app, "deals")}
    assert by_contact == {contact_id(app, e): owners(app)[e] for e in emails}
    assert Counter(by_contact.values()) == {ids[ALICE]: 2, ids[BOB]: 2}


# --- create task --------------------------------------------------------------------------


def test_a_task_is_linked_to_the_contacts_latest_deal_and_due_in_days(app: App) -> None:
    ids = users(app, CAROL)
    app.apply_workflow(
        workflow(
            {"id": "first", "create_deal": {"name": "First", "stage": "new"}, "next": "second"},
            {"id": "second", "create_deal": {"name": "Second", "stage": "new"}, "next": "task"},
            {
                "id": "task",
                "create_task": {
                    "title": "Call {{ contact.email }}",
                    "type": "call",
                    "due_in_days": 3,
                    "assignee": {"user": CAROL},
                },
            },
        )
    )
    app.apply_workflow(
        workflow(
            {"id": "task", "create_task": {"title": "Follow up", "type": "email"}},
            key="tasks_only",
            event="visit",
        )
    )
    send(app, ("signup", "deals@example.com"), ("visit", "nodeal@example.com"))

    tick_until_idle(app)

    deals = {d["name"]: d["id"] for d in rows(app, "deals")}
    tasks = {t["title"]: t for t in rows(app, "tasks")}
    with_deal, without = tasks["Call deals@example.com"], tasks["Follow up"]
    assert with_deal["deal_id"] == deals["Second"] and deals["Second"] > deals["First"]
    assert with_deal["contact_id"] == contact_id(app, "deals@example.com")
    assert (with_deal["type"], with_deal["assignee_id"], with_deal["done"]) == (
        "call",
        ids[CAROL],
        False,
    )
    assert with_deal["due_at"] == clock_of(app).now() + dt.timedelta(days=3)
    assert (without["deal_id"], without["type"], without["due_at"]) == (
        None,
        "email",
        clock_of(app).now(),
    )


# --- apply-time checks --------------------------------------------------------------------


def test_a_workflow_naming_an_unknown_user_is_refused_until_the_user_exists(app: App) -> None:
    users(app, ALICE)
    document = workflow(
        {
            "id": "deal",
            "create_deal": {"name": "D", "stage": "s", "owner": {"user": BOB}},
            "next": "task",
        },
        {
            "id": "task",
            "create_task": {"title": "T", "assignee": {"round_robin": [ALICE, CAROL]}},
            "next": "own",
        },
        {"id": "own", "assign_user": {"user": "Carol@Example.com"}},
    )

    with pytest.raises(InvalidWorkflow) as caught:
        app.apply_workflow(document)

    assert {(p.step, p.field, p.message) for p in caught.value.problems} == {
        ("deal", "create_deal.owner.user", "user 'bob@example.com' does not exist"),
        ("task", "create_task.assignee.round_robin.1", "user 'carol@example.com' does not exist"),
        ("own", "assign_user.user", "user 'carol@example.com' does not exist"),
    }
    assert rows(app, "workflows") == []
    users(app, BOB, CAROL)
    assert app.apply_workflow(document).created


# --- fairness across concurrent workers (PostgreSQL: several writers) ---------------------


@pytest.mark.postgres
def test_round_robin_is_fair_across_two_concurrent_workers(
    pg_db_url: str, clock: FakeClock
) -> None:
    apps = [App.open(Settings(database_url=pg_db_url), clock=clock) for _ in range(2)]
    try:
        ids = users(apps[0], ALICE, BOB)
        apps[0].apply_workflow(
            workflow({"id": "assign", "assign_user": {"round_robin": [ALICE, BOB]}})
        )
        signups(apps[0], 40)
        start = threading.Barrier(2)

        def work(index: int) -> int:
            stepper = apps[index].stepper(batch_size=3, shard=(index, 2))
            start.wait()
            steps = 0
            for _ in range(1000):
                report = stepper.tick()
                steps += report.steps
                if report.idle:
                    return steps
            raise AssertionError("still busy after 1000 ticks")

        with ThreadPoolExecutor(2) as pool:
            done = list(pool.map(work, range(2)))

        assert done == [20, 20]  # each worker took its shard, in batches of 3
        assert Counter(owners(apps[0]).values()) == {ids[ALICE]: 20, ids[BOB]: 20}
        assert rows(apps[0], "round_robin") == [{"key": "flow:assign", "position": 40}]
    finally:
        for app in apps:
            app.close()
