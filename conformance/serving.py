"""An aiosmtpd controller that binds port 0 and learns its port from the socket.

Picking a free port first and binding it later races under load: another
process can take the port in between.  Binding port 0 lets the kernel choose
atomically; the real port is read back from the listening socket before
aiosmtpd's own readiness check connects to it.  The reference testee and the
harness both listen through this class.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any

from aiosmtpd.controller import Controller


class BoundController(Controller):
    """``Controller`` whose ``port`` may be 0; after ``start()`` it is the bound port."""

    def _create_server(self) -> Coroutine[Any, Any, asyncio.AbstractServer]:  # type: ignore[override]
        async def create() -> asyncio.AbstractServer:
            server = await self.loop.create_server(
                self._factory_invoker, host=self.hostname, port=self.port, ssl=self.ssl_context)
            self.port = int(server.sockets[0].getsockname()[1])
            return server

        return create()
