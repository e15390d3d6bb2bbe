"""Listening without races: an aiosmtpd controller that binds before it starts, and picked ports.

Picking a free port first and binding it later races under load: another
process can take the port in between.  Binding port 0 lets the kernel choose
atomically, so every server that can be asked for its port afterwards listens
through ``BoundController``: the socket is bound in the caller's thread, so a
busy port is an immediate OSError (aiosmtpd's own start would wait out its
ready timeout, 10 s, before reporting it).  The reference testee and the
harness both listen through this class.

Some servers must be told their port before they bind: a real MTA reads it from
its configuration file, a harness in another process from its command line.
For those alone ``free_port`` picks one, below the kernel's ephemeral range, so
that the race left is with fixed-port servers only.
"""

from __future__ import annotations

import asyncio
import random
import socket
import threading
from collections.abc import Awaitable

from aiosmtpd.controller import Controller

#: where ``free_port`` picks by default: below Linux's ephemeral range (32768-60999 unless
#: net.ipv4.ip_local_port_range says otherwise), which port-0 binds and outgoing connections draw
#: from, so neither can take a picked port between the pick and the server's bind
PICK_RANGE = (20000, 32000)
_picked: set[int] = set()
_picked_lock = threading.Lock()


def free_port(low: int = PICK_RANGE[0], high: int = PICK_RANGE[1], host: str = "127.0.0.1") -> int:
    """A port in [low, high) that is free on *host* now and was not handed out before by this process.

    Only for a server that must know its port before it binds; one that can bind
    port 0 itself should (``BoundController``).  OSError when no port is found.
    """
    for _ in range(1000):
        port = random.randrange(low, high)
        with _picked_lock:
            if port in _picked:
                continue
            with socket.socket() as sock:
                try:
                    sock.bind((host, port))
                except OSError:
                    continue
            _picked.add(port)
        return port
    raise OSError(f"no free port in {low}-{high - 1} on {host}")


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
        """Serve on the socket ``start`` bound (aiosmtpd would bind host and port itself)."""
        if self._listening is None:
            raise RuntimeError("BoundController._create_server before start bound a socket")
        return self.loop.create_server(self._factory_invoker, sock=self._listening, ssl=self.ssl_context)
