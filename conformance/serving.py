"""An aiosmtpd controller that binds before it starts, on port 0 if asked.

Picking a free port first and binding it later races under load: another
process can take the port in between.  Binding port 0 lets the kernel choose
atomically.  The socket is bound in the caller's thread, so a busy port is an
immediate OSError (aiosmtpd's own start would wait out its ready timeout, 10 s,
before reporting it).  The reference testee and the harness both listen
through this class.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Awaitable

from aiosmtpd.controller import Controller


class BoundController(Controller):
    """``Controller`` whose ``port`` may be 0; after ``start()`` it is the bound port."""

    _listening: socket.socket | None = None

    def start(self) -> None:
        """Bind now (OSError at once when the address is taken), then serve as aiosmtpd does."""
        family, kind, proto, _, address = socket.getaddrinfo(
            self.hostname or None, self.port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[0]
        sock = socket.socket(family, kind, proto)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as asyncio does; a listener still conflicts
            sock.bind(address)
        except OSError:
            sock.close()
            raise
        self.port = int(sock.getsockname()[1])
        self._listening = sock
        try:
            super().start()
        except BaseException:
            sock.close()
            raise

    def _create_server(self) -> Awaitable[asyncio.AbstractServer]:
        return self.loop.create_server(self._factory_invoker, sock=self._listening, ssl=self.ssl_context)
