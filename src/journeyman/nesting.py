"""How deep a JSON or YAML text, or a parsed value, is nested, found without recursion.

``json.loads``, PyYAML and everything that walks their results (pydantic, the condition
evaluator) recurse once per level: a text nested 10,000 levels deep raises ``RecursionError``
in the middle of them, which may leave a parser's state half-built. So depth is measured
*before* a recursive parser sees the text (:func:`json_depth`), while composing YAML
(:func:`load_yaml`: the composer refuses a level too many before it descends) and on the
result (:func:`deeper_than`: YAML aliases can nest a value deeper than its text).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import yaml

# A JSON string (skipped whole, brackets inside it included) or a bracket.
_JSON_TOKEN = re.compile(rb'"(?:[^"\\]|\\.)*"|[\[\]{}]', re.DOTALL)
_OPENING = frozenset(b"[{")
MAX_VALUES = 2_000_000  # values walked in one document; YAML aliases can repeat a value


class TooDeep(ValueError):
    """Nested deeper than the limit (or, for a YAML document, expanding to too many values)."""


def json_depth(text: bytes | str, limit: int) -> int:
    """The deepest nesting of arrays and objects in the JSON ``text``, counted up to
    ``limit + 1`` at most (enough to refuse it); 0 when the text has too few brackets to be
    nested deeper than ``limit`` (not scanned). Malformed text is measured as far as it
    goes; its parser reports what is wrong with it."""
    data = text.encode("utf-8", "surrogatepass") if isinstance(text, str) else text
    if data.count(b"[") + data.count(b"{") <= limit:  # the common case, in C
        return 0
    depth = deepest = 0
    for match in _JSON_TOKEN.finditer(data):
        token = match.group()
        if len(token) != 1:
            continue  # a string
        if token[0] in _OPENING:
            depth += 1
            if depth > deepest:
                deepest = depth
                if deepest > limit:
                    return deepest
        else:
            depth -= 1
    return deepest


def prune_json(data: bytes, limit: int) -> bytes:
    """``data`` (JSON) with every array or object that opens deeper than ``limit`` levels
    replaced by ``null``, so that a recursive parser never goes deeper than ``limit``; the
    rest is unchanged. (The API refuses values nested past ``limits.MAX_DEPTH``, less than
    any ``limit`` it prunes at, so a pruned value is refused there with its path, and the
    other events of a batch are kept.)"""
    if data.count(b"[") + data.count(b"{") <= limit:
        return data
    parts: list[bytes] = []
    kept = 0  # data[:kept] is in parts
    depth = 0
    for match in _JSON_TOKEN.finditer(data):
        token = match.group()
        if len(token) != 1:
            continue
        if token[0] in _OPENING:
            depth += 1
            if depth == limit + 1:
                parts.append(data[kept : match.start()])
                parts.append(b"null")
        else:
            depth -= 1
            if depth == limit:
                kept = match.end()
    if depth > limit:  # unclosed: its parser reports the end of the text
        return b"".join(parts)
    parts.append(data[kept:])
    return b"".join(parts)


def deeper_than(value: Any, limit: int) -> bool:
    """Whether ``value`` (parsed JSON or YAML) nests lists and mappings deeper than
    ``limit``; a walk of more than :data:`MAX_VALUES` values raises :class:`TooDeep`."""
    pending: list[tuple[Any, int]] = [(value, 0)]
    walked = 0
    while pending:
        item, depth = pending.pop()
        walked += 1
        if walked > MAX_VALUES:
            raise TooDeep(f"the document expands to more than {MAX_VALUES:,} values")
        if isinstance(item, Mapping):
            children: Any = item.values()
        elif isinstance(item, list | tuple):
            children = item
        else:
            continue
        if depth >= limit:
            return True
        pending.extend((child, depth + 1) for child in children)
    return False


def load_yaml(text: str, limit: int) -> Any:
    """``yaml.safe_load(text)``, refusing a collection nested deeper than ``limit`` with
    :class:`TooDeep`, naming its line."""

    class Loader(_BoundedLoader):
        max_depth = limit

    loader = Loader(text)
    try:
        return loader.get_single_data()
    finally:
        loader.dispose()


class _BoundedLoader(yaml.SafeLoader):
    """PyYAML's pure-Python safe loader, whose composer (the part that recurses, once per
    level) counts its levels and stops at ``max_depth``. Its scanner and parser keep their
    state in lists, not on the call stack."""

    max_depth = 64
    _depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        opening = self.check_event(yaml.SequenceStartEvent, yaml.MappingStartEvent)
        if opening and self._depth >= self.max_depth:
            mark = self.peek_event().start_mark  # type: ignore[no-untyped-call]
            raise TooDeep(
                f"nested deeper than {self.max_depth} levels "
                f"(line {mark.line + 1}, column {mark.column + 1})"
            )
        self._depth += 1
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1
