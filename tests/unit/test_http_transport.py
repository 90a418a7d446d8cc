"""The base of the HTTP transports (channels/http.py): results in order, each reported as it
comes, at most ``concurrency`` calls holding a slot, and a client passed in left open."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from journeyman.channels.http import HttpTransport


class Echo(HttpTransport):
    """Waits ``delay`` seconds per item inside a slot, then answers the item."""

    def __init__(self, concurrency: int, client: httpx.AsyncClient | None = None) -> None:
        super().__init__(client=client, concurrency=concurrency, name="echo")
        self.busy = self.most = 0

    async def call(self, delay: float) -> float:
        async with self._slots:
            self.busy += 1
            self.most = max(self.most, self.busy)
            await asyncio.sleep(delay)
            self.busy -= 1
        return delay


def test_results_come_in_order_and_are_reported_as_each_answer_comes() -> None:
    heard: list[tuple[int, float]] = []

    async def main() -> list[float]:
        async with Echo(concurrency=3) as transport:
            return await transport._each(
                [0.4, 0.0, 0.2], transport.call, lambda i, r: heard.append((i, r))
            )

    assert asyncio.run(main()) == [0.4, 0.0, 0.2]
    assert heard == [(1, 0.0), (2, 0.2), (0, 0.4)]


def test_at_most_concurrency_calls_hold_a_slot() -> None:
    async def main() -> int:
        async with Echo(concurrency=2) as transport:
            await transport._each([0.01] * 6, transport.call, None)
            return transport.most

    assert asyncio.run(main()) == 2


def test_a_client_passed_in_stays_open_and_an_own_one_is_closed() -> None:
    async def main() -> tuple[bool, bool]:
        async with httpx.AsyncClient() as given:
            async with Echo(concurrency=1, client=given):
                pass
            own = Echo(concurrency=1)
            await own.aclose()
            return given.is_closed, own._client.is_closed

    assert asyncio.run(main()) == (False, True)


def test_a_concurrency_below_one_is_refused_with_the_transport_s_name() -> None:
    with pytest.raises(ValueError, match="echo concurrency 0 is invalid; expected >= 1"):
        Echo(concurrency=0)
