"""Events as the triggers see them, and as the API shows them."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple


# A NamedTuple, not a frozen dataclass: one is built per run and step on the engine's hot
# path, where it costs a third as much (docs/architecture.md, "Measured").
class Event(NamedTuple):
    id: int
    name: str
    contact_id: int
    properties: Mapping[str, Any]


@dataclass(frozen=True, kw_only=True)
class EventRecord:
    """A stored event as the API lists it."""

    id: int
    name: str
    contact_id: int
    occurred_at: dt.datetime
    properties: Mapping[str, Any]


def property_at(properties: Mapping[str, Any], path: str) -> Any:
    """``a.b.c`` inside nested properties; None when any part is missing."""
    value: Any = properties
    for part in path.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return None
        value = value[part]
    return value
