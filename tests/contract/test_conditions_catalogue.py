"""Every rule kind of the condition catalogue through the engine, on both databases.

A workflow of chained ``if`` steps (each goes on to the next whatever its answer) puts one
rule per step; the run log then holds every verdict and its reason. Facts a run without a
trigger event sees, and the number of queries a group costs, are read through the facts
loader itself (``engine.facts.load_items_txn``) on the real database.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import sqlalchemy as sa
from pydantic import TypeAdapter

from journeyman import App, EventInput
from journeyman.clock import FakeClock
from journeyman.conditions import Condition, bucket, evaluate, needs_of
from journeyman.config import Settings
from journeyman.engine.facts import load_items_txn
from journeyman.errors import InvalidWorkflow
from journeyman.model.contacts import AttributeDefinition, AttributeType
from journeyman.model.effects import JoinList
from journeyman.model.runs import RunView
from journeyman.store import lists, read_transaction, transaction
from journeyman.store.schema import contacts, runs

from .support import clock_of, contact_id, log_of, rows, send, tick_until_idle

JANE, JOHN = "jane@example.com", "john@example.com"
CONDITION: TypeAdapter[Any] = TypeAdapter(Condition)
DAY = dt.timedelta(days=1)


def checks(*rules: tuple[str, Any], before: tuple[dict[str, Any], ...] = ()) -> list[Any]:
    """Steps ``before``, then one ``if`` per (step id, rule), each going on to the next."""
    steps = list(before)
    for index, (step_id, rule) in enumerate(rules):
        following = rules[index + 1][0] if index + 1 < len(rules) else "end"
        steps.append({"id": step_id, "if": rule, "then": following, "else": following})
    return steps


def apply(app: App, steps: list[Any], *, event: str = "signup", key: str = "catalogue") -> None:
    app.apply_workflow(
        {
            "key": key,
            "name": key,
            "entry_points": [{"event": event}],
            "reentry": "every_time",
            "steps": steps,
        }
    )


def verdicts(app: App, email: str) -> dict[str, tuple[str, str]]:
    """Step id -> (yes|no, reason) of the contact's ``if`` steps."""
    return {
        r["step_id"]: (r["result"], r["reason"]) for r in log_of(app, email) if r["kind"] == "if"
    }


def answers(app: App, email: str) -> dict[str, bool]:
    return {step: result == "yes" for step, (result, _) in verdicts(app, email).items()}


def join(app: App, email: str, *names: str) -> None:
    """Make the contact a member of the lists ``names`` (the store verb the engine uses)."""
    who = contact_id(app, email)
    with transaction(app.engine) as connection:
        ids = lists.list_ids_txn(connection)
        joins = [JoinList(contact_id=who, list_id=ids[name]) for name in names]
        lists.join_lists_txn(connection, joins, clock_of(app).now())


def event(name: str, email: str, at: dt.datetime | None = None, **properties: Any) -> EventInput:
    """A past event (historical: it does not trigger) when ``at`` is given."""
    return EventInput(
        name=name, email=email, occurred_at=at, properties=properties, historical=at is not None
    )


# --- contact attributes -------------------------------------------------------------------


def test_attribute_operators_for_numbers_dates_and_text(app: App) -> None:
    for name, kind in [("SCORE", AttributeType.NUMBER), ("BIRTHDAY", AttributeType.DATE)]:
        app.define_attribute(AttributeDefinition(name=name, type=kind))
    app.define_attribute(AttributeDefinition(name="SIGNED_UP", type=AttributeType.DATE))
    clock_of(app).set(dt.datetime(2027, 2, 25, 23, 30, tzinfo=dt.UTC))  # Berlin: Feb 26
    report = app.import_contacts_csv(
        [
            "EMAIL,FIRSTNAME,SCORE,BIRTHDAY,SIGNED_UP,TIMEZONE",
            f"{JANE},Jane,42,1992-02-29,2027-02-20,Europe/Berlin",
            f"{JOHN},,7,1990-02-27,2026-12-01,",
        ]
    )
    assert report.errors == ()
    apply(
        app,
        checks(
            ("score_between", {"attribute": {"name": "SCORE", "between": [10, 50]}}),
            ("signed_recently", {"attribute": {"name": "SIGNED_UP", "within_last_days": 30}}),
            ("signed_before", {"attribute": {"name": "SIGNED_UP", "before": "today-30"}}),
            ("signed_after", {"attribute": {"name": "SIGNED_UP", "after": "2027-01-01"}}),
            ("birthday_in_2", {"attribute": {"name": "BIRTHDAY", "anniversary_in_days": 2}}),
            ("name_unset", {"attribute": {"name": "FIRSTNAME", "is_set": False}}),
            ("name_starts", {"attribute": {"name": "FIRSTNAME", "starts_with": "ja"}}),
        ),
    )
    send(app, ("signup", JANE), ("signup", JOHN))
    tick_until_idle(app)

    jane, john = answers(app, JANE), answers(app, JOHN)
    assert jane == {
        "score_between": True,
        "signed_recently": True,
        "signed_before": False,
        "signed_after": True,
        # Jane's today is Feb 26 (Berlin): in 2 days, Feb 28, a Feb 29 birthday in 2027
        "birthday_in_2": True,
        "name_unset": False,
        "name_starts": True,
    }
    assert john == {
        "score_between": False,
        "signed_recently": False,
        "signed_before": True,
        "signed_after": False,
        "birthday_in_2": True,  # John's today is Feb 25 (UTC): in 2 days, Feb 27
        "name_unset": True,
        "name_starts": False,
    }
    _, reason = verdicts(app, JANE)["birthday_in_2"]
    assert reason == ("BIRTHDAY = '1992-02-29', matches anniversary_in_days 2 (today 2027-02-26)")
    assert verdicts(app, JOHN)["score_between"][1] == (
        "SCORE = 7, does not match between [10.0, 50.0]"
    )


# --- lists --------------------------------------------------------------------------------


def test_list_membership_rules(app: App) -> None:
    app.create_lists(["VIP", "News", "Blocked"])
    send(app, event("setup", JANE, dt.datetime(2026, 1, 1, tzinfo=dt.UTC)))
    join(app, JANE, "VIP", "News")
    apply(
        app,
        checks(
            ("vip", {"in_list": "VIP"}),
            ("any", {"in_any_list": ["Blocked", "News"]}),
            ("none", {"in_no_list": ["Blocked", "VIP"]}),
            ("clean", {"in_no_list": ["Blocked"]}),
        ),
    )
    send(app, ("signup", JANE), ("signup", JOHN))
    tick_until_idle(app)

    assert answers(app, JANE) == {"vip": True, "any": True, "none": False, "clean": True}
    assert answers(app, JOHN) == {"vip": False, "any": False, "none": True, "clean": True}
    assert verdicts(app, JANE)["none"][1] == "in list 'VIP'"
    assert verdicts(app, JOHN)["any"][1] == "in none of the lists 'Blocked', 'News'"


# --- event history ------------------------------------------------------------------------


def test_event_counts_with_windows_filters_and_the_trigger_as_the_end(app: App) -> None:
    now = clock_of(app).now()
    send(
        app,
        event("purchase", JANE, now - 40 * DAY, amount=10),
        event("purchase", JANE, now - 5 * DAY, amount=80, shop={"country": "DE"}),
        event("refund", JANE, now - 2 * DAY),
    )
    apply(
        app,
        checks(
            ("all_time", {"event_count": {"event": "purchase", "equals": 3}}),
            ("last_30", {"event_count": {"event": "purchase", "within_days": 30, "equals": 2}}),
            (
                "big",
                {
                    "event_count": {
                        "event": "purchase",
                        "where": {"amount": {"gte": 50}},
                        "equals": 2,
                    }
                },
            ),
            (
                "big_recent_de",
                {
                    "event_count": {
                        "event": "purchase",
                        "within_days": 30,
                        "where": {"amount": {"gte": 50}, "shop.country": {"equals": "de"}},
                        "equals": 1,
                    }
                },
            ),
            ("until_now", {"event_count": {"event": "purchase", "until": "now", "equals": 4}}),
            ("did_refund", {"did_event": {"event": "refund", "within_days": 3}}),
            ("no_refund_week", {"did_not_event": {"event": "refund", "within_days": 1}}),
            ("never_churned", {"did_not_event": "churn"}),
        ),
        event="purchase",
    )
    send(app, EventInput(name="purchase", email=JANE, properties={"amount": 100}))
    # After the trigger (not counted, except up to now): a later purchase.
    send(app, event("purchase", JANE, now + dt.timedelta(seconds=30), amount=500))
    clock_of(app).advance(dt.timedelta(minutes=1))
    tick_until_idle(app)

    assert answers(app, JANE) == {
        "all_time": True,
        "last_30": True,
        "big": True,
        "big_recent_de": True,
        "until_now": True,
        "did_refund": True,
        "no_refund_week": True,
        "never_churned": True,
    }
    found = verdicts(app, JANE)
    assert found["last_30"][1] == "purchase (in the last 30 days) count = 2, expected exactly 2"
    assert found["did_refund"][1] == "did refund (in the last 3 days) once"
    assert found["never_churned"][1] == "never did churn"


def test_event_history_of_runs_without_a_trigger_ends_now(app: App) -> None:
    now = clock_of(app).now()
    ids = send(
        app,
        event("visit", JANE, now - 10 * DAY, page="/pricing"),
        event("visit", JANE, now - DAY, page="/pricing"),
        event("visit", JANE, now - dt.timedelta(hours=1), page="/blog"),
        event("visit", JANE, now + DAY, page="/pricing"),  # not yet
        event("visit", JOHN, now - DAY, page="/blog"),
    )
    rules = {
        "all": {"event_count": {"event": "visit", "at_least": 0}},
        "two_days": {"event_count": {"event": "visit", "within_days": 2, "at_least": 0}},
        "pricing": {
            "event_count": {
                "event": "visit",
                "where": {"page": {"equals": "/pricing"}},
                "at_least": 0,
            }
        },
    }
    keys = {name: next(iter(needs_of(_condition(r)).event_counts)).key for name, r in rules.items()}
    condition = _condition({"all": list(rules.values())})
    group = [
        _run(1, contact_id(app, JANE)),
        _run(2, contact_id(app, JOHN)),
        _run(3, contact_id(app, JANE), trigger=ids[1]),  # one query for both kinds of run
    ]
    with read_transaction(app.engine) as connection:
        items = load_items_txn(connection, needs_of(condition), group, now)

    counts = [{name: i.facts.event_counts[key] for name, key in keys.items()} for i in items]
    assert counts == [
        {"all": 3, "two_days": 2, "pricing": 2},
        {"all": 1, "two_days": 1, "pricing": 0},
        # up to the trigger, the visit of yesterday: its window is the two days before it
        {"all": 2, "two_days": 1, "pricing": 2},
    ]


def test_history_up_to_a_trigger_is_what_was_received_before_it(app: App) -> None:
    """Received before the trigger counts whatever its time (within a window: by time);
    received after it never does, even dated earlier. Up to now goes by time."""
    now = clock_of(app).now()
    ids = send(
        app,
        event("purchase", JANE, now + DAY, amount=1),  # received first, dated after
        event("purchase", JANE, now - 40 * DAY, amount=10),
        event("purchase", JANE, now, amount=100),  # the trigger
        event("purchase", JANE, now - DAY, amount=1000),  # arrived late
    )
    rules = {
        "all": {"event_count": {"event": "purchase", "at_least": 0}},
        "30_days": {"event_count": {"event": "purchase", "within_days": 30, "at_least": 0}},
        "late_one": {"did_event": {"event": "purchase", "where": {"amount": {"gte": 1000}}}},
        "up_to_now": {"event_count": {"event": "purchase", "until": "now", "at_least": 0}},
    }
    spent = {"orders": {"total_spent": {"gte": 0}}}
    condition = _condition({"all": [*rules.values(), spent]})
    keys = {name: next(iter(needs_of(_condition(r)).event_counts)).key for name, r in rules.items()}
    (spent_key,) = (q.key for q in needs_of(_condition(spent)).event_counts)
    with read_transaction(app.engine) as connection:
        (item,) = load_items_txn(
            connection, needs_of(condition), [_run(1, contact_id(app, JANE), trigger=ids[2])], now
        )

    counts = {name: item.facts.event_counts[key] for name, key in keys.items()}
    assert counts == {"all": 3, "30_days": 2, "late_one": 0, "up_to_now": 3}
    assert item.facts.orders[spent_key].total == 111


def test_orders_count_total_spent_and_products(app: App) -> None:
    now = clock_of(app).now()
    send(
        app,
        event("order_created", JANE, now - 100 * DAY, amount=30, products=["SKU-1"]),
        event(
            "purchase",
            JANE,
            now - 10 * DAY,
            amount="45.5",
            products=[{"sku": "SKU-2", "name": "Tea"}, {"id": 7}],
        ),
        event("order_created", JOHN, now - 400 * DAY, amount=1000, products=["SKU-9"]),
    )
    apply(
        app,
        checks(
            ("two_plus", {"orders": {"count": {"gte": 2}}}),
            ("spent_100", {"orders": {"total_spent": {"gt": 100}}}),
            ("tea", {"orders": {"product": "tea"}}),
            ("sku7", {"orders": {"product": "7"}}),
            ("recent", {"orders": {"count": {"equals": 2}, "within_days": 30}}),
            ("year_spend", {"orders": {"total_spent": {"between": [100, 200]}, "within_days": 60}}),
            ("sku9", {"orders": {"product": "SKU-9", "within_days": 365}}),
        ),
        event="order_created",
    )
    send(
        app,
        *(
            EventInput(
                name="order_created", email=e, properties={"amount": 50, "products": ["SKU-3"]}
            )
            for e in (JANE, JOHN)
        ),
    )
    tick_until_idle(app)

    assert answers(app, JANE) == {
        "two_plus": True,
        "spent_100": True,  # 30 + 45.5 + 50
        "tea": True,
        "sku7": True,
        "recent": True,  # 45.5 and the trigger
        "year_spend": False,  # 95.5
        "sku9": False,
    }
    assert answers(app, JOHN) == {
        "two_plus": True,
        "spent_100": True,
        "tea": False,
        "sku7": False,
        "recent": False,
        "year_spend": False,  # 50 in the last 60 days
        "sku9": False,  # bought more than a year ago
    }
    assert verdicts(app, JANE)["year_spend"][1] == (
        "orders (in the last 60 days): 2, total spent 95.5; "
        "total spent does not match between [100.0, 200.0]"
    )


# --- messages -----------------------------------------------------------------------------


def test_message_activity_received_opened_clicked(app: App) -> None:
    steps = [
        {"id": "welcome", "send_email": {"subject": "Hi", "html": "<p>Hi</p>"}, "next": "wait"},
        {"id": "wait", "delay": {"days": 2}, "next": "received"},
        *checks(
            ("received", {"message": {"activity": "received", "step": "welcome"}}),
            ("received_other", {"message": {"activity": "received", "step": "wait"}}),
            ("received_any_1d", {"message": {"activity": "received", "within_days": 1}}),
            ("opened", {"message": {"activity": "opened", "step": "welcome", "within_days": 7}}),
            ("opened_any", {"message": {"activity": "opened"}}),
            ("clicked", {"message": {"activity": "clicked", "step": "welcome"}}),
            ("unsubscribed", {"message": {"activity": "unsubscribed"}}),
        ),
    ]
    apply(app, steps)
    send(app, ("signup", JANE), ("signup", JOHN))
    tick_until_idle(app)
    (message,) = rows(app, "messages", recipient=JANE)
    clock_of(app).advance(DAY)
    send(
        app,
        EventInput(
            name="email_opened", email=JANE, properties={"message_key": message["idempotency_key"]}
        ),
        EventInput(name="email_clicked", email=JOHN, properties={"message_key": "unknown"}),
    )
    clock_of(app).advance(DAY)
    tick_until_idle(app)

    assert answers(app, JANE) == {
        "received": True,
        "received_other": False,
        "received_any_1d": False,  # two days ago
        "opened": True,
        "opened_any": True,
        "clicked": False,
        "unsubscribed": False,
    }
    assert answers(app, JOHN) == {
        "received": True,
        "received_other": False,
        "received_any_1d": False,
        "opened": False,
        "opened_any": False,
        "clicked": False,  # a click on a message that is not the step's
        "unsubscribed": False,
    }
    assert verdicts(app, JANE)["opened"][1] == "opened from step 'welcome' in the last 7 days: once"
    assert verdicts(app, JOHN)["clicked"][1] == "clicked from step 'welcome': never"


# --- the run: trigger event, webhook answers, random --------------------------------------


def test_trigger_event_properties(app: App) -> None:
    apply(
        app,
        checks(
            ("big_cart", {"trigger": {"property": "cart.total", "gt": 100}}),
            ("first_item", {"trigger": {"property": "cart.items.0", "equals": "tea"}}),
            ("no_coupon", {"trigger": {"property": "coupon", "is_set": False}}),
        ),
        event="cart_updated",
    )
    send(
        app,
        EventInput(
            name="cart_updated", email=JANE, properties={"cart": {"total": 120, "items": ["Tea"]}}
        ),
        EventInput(
            name="cart_updated", email=JOHN, properties={"cart": {"total": "80"}, "coupon": "X"}
        ),
    )
    tick_until_idle(app)

    assert answers(app, JANE) == {"big_cart": True, "first_item": True, "no_coupon": True}
    assert answers(app, JOHN) == {"big_cart": False, "first_item": False, "no_coupon": False}
    assert verdicts(app, JOHN)["big_cart"][1] == (
        "cart_updated cart.total = '80', does not match gt 100.0"
    )


def test_webhook_answers_from_the_run_context(app: App) -> None:
    apply(
        app,
        checks(
            ("ok", {"webhook": {"step": "lookup", "path": "ok", "equals": True}}),
            ("status", {"webhook": {"step": "lookup", "path": "status", "between": [200, 299]}}),
            ("stock", {"webhook": {"step": "lookup", "path": "json.stock.count", "gte": 3}}),
            ("tier", {"webhook": {"step": "lookup", "path": "json.tier", "in": ["gold", "vip"]}}),
            ("other", {"webhook": {"step": "other", "path": "ok", "equals": True}}),
            before=({"id": "wait", "delay": {"hours": 1}, "next": "ok"},),
        ),
    )
    send(app, ("signup", JANE), ("signup", JOHN))
    tick_until_idle(app)
    answers_by_email = {
        JANE: {"ok": True, "status": 200, "json": {"stock": {"count": 5}, "tier": "Gold"}},
        JOHN: {"ok": False, "status": 503, "json": None, "error": "HTTP 503"},
    }
    # What the dispatcher stores when a webhook answers: the answer in the run's context.
    who = {email: contact_id(app, email) for email in answers_by_email}
    with transaction(app.engine) as connection:
        for email, answer in answers_by_email.items():
            connection.execute(
                sa.update(runs)
                .where(runs.c.contact_id == who[email])
                .values(context={"webhook": {"lookup": answer}})
            )
    clock_of(app).advance(dt.timedelta(hours=1))
    tick_until_idle(app)

    assert answers(app, JANE) == {
        "ok": True,
        "status": True,
        "stock": True,
        "tier": True,
        "other": False,
    }
    assert answers(app, JOHN) == {
        "ok": False,
        "status": False,
        "stock": False,
        "tier": False,
        "other": False,
    }
    assert verdicts(app, JOHN)["stock"][1] == (
        "webhook lookup json.stock.count = unset, does not match gte 3.0"
    )
    assert verdicts(app, JANE)["other"][1] == "webhook other has no answer; equals True"


def test_random_percent_and_split_are_fixed_per_run(app: App) -> None:
    apply(
        app,
        [
            {"id": "coin", "if": {"random_percent": 50}, "then": "ab", "else": "ab"},
            {
                "id": "ab",
                "split": {
                    "paths": [{"percent": 30, "goto": "end"}, {"percent": 70, "goto": "end"}]
                },
            },
        ],
    )
    emails = [f"c{i:02d}@example.com" for i in range(40)]
    send(app, *(("signup", e) for e in emails))
    tick_until_idle(app)

    coins, paths = [], []
    for email in emails:
        log = log_of(app, email)
        run_id = log[0]["run_id"]
        coin, split = log
        assert coin["result"] == ("yes" if bucket(run_id, "coin") < 5000 else "no")
        assert split["branch"] == ("path_1" if bucket(run_id, "ab") < 3000 else "path_2")
        assert split["reason"].startswith(f"random number {bucket(run_id, 'ab') / 100:.2f} ")
        coins.append(coin["result"])
        paths.append(split["branch"])
    assert set(coins) == {"yes", "no"} and set(paths) == {"path_1", "path_2"}
    # A replay of the decision takes the same way.
    condition = _condition({"random_percent": 50})
    group = [_run(r["id"], r["contact_id"], step="coin") for r in rows(app, "runs")]
    with read_transaction(app.engine) as connection:
        items = load_items_txn(connection, needs_of(condition), group, clock_of(app).now())
    replayed = {i.run.run_id: evaluate(condition, i.facts).result for i in items}
    assert replayed == {
        r["id"]: log_of_run(app, r["id"])[0]["result"] == "yes" for r in rows(app, "runs")
    }


def log_of_run(app: App, run_id: int) -> list[dict[str, Any]]:
    return rows(app, "run_log", "seq", run_id=run_id)


# --- CRM ----------------------------------------------------------------------------------


def test_deal_and_owner_rules(app: App) -> None:
    app.create_user("Alice", "alice@example.com")
    app.create_user("Bob", "bob@example.com")
    before = (
        {"id": "assign", "assign_user": {"user": "alice@example.com"}, "next": "deal"},
        {
            "id": "deal",
            "create_deal": {"name": "Deal", "pipeline": "Sales", "stage": "Negotiation"},
            "next": "negotiating",
        },
    )
    apply(
        app,
        checks(
            ("negotiating", {"deal": {"stage": "negotiation"}}),
            ("in_sales", {"deal": {"stage": "Negotiation", "pipeline": "Sales"}}),
            ("other_pipeline", {"deal": {"stage": "Negotiation", "pipeline": "Partners"}}),
            ("won", {"deal": {"status": "won"}}),
            ("alice", {"owner": {"user": "Alice@Example.com"}}),
            ("bob", {"owner": {"user": "bob@example.com"}}),
            ("owned", {"owner": {"is_set": True}}),
            before=before,
        ),
    )
    send(app, ("signup", JANE))
    tick_until_idle(app)

    assert answers(app, JANE) == {
        "negotiating": True,
        "in_sales": True,
        "other_pipeline": False,
        "won": False,
        "alice": True,
        "bob": False,
        "owned": True,
    }
    found = verdicts(app, JANE)
    assert found["won"][1] == "has no won deal; deals: Sales/Negotiation (open)"
    assert found["bob"][1] == "owner = 'alice@example.com', expected 'bob@example.com'"


def test_an_owner_rule_naming_an_unknown_user_is_refused_at_apply(app: App) -> None:
    with pytest.raises(InvalidWorkflow) as caught:
        apply(app, checks(("who", {"owner": {"user": "nobody@example.com"}})))

    (problem,) = caught.value.problems
    assert (problem.step, problem.field) == ("who", "if.owner.user")
    assert "nobody@example.com" in problem.message


# --- switch -------------------------------------------------------------------------------


def test_switch_takes_the_first_matching_branch_else_the_default(app: App) -> None:
    app.create_lists(["VIP"])
    apply(
        app,
        [
            {
                "id": "segment",
                "switch": {
                    "branches": [
                        {"name": "vip", "when": {"in_list": "VIP"}, "goto": "vip_list"},
                        {"when": {"trigger": {"property": "plan", "equals": "pro"}}, "goto": "pro"},
                        {"when": {"trigger": {"property": "plan", "is_set": True}}, "goto": "end"},
                    ],
                    "default": "end",
                },
            },
            {"id": "vip_list", "add_to_list": {"lists": "VIP"}},
            {"id": "pro", "add_to_list": {"lists": "VIP"}},
        ],
    )
    send(app, event("setup", JANE, dt.datetime(2026, 1, 1, tzinfo=dt.UTC)))
    join(app, JANE, "VIP")
    send(
        app,
        EventInput(name="signup", email=JANE, properties={"plan": "pro"}),
        EventInput(name="signup", email=JOHN, properties={"plan": "PRO"}),
        EventInput(name="signup", email="free@example.com", properties={"plan": "free"}),
        EventInput(name="signup", email="anon@example.com"),
    )
    tick_until_idle(app)

    taken = {
        email: (log_of(app, email)[0]["branch"], log_of(app, email)[0]["reason"])
        for email in (JANE, JOHN, "free@example.com", "anon@example.com")
    }
    assert taken[JANE] == ("vip", "vip: in list 'VIP'")
    assert taken[JOHN] == ("branch_2", "branch_2: signup plan = 'PRO', matches equals 'pro'")
    assert taken["free@example.com"][0] == "branch_3"
    assert taken["anon@example.com"] == (
        "default",
        "default, no branch matched (vip: not in list 'VIP'; "
        "branch_2: signup plan = unset, does not match equals 'pro'; "
        "branch_3: signup plan = unset, does not match is_set True)",
    )
    assert [r["step_id"] for r in log_of(app, JOHN)] == ["segment", "pro"]


# --- queries per group --------------------------------------------------------------------

CATALOGUE = {
    "all": [
        {"attribute": {"name": "FIRSTNAME", "is_set": True}},
        {"in_any_list": ["VIP"]},
        {"event_count": {"event": "visit", "at_least": 1}},
        {
            "event_count": {
                "event": "visit",
                "within_days": 7,
                "where": {"page": {"equals": "/"}},
                "at_least": 1,
            }
        },
        {"orders": {"total_spent": {"gt": 10}}},
        {"message": {"activity": "received", "step": "mail"}},
        {"message": {"activity": "opened"}},
        {"trigger": {"property": "plan", "equals": "pro"}},
        {"deal": {"stage": "Won"}},
        {"owner": {"is_set": True}},
        {"random_percent": 50},
        {"webhook": {"step": "hook", "path": "ok", "equals": True}},
    ]
}


@contextmanager
def statements_counted(connection: sa.Connection) -> Iterator[list[str]]:
    """Every SQL statement the SQLite driver runs on ``connection`` meanwhile."""
    seen: list[str] = []
    driver = connection.connection.driver_connection
    driver.set_trace_callback(seen.append)  # type: ignore[union-attr]
    try:
        yield seen
    finally:
        driver.set_trace_callback(None)  # type: ignore[union-attr]


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_facts_cost_the_same_queries_for_one_run_or_many(app: App) -> None:
    """SQLite only: its driver reports every statement (psycopg has no such hook)."""
    emails = [f"c{i:02d}@example.com" for i in range(30)]
    ids = send(app, *(("signup", e) for e in emails))
    condition = _condition(CATALOGUE)
    needs = needs_of(condition)
    group = [
        _run(i + 1, contact_id(app, e), trigger=ids[i] if i % 2 else None)
        for i, e in enumerate(emails)
    ]
    counted = []
    for size in (1, 2, 30):
        with read_transaction(app.engine) as connection, statements_counted(connection) as seen:
            items = load_items_txn(connection, needs, group[:size], clock_of(app).now())
        assert len(items) == size
        counted.append(len(seen))
    # contacts, lists, trigger events, 3 event-history queries (two counts, the orders),
    # 2 message queries, deals, owners: the same for 1, 2 or 30 runs
    assert counted == [10, 10, 10]


def _condition(raw: Any) -> Any:
    return CONDITION.validate_python(raw)


def _run(run_id: int, contact: int, *, trigger: int | None = None, step: str = "check") -> RunView:
    return RunView(
        run_id=run_id,
        workflow_id=1,
        version_id=1,
        contact_id=contact,
        step_id=step,
        seq=0,
        trigger_event_id=trigger,
    )


def test_a_disabled_switch_takes_its_default_and_a_disabled_split_its_first_path(
    app: App,
) -> None:
    apply(
        app,
        [
            {
                "id": "route",
                "disabled": True,
                "switch": {
                    "branches": [{"when": {"random_percent": 100}, "goto": "end"}],
                    "default": "ab",
                },
            },
            {
                "id": "ab",
                "disabled": True,
                "split": {
                    "paths": [{"percent": 0, "goto": "mark"}, {"percent": 100, "goto": "end"}]
                },
            },
            {"id": "mark", "add_to_list": {"lists": "Passed through"}},
        ],
    )
    send(app, ("signup", JANE))
    tick_until_idle(app)

    assert [(r["step_id"], r["result"], r["branch"]) for r in log_of(app, JANE)] == [
        ("route", "skipped", "default"),
        ("ab", "skipped", "path_1"),
        ("mark", "changed", "next"),
    ]


def test_today_is_taken_in_the_default_time_zone_for_contacts_without_one(app: App) -> None:
    app.define_attribute(AttributeDefinition(name="BIRTHDAY", type=AttributeType.DATE))
    assert app.import_contacts_csv(["EMAIL,BIRTHDAY", f"{JANE},1990-01-05"]).errors == ()
    condition = _condition({"attribute": {"name": "BIRTHDAY", "anniversary_in_days": 0}})
    late = dt.datetime(2027, 1, 4, 13, 0, tzinfo=dt.UTC)  # Jan 5, 02:00 in Auckland
    group = [_run(1, contact_id(app, JANE))]
    with read_transaction(app.engine) as connection:
        (utc,) = load_items_txn(connection, needs_of(condition), group, late)
        (auckland,) = load_items_txn(
            connection, needs_of(condition), group, late, default_timezone="Pacific/Auckland"
        )

    assert evaluate(condition, utc.facts).result is False
    assert evaluate(condition, auckland.facts).reason == (
        "BIRTHDAY = '1990-01-05', matches anniversary_in_days 0 (today 2027-01-05)"
    )


def test_today_is_taken_in_the_default_time_zone_for_a_stored_zone_unknown_here(
    db_url: str, clock: FakeClock
) -> None:
    """A stored zone the tz database here does not know counts as none: conditions take
    "today" in the configured default zone, as delays and quiet hours do (they took UTC)."""
    clock.set(dt.datetime(2027, 1, 4, 13, 0, tzinfo=dt.UTC))  # Jan 5, 02:00 in Auckland
    settings = Settings(database_url=db_url, default_timezone="Pacific/Auckland")
    app = App.open(settings, clock=clock)
    try:
        app.define_attribute(AttributeDefinition(name="BIRTHDAY", type=AttributeType.DATE))
        assert app.import_contacts_csv(["EMAIL,BIRTHDAY", f"{JANE},1990-01-05"]).errors == ()
        with transaction(app.engine) as connection:
            connection.execute(sa.update(contacts).values(timezone="Mars/Olympus_Mons"))
        apply(
            app, checks(("birthday", {"attribute": {"name": "BIRTHDAY", "anniversary_in_days": 0}}))
        )
        send(app, ("signup", JANE))
        tick_until_idle(app)

        assert verdicts(app, JANE) == {
            "birthday": (
                "yes",
                "BIRTHDAY = '1990-01-05', matches anniversary_in_days 0 (today 2027-01-05)",
            )
        }
    finally:
        app.close()
