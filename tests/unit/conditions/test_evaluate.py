"""The condition evaluator: every operator, missing values, all/any/not and the reasons."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import TypeAdapter, ValidationError

from journeyman.conditions import Condition, Deal, Facts, OrderStats, evaluate, needs_of
from journeyman.conditions.evaluate import compare
from journeyman.conditions.rules import Comparison, lists_named

CONDITION: TypeAdapter[Any] = TypeAdapter(Condition)


def rule(raw: Any) -> Any:
    return CONDITION.validate_python(raw)


def attr(name: str, **test: Any) -> dict[str, Any]:
    return {"attribute": {"name": name, **test}}


def check(value: Any, **test: Any) -> bool:
    return compare(value, Comparison.model_validate(test))


# --- one operator at a time ---------------------------------------------------------------

OPERATOR_CASES = [
    # (value, test, expected)
    ("Jane", {"equals": "Jane"}, True),
    ("Jane", {"equals": "jANE"}, True),  # text compares without case
    ("Jane", {"equals": "Joan"}, False),
    (42, {"equals": 42}, True),
    (42, {"equals": 42.0}, True),
    (42, {"equals": "42"}, False),  # a number is not its text
    (True, {"equals": True}, True),
    (1, {"equals": True}, False),  # booleans are not numbers
    (True, {"equals": 1}, False),
    ("Jane", {"not_equals": "jane"}, False),
    ("Jane", {"not_equals": "Joan"}, True),
    ("jane@example.com", {"contains": "EXAMPLE"}, True),
    ("jane@example.com", {"contains": "shop"}, False),
    ("Gold member", {"starts_with": "gold"}, True),
    ("Gold member", {"starts_with": "member"}, False),
    (10, {"gt": 9}, True),
    (10, {"gt": 10}, False),
    (10, {"gte": 10}, True),
    (9.5, {"gte": 10}, False),
    (9, {"lt": 10}, True),
    (10, {"lt": 10}, False),
    (10, {"lte": 10}, True),
    (10.5, {"lte": 10}, False),
    ("12.5", {"gt": 12}, True),  # numeric text compares as a number
    ("2027-03-01", {"gt": "2027-02-28"}, True),  # ISO dates compare as dates
    ("2027-03-01", {"lt": "2027-02-28"}, False),
    ("2027-03-01T10:00:00", {"lte": "2027-03-01"}, True),
    ("2027-03-01", {"gt": 5}, False),  # a date and a number do not compare
    ("gold", {"gt": "silver"}, False),  # plain words have no order
    (True, {"gt": 0}, False),  # booleans have no order
    ("gold", {"in": ["silver", "GOLD"]}, True),
    ("bronze", {"in": ["silver", "gold"]}, False),
    (3, {"in": [1, 2, 3]}, True),
    ("x", {"is_set": True}, True),
    ("x", {"is_set": False}, False),
    ("", {"is_set": True}, False),
    ("", {"is_set": False}, True),
    (0, {"is_set": True}, True),  # zero is a value
    (False, {"is_set": True}, True),
]


@pytest.mark.parametrize(("value", "test", "expected"), OPERATOR_CASES)
def test_each_operator(value: Any, test: dict[str, Any], expected: bool) -> None:
    assert check(value, **test) is expected
    verdict = evaluate(rule(attr("X", **test)), Facts(attributes={"X": value}))
    assert verdict.result is expected


MISSING_CASES = [
    ({"equals": "a"}, False),
    ({"not_equals": "a"}, True),
    ({"contains": "a"}, False),
    ({"starts_with": "a"}, False),
    ({"gt": 0}, False),
    ({"gte": 0}, False),
    ({"lt": 0}, False),
    ({"lte": 0}, False),
    ({"in": ["a"]}, False),
    ({"is_set": True}, False),
    ({"is_set": False}, True),
]


@pytest.mark.parametrize(("test", "expected"), MISSING_CASES)
def test_a_missing_value_fails_every_test_but_not_equals_and_is_set_false(
    test: dict[str, Any], expected: bool
) -> None:
    verdict = evaluate(rule(attr("PLAN", **test)), Facts(attributes={}))

    assert verdict.result is expected
    assert "PLAN = unset" in verdict.reason


@pytest.mark.parametrize(
    ("value", "test", "shown"),
    [
        ("Jane", {"equals": "Joan"}, "'Jane'"),
        (25, {"gt": 30}, "25"),
        ("2026-12-24", {"lt": "2026-01-01"}, "'2026-12-24'"),
    ],
)
def test_the_reason_names_the_attribute_the_value_seen_and_the_test(
    value: Any, test: dict[str, Any], shown: str
) -> None:
    verdict = evaluate(rule(attr("AGE", **test)), Facts(attributes={"AGE": value}))

    assert verdict.result is False
    assert verdict.reason.startswith(f"AGE = {shown}")
    assert "does not match" in verdict.reason
    operator, operand = next(iter(test.items()))
    assert operator in verdict.reason and str(operand) in verdict.reason


@pytest.mark.parametrize(
    ("bound", "count", "expected", "reason"),
    [
        ({"equals": 1}, 1, True, "purchase count = 1, expected exactly 1"),
        ({"equals": 1}, 2, False, "purchase count = 2, expected exactly 1"),
        ({"equals": 0}, 0, True, "purchase count = 0, expected exactly 0"),
        ({"at_least": 2}, 2, True, "purchase count = 2, expected at least 2"),
        ({"at_least": 2}, 1, False, "purchase count = 1, expected at least 2"),
        ({"at_most": 2}, 2, True, "purchase count = 2, expected at most 2"),
        ({"at_most": 2}, 3, False, "purchase count = 3, expected at most 2"),
    ],
)
def test_event_count(bound: dict[str, int], count: int, expected: bool, reason: str) -> None:
    condition = rule({"event_count": {"event": "purchase", **bound}})

    verdict = evaluate(condition, Facts(event_counts={"purchase": count}))

    assert (verdict.result, verdict.reason) == (expected, reason)


def test_an_event_never_done_counts_zero() -> None:
    verdict = evaluate(rule({"event_count": {"event": "purchase", "at_least": 1}}), Facts())

    assert verdict.result is False
    assert verdict.reason == "purchase count = 0, expected at least 1"


def test_in_list() -> None:
    condition = rule({"in_list": "VIP"})

    inside = evaluate(condition, Facts(lists=frozenset({"VIP", "News"})))
    outside = evaluate(condition, Facts(lists=frozenset({"News"})))

    assert (inside.result, inside.reason) == (True, "in list 'VIP'")
    assert (outside.result, outside.reason) == (False, "not in list 'VIP'")


def test_all_any_not_and_their_reasons() -> None:
    facts = Facts(attributes={"PLAN": "gold", "AGE": 40}, lists=frozenset({"VIP"}))
    gold, young = attr("PLAN", equals="gold"), attr("AGE", lt=30)

    both = evaluate(rule({"all": [gold, young]}), facts)
    either = evaluate(rule({"any": [young, gold]}), facts)
    neither = evaluate(rule({"any": [young, {"not": {"in_list": "VIP"}}]}), facts)
    negated = evaluate(rule({"not": young}), facts)

    assert both.result is False
    assert both.reason == "AGE = 40, does not match lt 30.0"  # the rule that decided
    assert either.result is True
    assert either.reason == "PLAN = 'gold', matches equals 'gold'"
    assert neither.result is False
    assert neither.reason == "AGE = 40, does not match lt 30.0 or not (in list 'VIP')"
    assert negated.result is True
    assert negated.reason == "not (AGE = 40, does not match lt 30.0)"


@pytest.mark.parametrize(
    "raw",
    [
        attr("A"),  # no operator
        attr("A", equals=1, gt=2),  # two operators
        {"attribute": {"equals": 1}},  # no name
        {"event_count": {"event": "purchase"}},  # no bound
        {"event_count": {"event": "purchase", "equals": 1, "at_most": 3}},
        {"event_count": {"event": "purchase", "equals": -1}},
        {"in_list": ""},
        {"all": []},
        {"any": []},
        {"unknown_rule": 1},
        {"in_list": "A", "all": [{"in_list": "B"}]},  # two rule kinds in one object
        "in_list",
    ],
)
def test_malformed_rules_are_refused(raw: Any) -> None:
    with pytest.raises(ValidationError):
        rule(raw)


def test_needs_and_list_names_cover_the_whole_tree() -> None:
    condition = rule(
        {
            "all": [
                attr("PLAN", equals="gold"),
                {"any": [{"in_list": "VIP"}, {"not": {"in_list": "Blocked"}}]},
                {"event_count": {"event": "purchase", "at_least": 1}},
                {"not": {"event_count": {"event": "refund", "equals": 0}}},
            ]
        }
    )

    needs = needs_of(condition)

    assert needs.contact and needs.lists
    assert {q.key for q in needs.event_counts} == {"purchase", "refund"}
    assert lists_named(condition) == {"VIP", "Blocked"}
    assert not needs_of(rule({"in_list": "VIP"})).contact


# --- properties ---------------------------------------------------------------------------

NAMES = ("A", "B", "C")
LISTS = ("X", "Y")
EVENTS = ("purchase", "visit")
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 5),
    st.sampled_from(["", "a", "B", "ab", "2027-01-01", "3"]),
)
operands = st.one_of(st.booleans(), st.integers(-5, 5), st.sampled_from(["a", "B", "3"]))
ordered = st.one_of(st.integers(-5, 5), st.sampled_from(["2", "2027-01-01"]))


def attribute_rules() -> st.SearchStrategy[dict[str, Any]]:
    name = st.sampled_from(NAMES)
    tests = st.one_of(
        st.builds(lambda v: {"equals": v}, operands),
        st.builds(lambda v: {"not_equals": v}, operands),
        st.builds(lambda v: {"contains": v}, st.sampled_from(["a", "b", ""])),
        st.builds(lambda v: {"starts_with": v}, st.sampled_from(["a", "2027"])),
        st.builds(lambda op, v: {op: v}, st.sampled_from(["gt", "gte", "lt", "lte"]), ordered),
        st.builds(lambda v: {"in": v}, st.lists(operands, min_size=1, max_size=3)),
        st.builds(lambda v: {"is_set": v}, st.booleans()),
    )
    return st.builds(lambda n, t: attr(n, **t), name, tests)


ORDERS = ({"count": {"gte": 2}}, {"total_spent": {"gt": 50}}, {"product": "tea"})
ORDER_KEYS = tuple(next(iter(needs_of(rule({"orders": o})).event_counts)).key for o in ORDERS)
MESSAGES = ("received", "opened")

leaves = st.one_of(
    attribute_rules(),
    st.builds(lambda n: {"in_list": n}, st.sampled_from(LISTS)),
    st.builds(lambda ns: {"in_any_list": ns}, st.lists(st.sampled_from(LISTS), min_size=1)),
    st.builds(lambda ns: {"in_no_list": ns}, st.lists(st.sampled_from(LISTS), min_size=1)),
    st.builds(
        lambda e, b, n: {"event_count": {"event": e, b: n}},
        st.sampled_from(EVENTS),
        st.sampled_from(["equals", "at_least", "at_most"]),
        st.integers(0, 3),
    ),
    st.builds(
        lambda kind, e: {kind: e},
        st.sampled_from(["did_event", "did_not_event"]),
        st.sampled_from(EVENTS),
    ),
    st.builds(lambda o: {"orders": o}, st.sampled_from(ORDERS)),
    st.builds(lambda a: {"message": {"activity": a}}, st.sampled_from(MESSAGES)),
    st.builds(
        lambda v: {"trigger": {"property": "plan", "equals": v}}, st.sampled_from(["a", "b"])
    ),
    st.builds(
        lambda v: {"webhook": {"step": "hook", "path": "status", "lt": v}}, st.integers(0, 600)
    ),
    st.builds(lambda stage: {"deal": {"stage": stage}}, st.sampled_from(["New", "Won"])),
    st.builds(lambda user: {"owner": {"user": user}}, st.sampled_from(["a@x.io", "b@x.io"])),
    st.builds(lambda p: {"random_percent": p}, st.integers(0, 100)),
)
trees = st.recursive(
    leaves,
    lambda children: st.one_of(
        st.builds(lambda cs: {"all": cs}, st.lists(children, min_size=1, max_size=4)),
        st.builds(lambda cs: {"any": cs}, st.lists(children, min_size=1, max_size=4)),
        st.builds(lambda c: {"not": c}, children),
    ),
    max_leaves=12,
)
facts = st.builds(
    lambda attributes, lists, counts, orders, messages, more: Facts(
        attributes={k: v for k, v in attributes.items() if v is not None},
        lists=frozenset(lists),
        event_counts=counts,
        orders=orders,
        messages=messages,
        **more,
    ),
    st.dictionaries(st.sampled_from(NAMES), scalars),
    st.sets(st.sampled_from(LISTS)),
    st.dictionaries(st.sampled_from(EVENTS), st.integers(0, 3)),
    st.dictionaries(
        st.sampled_from(ORDER_KEYS),
        st.builds(
            lambda n, total, products: OrderStats(number=n, total=total, products=products),
            st.integers(0, 4),
            st.floats(0, 200),
            st.frozensets(st.sampled_from(["tea", "cake"])),
        ),
    ),
    st.dictionaries(st.sampled_from(["received:*:*", "opened:*:*"]), st.integers(0, 2)),
    st.fixed_dictionaries(
        {
            "trigger": st.one_of(
                st.none(), st.builds(lambda p: {"name": "e", "properties": {"plan": p}}, scalars)
            ),
            "context": st.one_of(
                st.just({}),
                st.builds(lambda c: {"webhook": {"hook": {"status": c}}}, st.integers(0, 600)),
            ),
            "deals": st.lists(
                st.builds(
                    Deal,
                    pipeline=st.just("P"),
                    stage=st.sampled_from(["New", "Won"]),
                    status=st.just("open"),
                ),
                max_size=2,
            ).map(tuple),
            "owner": st.sampled_from([None, "a@x.io", "b@x.io"]),
            "run_id": st.integers(0, 10**6),
        }
    ),
)


@given(trees, facts)
def test_not_inverts(tree: dict[str, Any], known: Facts) -> None:
    plain = evaluate(rule(tree), known)
    negated = evaluate(rule({"not": tree}), known)
    twice = evaluate(rule({"not": {"not": tree}}), known)

    assert negated.result is (not plain.result)
    assert twice.result is plain.result
    assert plain.reason and negated.reason


@given(st.lists(trees, min_size=1, max_size=5), facts)
def test_all_and_any_agree_with_python(children: list[dict[str, Any]], known: Facts) -> None:
    results = [evaluate(rule(child), known).result for child in children]

    assert evaluate(rule({"all": children}), known).result is all(results)
    assert evaluate(rule({"any": children}), known).result is any(results)
    # De Morgan, as a check on both
    negated = [{"not": c} for c in children]
    assert (
        evaluate(rule({"not": {"all": children}}), known).result
        is evaluate(rule({"any": negated}), known).result
    )


@given(scalars, operands)
def test_equals_and_not_equals_are_complements(value: Any, operand: Any) -> None:
    assert check(value, equals=operand) is not check(value, not_equals=operand)


@given(scalars)
def test_is_set_true_and_false_are_complements(value: Any) -> None:
    assert check(value, is_set=True) is not check(value, is_set=False)


numbers = st.one_of(st.integers(-(10**6), 10**6), st.floats(-1e6, 1e6, allow_nan=False))


@given(numbers, numbers)
def test_order_operators_on_numbers_agree_with_python(value: float, operand: float) -> None:
    assert check(value, gt=operand) is (value > operand)
    assert check(value, gte=operand) is (value >= operand)
    assert check(value, lt=operand) is (value < operand)
    assert check(value, lte=operand) is (value <= operand)
