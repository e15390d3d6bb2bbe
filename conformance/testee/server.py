"""The reference testee: a well-behaved MTA on aiosmtpd, with named faults, run in a background thread.

It listens through ``BoundController`` (conformance/serving.py): bound in the
caller's thread, so a busy port is an OSError at once, and port 0 lets the
kernel choose.  Each connection is a ``TesteeSMTP`` session (session.py).

It is not a relay-nothing sink.  What happens to a message it answered 250 at
the end of data:

* without routes (``TesteeConfig.routes`` empty): nothing; the message is
  dropped and no DSN is ever sent;
* with routes it enters the delivery queue (queue.py) before the 250 is
  written.  Recipients in a routed domain are relayed to that domain's next hop
  (relay.py); a 4yz or an unreachable next hop defers them, to be retried,
  warned about and finally failed on the queue's timers.  DSNs (dsn.py) for
  what failed, was delayed or was relayed to a next hop without DSN go to the
  original reverse-path (faults aside), through the route of its domain (none
  without one).  Unknown local users accepted in-session under an
  accept-then-bounce fault fail at the first attempt and are bounced.
  Recipients in no routed domain (the local users, foreign ones accepted under
  open-relay) are dropped.

``Testee.wait_idle`` and ``Testee.on_idle`` say when that queue has nothing
running and nothing scheduled.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from aiosmtpd.smtp import SMTP

from ..serving import BoundController
from .config import TesteeConfig
from .queue import DeliveryQueue
from .session import AcceptedEnvelope, TesteeSMTP

if TYPE_CHECKING:
    # typing.Self is Python 3.11+; only the type checker reads this import
    from typing_extensions import Self


class _TesteeController(BoundController):
    """Binds before it serves (conformance/serving.py): a busy port is an OSError at once; port 0 lets the
    kernel choose."""

    def __init__(self, testee: Testee) -> None:
        self.testee = testee
        cfg = testee.config
        super().__init__(None, hostname=cfg.host, port=cfg.port, ready_timeout=10.0,
                         server_hostname=cfg.hostname)

    def factory(self) -> SMTP:
        cfg = self.testee.config
        return TesteeSMTP(self.testee, hostname=cfg.hostname, ident="mta-conformance reference testee",
                          data_size_limit=2 * cfg.max_message_size,  # hard cap; the SIZE limit is judged at end of data
                          enable_SMTPUTF8=True, timeout=60,
                          tls_context=cfg.tls_context)


class Testee:
    """Runs the testee in a background thread; a context manager.

    Idle API (for harnesses that wait for "nothing more can come"):

    * ``wait_idle(timeout)`` returns True as soon as the delivery queue is empty:
      no delivery attempt or NDR running, nothing scheduled (no deferred
      recipient waiting for its retry, delay warning or expiry); False when
      *timeout* seconds pass first.  ``wait_idle(0)`` only looks.  SMTP sessions
      in progress do not count; a message counts from before its 250 to the end
      of data is written until its NDRs were accepted by the next hop.
    * ``on_idle(callback)`` calls ``callback()`` each time the testee goes from
      busy to idle (also when ``stop`` discards queued work).  It is called from
      the testee's threads (the delivery worker that finished the last piece of
      work, or the thread calling ``stop``) with no lock held, possibly from two
      threads at once: keep it short and thread-safe; exceptions are logged and
      dropped.  It returns a function that unregisters the callback.
    """

    __test__ = False

    def __init__(self, config: TesteeConfig | None = None) -> None:
        self.config = config or TesteeConfig()
        #: every MAIL transaction's envelope as accepted, in order (for tests)
        self.envelopes: list[AcceptedEnvelope] = []
        self.queue = DeliveryQueue(self.config)
        #: open SMTP sessions (counted by the sessions, on the server's event loop)
        self.connections = 0
        self._controller: _TesteeController | None = None
        self.host = self.config.host
        self.port = self.config.port

    def start(self) -> None:
        """Listen and serve; OSError at once when (host, port) cannot be bound."""
        self.queue.open()
        controller = _TesteeController(self)
        controller.start()  # binds (port 0: the kernel picks) and returns once the server answers
        self.port = controller.port
        self._controller = controller

    def wait_idle(self, timeout: float) -> bool:
        """True as soon as nothing runs and nothing is scheduled; False after *timeout* seconds."""
        return self.queue.wait_idle(timeout)

    def on_idle(self, callback: Callable[[], None]) -> Callable[[], None]:
        """Call *callback* (no arguments) at each busy-to-idle transition; returns an unregister function."""
        return self.queue.on_idle(callback)

    def stop(self) -> None:
        """Stop listening, discard the queue (timers cancelled, connections aborted); returns within seconds."""
        if self._controller is not None:
            self._controller.stop()
            self._controller = None
        self.queue.close()

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def serve_forever(config: TesteeConfig) -> None:
    """Run until SIGINT/SIGTERM (the CLI's ``testee`` command); OSError at once when it cannot listen."""
    testee = Testee(config)
    testee.start()
    serve_started(testee)


def serve_started(testee: Testee) -> None:
    """Serve a started testee until SIGINT/SIGTERM, then stop it."""
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    try:
        print(f"testee listening on {testee.host}:{testee.port} "
              f"(faults: {', '.join(sorted(testee.config.faults)) or 'none'})", flush=True)
        stop.wait()
    finally:
        testee.stop()
