"""Depth found without recursion: JSON texts measured and pruned, parsed values walked, YAML
composed with a bounded depth; 10,000 levels never reach a recursive parser."""

from __future__ import annotations

import json
import sys

import pytest

from journeyman import nesting

DEEP = 10_000


def test_json_depth_counts_brackets_outside_strings() -> None:
    assert nesting.json_depth(b'{"a": [1, {"b": "[[[[[["}]}', 2) == 3
    assert nesting.json_depth(b'{"a": [1, {"b": 2}]}', 3) == 0  # too few brackets: not scanned
    assert nesting.json_depth(b'["\\"[[[[", 1]', 0) == 1
    assert nesting.json_depth("[" * DEEP, 64) == 65  # stops counting past the limit


def test_prune_json_keeps_a_recursive_parser_within_the_limit() -> None:
    body = b'{"events": [{"n": 1}, {"tree": ' + b"[" * DEEP + b"]" * DEEP + b"}]}"
    assert sys.getrecursionlimit() < DEEP
    parsed = json.loads(nesting.prune_json(body, 64))
    assert parsed["events"][0] == {"n": 1}
    assert nesting.deeper_than(parsed, 63)  # pruned at 64 levels, not above
    assert not nesting.deeper_than(parsed, 64)
    assert nesting.prune_json(b'{"a": "[[[["}', 1) == b'{"a": "[[[["}'


def test_deeper_than_walks_without_recursion() -> None:
    value: list[object] = []
    for _ in range(DEEP):
        value = [value]
    assert nesting.deeper_than(value, 64)
    assert not nesting.deeper_than({"a": [{"b": 1}]}, 3)  # three levels, as json_depth counts
    assert nesting.deeper_than({"a": [{"b": []}]}, 3)


def test_yaml_is_composed_to_the_limit_only() -> None:
    with pytest.raises(nesting.TooDeep, match=r"nested deeper than 64 levels \(line 1, col"):
        nesting.load_yaml("a: " + "[" * DEEP + "]" * DEEP, 64)
    assert nesting.load_yaml("a: [[1]]\nb: {c: d}\n", 3) == {"a": [[1]], "b": {"c": "d"}}
    with pytest.raises(nesting.TooDeep):
        nesting.load_yaml("a: [[1]]", 2)


def test_yaml_aliases_that_expand_too_far_are_refused() -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 9)]
    value = nesting.load_yaml("\n".join(lines), 64)
    with pytest.raises(nesting.TooDeep, match="expands to more than"):
        nesting.deeper_than(value, 64)
