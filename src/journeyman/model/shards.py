"""Which contacts a worker takes."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True, kw_only=True)
class Shard:
    """Worker ``index`` of ``count`` takes the contacts with ``contact_id % count == index``:
    one contact's runs and events are always moved by the same worker, in order."""

    index: int = 0
    count: int = 1


EVERYONE = Shard()
