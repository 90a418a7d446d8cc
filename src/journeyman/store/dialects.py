"""Helpers shared by the store modules."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def chunks(items: Sequence[Any], size: int = 900) -> list[Sequence[Any]]:
    """SQLite allows a bounded number of bound parameters per statement."""
    return [items[i : i + size] for i in range(0, len(items), size)]
