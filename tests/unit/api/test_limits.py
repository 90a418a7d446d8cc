"""What the database cannot hold, found anywhere in a request body, with its path."""

from __future__ import annotations

from typing import Any

import pytest

from journeyman.api import limits


@pytest.mark.parametrize(
    "body",
    [
        {"email": "a@example.com", "attributes": {"AGE": 41, "TAGS": ["a", 1.5, True, None]}},
        {"n": 2**63 - 1, "m": -(2**63)},
        {"deep": [[{"x": 1}]]},
    ],
)
def test_what_fits_passes(body: Any) -> None:
    assert limits.problem(body) is None


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"name": "a\x00b"}, "name: text must not contain NUL"),
        ({"attributes": {"CITY": "\udc00"}}, "attributes.CITY: text must not contain NUL"),
        ({"attributes": {"k\x00": 1}}, "attributes.k\x00: text must not contain NUL"),
        ({"ids": [1, 2**63]}, f"ids[1]: {2**63} is outside the 64-bit integer range"),
        ({"p": {"x": float("inf")}}, "p.x: numbers must be finite"),
        ({"p": {"x": float("nan")}}, "p.x: numbers must be finite"),
        ("\x00", "body: text must not contain NUL"),
    ],
)
def test_what_does_not_fit_is_named_by_its_path(body: Any, expected: str) -> None:
    found = limits.problem(body)

    assert found is not None
    assert found.startswith(expected)


def test_nesting_is_limited() -> None:
    body: dict[str, Any] = {}
    inner = body
    for _ in range(limits.MAX_DEPTH + 1):
        inner["a"] = {}
        inner = inner["a"]

    found = limits.problem(body)

    assert found is not None
    assert found.endswith(f"nested deeper than {limits.MAX_DEPTH} levels")
    assert limits.problem({"a": {"b": {}}}) is None
