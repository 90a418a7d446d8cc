"""Events as the triggers see them, and as the API shows them."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True, kw_only=True)
class Event:
    """A stored event the engine took from the queue: what triggers, reactions and entry
    points decide on."""

    id: int
    name: str
    contact_id: int
    properties: Mapping[str, Any]


@dataclass(frozen=True, slots=True, kw_only=True)
class AnniversaryScan:
    """What the daily anniversary scan looks for: contacts whose date ``attribute`` falls
    ``days_before`` days ahead (an ``anniversary`` event each)."""

    attribute: str
    days_before: int


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
