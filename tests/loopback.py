"""A helper shared by the test tiers (tests/ is on sys.path through tests/conftest.py)."""

from __future__ import annotations

import asyncio

from aiosmtpd.controller import Controller


class EphemeralController(Controller):
    """An aiosmtpd Controller on a port the OS picks, so tests never race for a fixed port."""

    async def _create_server(self) -> asyncio.AbstractServer:
        server = await self.loop.create_server(
            self._factory_invoker, host=self.hostname, port=0, ssl=self.ssl_context
        )
        self.port = server.sockets[0].getsockname()[1]
        return server
