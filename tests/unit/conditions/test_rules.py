"""The rule kinds of the catalogue on hand-made facts: what each needs, its answer, and a
reason that names the rule and the value seen."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import TypeAdapter, ValidationError

from journeyman.conditions import (
    Condition,
    Deal,
    Facts,
    OrderStats,
    bucket,
    evaluate,
    lists_named,
    needs_of,
    users_named,
)
from journeyman.conditions.activity import count_matching, order_stats
from journeyman.conditions.rules import RULE_KINDS

CONDITION: TypeAdapter[Any] = TypeAdapter(Condition)
NOW = dt.datetime(2027, 2, 25, 23, 30, tzinfo=dt.UTC)


def rule(raw: Any) -> Any:
    return CONDITION.validate_python(raw)


def key_of(raw: Any) -> str:
    (query,) = needs_of(rule(raw)).event_counts
    return query.key


# --- contact attributes relative to today -------------------------------------------------


def test_today_is_the_contacts_own() -> None:
    condition = rule({"attribute": {"name": "BIRTHDAY", "anniversary_in_days": 2}})
    birthday = {"BIRTHDAY": "1992-02-29"}

    berlin = evaluate(condition, Facts(attributes=birthday, now=NOW, timezone="Europe/Berlin"))
    utc = evaluate(condition, Facts(attributes=birthday, now=NOW))
    unknown = evaluate(condition, Facts(attributes=birthday, now=NOW, timezone="Mars/Base"))

    assert (berlin.result, utc.result, unknown.result) == (True, False, False)
    assert berlin.reason.endswith("(today 2027-02-26)")
    assert utc.reason.endswith("(today 2027-02-25)")
    assert needs_of(condition).contact and needs_of(condition).run


def test_without_the_time_a_relative_rule_fails_and_says_so() -> None:
    verdict = evaluate(
        rule({"attribute": {"name": "D", "within_last_days": 3}}),
        Facts(attributes={"D": "2027-02-25"}),
    )

    assert verdict.result is False
    assert verdict.reason.endswith("(today None)")


# --- lists --------------------------------------------------------------------------------


def test_list_rules_and_the_lists_they_name() -> None:
    facts = Facts(lists=frozenset({"VIP"}))
    condition = rule({"any": [{"in_any_list": ["A", "VIP"]}, {"not": {"in_no_list": ["B", "C"]}}]})

    assert evaluate(rule({"in_any_list": ["A", "VIP"]}), facts).reason == "in list 'VIP'"
    assert evaluate(rule({"in_no_list": ["A", "VIP"]}), facts).result is False
    assert evaluate(rule({"in_no_list": ["A", "B"]}), facts).reason == (
        "in none of the lists 'A', 'B'"
    )
    assert lists_named(condition) == {"A", "VIP", "B", "C"}
    assert needs_of(condition).lists and not needs_of(condition).contact


# --- event history ------------------------------------------------------------------------


def test_equal_event_rules_share_one_query_and_plain_ones_are_keyed_by_name() -> None:
    plain = {"event_count": {"event": "purchase", "at_least": 1}}
    windowed = {"event_count": {"event": "purchase", "within_days": 7, "at_least": 1}}
    condition = rule(
        {
            "all": [
                plain,
                {"did_event": "purchase"},
                {"did_not_event": {"event": "purchase"}},
                windowed,
                {"did_event": {"event": "purchase", "within_days": 7}},
                {"did_event": {"event": "purchase", "until": "now"}},
            ]
        }
    )

    keys = {q.key for q in needs_of(condition).event_counts}

    assert key_of(plain) == "purchase"
    assert keys == {
        "purchase",
        key_of(windowed),
        key_of({"did_event": {"event": "purchase", "until": "now"}}),
    }
    assert len(keys) == 3


def test_where_keys_do_not_depend_on_the_order_of_filters() -> None:
    a = {"event_count": {"event": "e", "where": {"x": {"equals": 1}, "y": {"gt": 2}}, "equals": 1}}
    b = {"event_count": {"event": "e", "where": {"y": {"gt": 2}, "x": {"equals": 1}}, "equals": 1}}
    c = {"event_count": {"event": "e", "where": {"y": {"gt": 3}, "x": {"equals": 1}}, "equals": 1}}

    assert key_of(a) == key_of(b) != key_of(c)
    (query,) = needs_of(rule(a)).event_counts
    (plain,) = needs_of(rule({"did_event": "e"})).event_counts
    assert query.needs_rows and not plain.needs_rows


@pytest.mark.parametrize(
    ("raw", "count", "expected", "reason"),
    [
        ({"did_event": "purchase"}, 2, True, "did purchase 2 times"),
        ({"did_event": "purchase"}, 0, False, "never did purchase"),
        ({"did_not_event": "purchase"}, 0, True, "never did purchase"),
        ({"did_not_event": "purchase"}, 1, False, "did purchase once"),
        (
            {"did_event": {"event": "visit", "within_days": 7, "where": {"page": {"equals": "/"}}}},
            1,
            True,
            "did visit (in the last 7 days; where page equals '/') once",
        ),
        (
            {"event_count": {"event": "visit", "until": "now", "at_most": 1}},
            3,
            False,
            "visit (up to now) count = 3, expected at most 1",
        ),
    ],
)
def test_event_rules(raw: Any, count: int, expected: bool, reason: str) -> None:
    condition = rule(raw)
    (query,) = needs_of(condition).event_counts

    verdict = evaluate(condition, Facts(event_counts={query.key: count}))

    assert (verdict.result, verdict.reason) == (expected, reason)


def test_property_filters_count_matching_events() -> None:
    condition = rule({"event_count": {"event": "e", "where": {"amount": {"gte": 50}}, "equals": 1}})
    (query,) = needs_of(condition).event_counts
    rows = [{"amount": 10}, {"amount": "60"}, {"amount": 50}, {}, "not an object"]

    assert count_matching(query, rows, None) == 2


def test_relative_property_filters_need_the_contact_for_today() -> None:
    needs = needs_of(
        rule({"did_event": {"event": "e", "where": {"date": {"within_last_days": 3}}}})
    )

    assert needs.contact and needs.run


# --- orders -------------------------------------------------------------------------------


def test_order_stats_add_up_amounts_and_collect_products() -> None:
    (query,) = needs_of(rule({"orders": {"product": "x"}})).event_counts
    rows = [
        {"amount": 10, "products": ["Tea", "SKU-1"]},
        {"amount": "5.5", "products": [{"sku": "SKU-2", "name": "Coffee"}, {"id": 7}]},
        {"amount": True, "products": "Single"},  # a boolean is no amount
        {"amount": "n/a", "products": [None, {"price": 3}]},
        {"amount": float("inf")},
    ]

    stats = order_stats(query, rows, None)

    assert stats.number == 5
    assert stats.total == 15.5
    assert stats.products == {"tea", "sku-1", "sku-2", "coffee", "7", "single"}


def test_order_stats_honour_the_property_filter() -> None:
    raw = {"orders": {"count": {"gte": 1}, "where": {"channel": {"equals": "web"}}}}
    (query,) = needs_of(rule(raw)).event_counts

    stats = order_stats(query, [{"channel": "web", "amount": 3}, {"channel": "shop"}], None)

    assert (stats.number, stats.total) == (1, 3.0)
    assert query.names == ("order_created", "purchase")


@pytest.mark.parametrize(
    ("test", "stats", "expected", "reason"),
    [
        (
            {"count": {"gte": 2}},
            OrderStats(number=3, total=90.0),
            True,
            "orders: 3, total spent 90; count matches gte 2.0",
        ),
        (
            {"total_spent": {"gt": 100}, "within_days": 30},
            OrderStats(number=3, total=90.0),
            False,
            "orders (in the last 30 days): 3, total spent 90; total spent does not match gt 100.0",
        ),
        (
            {"product": "Tea", "count": {"equals": 1}},
            OrderStats(number=1, total=4.0, products=frozenset({"tea"})),
            True,
            "orders: 1, total spent 4; count matches equals 1, product 'Tea' bought",
        ),
        (
            {"product": "Cake"},
            OrderStats(),
            False,
            "orders: 0, total spent 0; product 'Cake' not bought",
        ),
    ],
)
def test_orders(test: dict[str, Any], stats: OrderStats, expected: bool, reason: str) -> None:
    condition = rule({"orders": test})
    (query,) = needs_of(condition).event_counts

    verdict = evaluate(condition, Facts(orders={query.key: stats}))

    assert (verdict.result, verdict.reason) == (expected, reason)


# --- messages -----------------------------------------------------------------------------


def test_message_rules() -> None:
    condition = rule({"message": {"activity": "opened", "step": "welcome", "within_days": 7}})
    (query,) = needs_of(condition).messages

    seen = evaluate(condition, Facts(messages={query.key: 2}))
    never = evaluate(condition, Facts())

    assert (query.activity, query.step, query.within_days) == ("opened", "welcome", 7)
    assert (seen.result, seen.reason) == (
        True,
        "opened from step 'welcome' in the last 7 days: 2 times",
    )
    assert (never.result, never.reason) == (
        False,
        "opened from step 'welcome' in the last 7 days: never",
    )
    assert evaluate(rule({"message": {"activity": "received"}}), Facts()).reason == (
        "received from any message: never"
    )


# --- the run: trigger, webhook, random ----------------------------------------------------


def test_trigger_rules_read_the_trigger_events_properties() -> None:
    condition = rule({"trigger": {"property": "cart.total", "between": [50, 100]}})
    trigger = {"name": "cart_updated", "properties": {"cart": {"total": 75}}}

    inside = evaluate(condition, Facts(trigger=trigger))
    none = evaluate(condition, Facts())

    assert needs_of(condition).event and not needs_of(condition).contact
    assert (inside.result, inside.reason) == (
        True,
        "cart_updated cart.total = 75, matches between [50.0, 100.0]",
    )
    assert (none.result, none.reason) == (
        False,
        "the run has no trigger event; between [50.0, 100.0]",
    )
    unset = rule({"trigger": {"property": "coupon", "is_set": False}})
    assert evaluate(unset, Facts()).result is True


def test_webhook_rules_read_the_answer_in_the_run_context() -> None:
    context = {"webhook": {"lookup": {"ok": True, "status": 200, "json": {"items": [{"n": 3}]}}}}
    facts = Facts(context=context)

    def answer(**test: Any) -> tuple[bool, str]:
        verdict = evaluate(rule({"webhook": {"step": "lookup", **test}}), facts)
        return verdict.result, verdict.reason

    assert answer(path="ok", equals=True) == (True, "webhook lookup ok = True, matches equals True")
    assert answer(path="status", gte=500)[0] is False
    assert answer(path="json.items.0.n", equals=3)[0] is True
    assert answer(path="json.missing", is_set=False)[0] is True
    assert needs_of(rule({"webhook": {"step": "lookup", "path": "ok", "equals": True}})).run


@pytest.mark.parametrize(
    "raw",
    [
        {"webhook": {"step": "lookup", "path": "body.x", "equals": 1}},
        {"webhook": {"step": "lookup", "equals": 1}},
        {"webhook": {"step": "9bad", "path": "ok", "equals": True}},
        {"trigger": {"equals": 1}},
        {"trigger": {"property": "x"}},
    ],
)
def test_malformed_run_rules_are_refused(raw: Any) -> None:
    with pytest.raises(ValidationError):
        rule(raw)


def test_random_percent_is_fixed_by_run_and_step() -> None:
    condition = rule({"random_percent": 30})

    def draw(run_id: int, step: str = "s") -> bool:
        return evaluate(condition, Facts(run_id=run_id, step_id=step)).result

    assert [draw(i) for i in range(200)] == [draw(i) for i in range(200)]
    assert all(draw(i) is (bucket(i, "s") < 3000) for i in range(200))
    share = Counter(draw(i) for i in range(5000))[True] / 5000
    assert 0.27 < share < 0.33
    assert [draw(i, "a") for i in range(50)] != [draw(i, "b") for i in range(50)]
    never, always = rule({"random_percent": 0}), rule({"random_percent": 100})
    assert not any(evaluate(never, Facts(run_id=i)).result for i in range(300))
    assert all(evaluate(always, Facts(run_id=i)).result for i in range(300))
    reason = evaluate(condition, Facts(run_id=1, step_id="s")).reason
    assert reason == f"random number {bucket(1, 's') / 100:.2f} {'<' if draw(1) else '>='} 30%"


# --- CRM ----------------------------------------------------------------------------------


def test_deal_rules() -> None:
    deals = (
        Deal(pipeline="Sales", stage="Negotiation", status="open"),
        Deal(pipeline="Sales", stage="Won", status="won"),
    )
    facts = Facts(deals=deals)

    def has(**test: Any) -> bool:
        return evaluate(rule({"deal": test}), facts).result

    assert has(stage="negotiation") and has(stage="Negotiation", pipeline="sales")
    assert not has(stage="Won")  # open deals by default
    assert has(stage="Won", status="won") and has(status="any", stage="won")
    assert not has(stage="Negotiation", pipeline="Partners")
    assert has()  # any open deal
    assert evaluate(rule({"deal": {"stage": "Lost"}}), facts).reason == (
        "has no open deal in stage 'Lost'; deals: Sales/Negotiation (open), Sales/Won (won)"
    )
    assert evaluate(rule({"deal": {}}), Facts()).reason == "has no open deal; deals: none"
    assert needs_of(rule({"deal": {}})).deals


def test_owner_rules_and_the_users_they_name() -> None:
    alice = Facts(owner="alice@example.com")

    assert evaluate(rule({"owner": {"user": " Alice@Example.com"}}), alice).result
    assert not evaluate(rule({"owner": {"user": "bob@example.com"}}), alice).result
    assert evaluate(rule({"owner": {"is_set": False}}), Facts()).reason == (
        "owner = nobody, expected none"
    )
    assert users_named(
        rule({"any": [{"owner": {"user": "A@x.com"}}, {"owner": {"is_set": True}}]})
    ) == {"a@x.com"}
    with pytest.raises(ValidationError, match="exactly one of user, is_set"):
        rule({"owner": {"user": "a@x.com", "is_set": True}})


# --- parsing ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        {"orders": {}},  # nothing to test
        {"orders": {"count": {"contains": "x"}}},  # not a number test
        {"orders": {"total_spent": {"gt": 1}, "within_days": 0}},
        {"message": {"activity": "bounced"}},
        {"message": {"step": "x"}},
        {"did_event": ""},
        {"did_event": {"event": "e", "until": "later"}},
        {"event_count": {"event": "e", "equals": 1, "within_days": 0}},
        {"in_any_list": []},
        {"in_no_list": [""]},
        {"random_percent": 101},
        {"random_percent": -1},
        {"deal": {"status": "closed"}},
        {"owner": {}},
    ],
)
def test_malformed_catalogue_rules_are_refused(raw: Any) -> None:
    with pytest.raises(ValidationError):
        rule(raw)


def test_every_rule_kind_is_in_the_json_schema() -> None:
    schema = str(CONDITION.json_schema())

    assert len(RULE_KINDS) == 17
    for kind in RULE_KINDS:
        assert f"'{kind}'" in schema


# --- properties ---------------------------------------------------------------------------


@given(st.integers(0, 10**12), st.text(max_size=20))
def test_buckets_are_in_range_and_stable(run_id: int, step: str) -> None:
    drawn = bucket(run_id, step)

    assert 0 <= drawn < 10000
    assert bucket(run_id, step) == drawn


@given(st.floats(0, 100), st.integers(0, 10**9))
def test_random_percent_agrees_with_the_bucket(percent: float, run_id: int) -> None:
    verdict = evaluate(rule({"random_percent": percent}), Facts(run_id=run_id, step_id="s"))

    assert verdict.result is (bucket(run_id, "s") < round(percent * 100))
