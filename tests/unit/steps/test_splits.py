"""The split steps: ``switch`` (first matching branch, else the default) and ``split``
(percentages, fixed per run): their parameters, ways out, needs and batch functions."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from journeyman.conditions import Facts, bucket
from journeyman.errors import InvalidWorkflow
from journeyman.model.runs import RunView
from journeyman.steps.base import StepEnv, StepItem
from journeyman.steps.flow import Split, SplitParams, Switch, SwitchParams
from journeyman.steps.registry import REGISTRY
from journeyman.workflow.document import json_schema, parse_workflow

NOW = dt.datetime(2027, 1, 4, 9, 0, tzinfo=dt.UTC)
ENV = StepEnv(now=NOW, workflow_key="wf", step_id="s", list_ids={}, secret=b"secret")


def item(run_id: int, facts: Facts | None = None) -> StepItem:
    run = RunView(run_id=run_id, workflow_id=1, version_id=1, contact_id=run_id, step_id="s", seq=0)
    return StepItem(run=run, contact=None, facts=facts or Facts(run_id=run_id, step_id="s"))


def switch(*branches: dict[str, Any], default: str = "other") -> SwitchParams:
    return SwitchParams.model_validate({"branches": list(branches), "default": default})


def split(*percents: float) -> SplitParams:
    paths = [{"percent": p, "goto": f"to_{i}"} for i, p in enumerate(percents, start=1)]
    return SplitParams.model_validate({"paths": paths})


def document(*steps: dict[str, Any]) -> dict[str, Any]:
    return {"name": "Splits", "entry_points": [{"event": "signup"}], "steps": list(steps)}


# --- switch -------------------------------------------------------------------------------

VIP = {"name": "vip", "when": {"in_list": "VIP"}, "goto": "vip"}
GOLD = {"when": {"attribute": {"name": "PLAN", "equals": "gold"}}, "goto": "gold"}
ANY_PLAN = {"when": {"attribute": {"name": "PLAN", "is_set": True}}, "goto": "plan"}


def test_switch_takes_the_first_matching_branch_else_the_default() -> None:
    params = switch(VIP, GOLD, ANY_PLAN)
    items = [
        item(1, Facts(lists=frozenset({"VIP"}), attributes={"PLAN": "gold"})),
        item(2, Facts(attributes={"PLAN": "Gold"})),
        item(3, Facts(attributes={"PLAN": "silver"})),
        item(4, Facts()),
    ]

    outcomes = Switch().run(params, items, ENV)

    assert [(o.run_id, o.result, o.branch) for o in outcomes] == [
        (1, "vip", "vip"),
        (2, "branch_2", "branch_2"),
        (3, "branch_3", "branch_3"),
        (4, "default", "default"),
    ]
    assert outcomes[1].reason == "branch_2: PLAN = 'Gold', matches equals 'gold'"
    assert outcomes[3].reason == (
        "default, no branch matched (vip: not in list 'VIP'; "
        "branch_2: PLAN = unset, does not match equals 'gold'; "
        "branch_3: PLAN = unset, does not match is_set True)"
    )


def test_switch_ways_out_needs_and_names() -> None:
    params = switch(VIP, GOLD, {"when": {"owner": {"user": "a@x.io"}}, "goto": "end"})
    handler = Switch()

    assert handler.targets(params) == {
        "vip": "vip",
        "branch_2": "gold",
        "branch_3": "end",
        "default": "other",
    }
    assert handler.branches == ("default",)  # a disabled switch takes the default
    needs = handler.needs(params)
    assert needs.lists and needs.contact and needs.owner and not needs.event
    assert handler.lists_used(params) == {"VIP"}
    assert handler.references(params) == {"users": {"a@x.io"}}
    assert handler.target_field(params, "branch_2") == "switch.branches.1.goto"
    assert handler.target_field(params, "default") == "switch.default"
    assert "switch" in REGISTRY and "split" in REGISTRY


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"branches": [], "default": "x"}, "at least 1 item"),
        ({"branches": [GOLD]}, "Field required"),
        ({"branches": [{**GOLD, "name": "default"}], "default": "x"}, "used twice"),
        ({"branches": [{**GOLD, "name": "a"}, {**VIP, "name": "a"}], "default": "x"}, "twice"),
        (
            {"branches": [{**GOLD, "name": "branch_2"}, VIP | {"name": None}], "default": "x"},
            "twice",
        ),
        ({"branches": [{"when": {"in_list": "A"}}], "default": "x"}, "Field required"),
        ({"branches": [{**GOLD, "name": "has space"}], "default": "x"}, "should match pattern"),
        ({"branches": [{**GOLD, "when": {"nope": 1}}], "default": "x"}, "a rule is an object"),
    ],
)
def test_malformed_switches_are_refused(raw: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        SwitchParams.model_validate(raw)


def test_switch_targets_are_checked_where_the_user_wrote_them() -> None:
    bad = document(
        {
            "id": "route",
            "switch": {
                "branches": [{"when": {"in_list": "A"}, "goto": "a"}, {**GOLD, "goto": "nowhere"}],
                "default": "gone",
            },
        },
        {"id": "a", "add_to_list": {"lists": "A"}},
    )

    with pytest.raises(InvalidWorkflow) as caught:
        parse_workflow(bad)

    assert {(p.step, p.field) for p in caught.value.problems} == {
        ("route", "switch.branches.1.goto"),
        ("route", "switch.default"),
    }
    assert all("is not a step of this workflow" in p.message for p in caught.value.problems)


def test_a_step_only_a_switch_branch_reaches_is_reachable() -> None:
    workflow = parse_workflow(
        document(
            {"id": "route", "switch": {"branches": [{**GOLD, "goto": "gold"}], "default": "end"}},
            {"id": "gold", "add_to_list": {"lists": "Gold"}},
        )
    )

    assert workflow.steps["route"].targets == {"branch_1": "gold", "default": None}
    assert workflow.lists_used() == {"Gold": ["gold"]}


# --- split --------------------------------------------------------------------------------


def test_split_sends_each_run_down_the_path_its_number_falls_in() -> None:
    params = split(30, 70)
    items = [item(i) for i in range(1, 300)]

    outcomes = Split().run(params, items, ENV)

    for outcome in outcomes:
        drawn = bucket(outcome.run_id, "s")
        assert outcome.branch == ("path_1" if drawn < 3000 else "path_2")
        assert outcome.result == outcome.branch
        assert outcome.reason.startswith(f"random number {drawn / 100:.2f} falls in ")
    assert outcomes[0].reason.endswith("(30%: 0 to 30)") or outcomes[0].reason.endswith(
        "(70%: 30 to 100)"
    )
    assert Split().run(params, items, ENV) == outcomes  # a replay takes the same way


def test_split_shares_follow_the_percents() -> None:
    params = split(10, 0, 25.5, 64.5)
    taken = Counter(o.branch for o in Split().run(params, [item(i) for i in range(20000)], ENV))

    assert taken["path_2"] == 0
    assert abs(taken["path_1"] / 20000 - 0.10) < 0.015
    assert abs(taken["path_3"] / 20000 - 0.255) < 0.015
    assert abs(taken["path_4"] / 20000 - 0.645) < 0.015


def test_split_ways_out() -> None:
    params = split(50, 50)
    handler = Split()

    assert handler.targets(params) == {"path_1": "to_1", "path_2": "to_2"}
    assert handler.branches == ("path_1",)  # a disabled split takes the first path
    assert handler.target_field(params, "path_2") == "split.paths.1.goto"
    assert not handler.needs(params).anything


@pytest.mark.parametrize(
    ("percents", "message"),
    [
        ((50, 40), "add up to 90, not 100"),
        ((50, 60), "add up to 110, not 100"),
        ((100,), "at least 2 items"),
        ((33.333, 66.667), "at most two decimals"),
        ((-10, 110), "greater than or equal to 0"),
    ],
)
def test_malformed_splits_are_refused(percents: tuple[float, ...], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        split(*percents)


def test_split_targets_are_checked_where_the_user_wrote_them() -> None:
    with pytest.raises(InvalidWorkflow) as caught:
        parse_workflow(
            document(
                {
                    "id": "ab",
                    "split": {
                        "paths": [{"percent": 50, "goto": "end"}, {"percent": 50, "goto": "b"}]
                    },
                }
            )
        )

    (problem,) = caught.value.problems
    assert (problem.step, problem.field) == ("ab", "split.paths.1.goto")


def test_both_kinds_are_in_the_json_schema() -> None:
    schema = json_schema()
    kinds = {ref["$ref"].rsplit("/", 1)[1] for ref in schema["$defs"]["Step"]["oneOf"]}

    assert {"SwitchStep", "SplitStep"} <= kinds
    assert {"SwitchParams", "SplitParams", "SwitchBranch", "SplitPath"} <= set(schema["$defs"])


# --- properties ---------------------------------------------------------------------------

percent_lists = st.lists(st.integers(0, 100), min_size=1, max_size=5).filter(
    lambda ps: sum(ps) <= 100
)


@given(percent_lists, st.lists(st.integers(0, 10**9), min_size=1, max_size=30))
def test_every_run_takes_exactly_the_path_its_number_falls_in(
    percents: list[int], run_ids: list[int]
) -> None:
    shares = [*percents, 100 - sum(percents)]
    params = split(*shares)
    bounds = params.bounds()

    outcomes = Split().run(params, [item(i) for i in run_ids], ENV)

    for run_id, outcome in zip(run_ids, outcomes, strict=True):
        (name,) = [n for n, start, end in bounds if start <= bucket(run_id, "s") < end]
        assert outcome.branch == name
        assert shares[int(name.removeprefix("path_")) - 1] > 0
