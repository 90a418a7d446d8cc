"""Results reported as they come: a transport calls ``on_result(index, result)`` for each
message as soon as its answer is known, so that the dispatcher records it at once instead of
when the whole batch is done (what a crash then sends twice is only what was in flight)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

__all__ = ["OnResult", "reported"]

R = TypeVar("R")
OnResult = Callable[[int, R], None]


async def reported(index: int, answer: Awaitable[R], on_result: OnResult[R] | None) -> R:
    """Await ``answer``, report it as message ``index``'s result, and return it."""
    result = await answer
    if on_result is not None:
        on_result(index, result)
    return result
