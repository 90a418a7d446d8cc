"""What the transports that speak HTTP share (the SMS and WhatsApp provider, webhooks): one
client, a bound on the requests in flight, and a batch call that reports each answer as soon
as it came (journeyman.channels.reporting)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Self, TypeVar

import httpx

from journeyman.channels.reporting import OnResult, reported

__all__ = ["HttpTransport"]

T = TypeVar("T")
R = TypeVar("R")


class HttpTransport:
    """The base of a transport over HTTP.

    A client passed in stays the caller's (``aclose`` leaves it open); otherwise the transport
    makes one, ignoring proxy variables in the environment. At most ``concurrency`` requests
    hold one of ``_slots`` at a time. Use a transport from one event loop only.
    """

    def __init__(self, *, client: httpx.AsyncClient | None, concurrency: int, name: str) -> None:
        if concurrency < 1:
            raise ValueError(f"{name} concurrency {concurrency} is invalid; expected >= 1")
        self._owns_client = client is None
        self._client = client or httpx.AsyncClient(trust_env=False)
        self._slots = asyncio.Semaphore(concurrency)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        if self._owns_client:
            await self._client.aclose()

    async def _each(
        self,
        items: Sequence[T],
        call: Callable[[T], Awaitable[R]],
        on_result: OnResult[R] | None,
    ) -> list[R]:
        """``call`` on every item: one result per item, in order, each also passed to
        ``on_result`` as soon as it came. ``call`` returns errors; it does not raise them."""
        calls = (reported(i, call(item), on_result) for i, item in enumerate(items))
        return await asyncio.gather(*calls)
