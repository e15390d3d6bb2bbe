"""What one reference testee is: its addresses, users, faults, limits, routes and queue timers."""

from __future__ import annotations

import ssl
from dataclasses import dataclass, field

from .faults import validate


@dataclass
class TesteeConfig:
    """The testee's settings; faults are checked against the catalogue and the timers for sense at once."""

    __test__ = False  # not a pytest test class, despite the name
    host: str = "127.0.0.1"
    port: int = 0  #: 0 lets the kernel pick a free port
    hostname: str = "testee.local.test"
    local_domain: str = "local.test"
    users: frozenset[str] = frozenset({"alice", "postmaster"})
    faults: frozenset[str] = frozenset()
    max_recipients: int = 1000
    max_message_size: int = 10 * 1024 * 1024
    max_connections: int = 50
    tls_context: ssl.SSLContext | None = None
    #: domain -> (host, port): relay domains (to a next hop) and sender domains (where NDRs go)
    routes: dict[str, tuple[str, int]] = field(default_factory=dict)
    #: where a failure of a null-sender message is reported (a plain notice, not a DSN); None: nowhere
    postmaster_notices: str | None = None
    # The delivery queue's timers, in seconds, counted from the message's acceptance (see queue.py),
    # chosen for a demo on one machine.  A slow case's --mta-delay-timeout must fall between
    # delay_warning and queue_lifetime (the embedded run and the matrix wait 3 s), and the
    # lifetime must also outlast the longest wait judged before the slow pair when all cases
    # are sent at once (--mta-ndr-timeout: 10 s in the embedded run), or a case judged late
    # would see the "failed" DSN too.
    #: a recipient still deferred this long gets one "delayed" DSN (if NOTIFY allows);
    #: none when it is not below queue_lifetime
    delay_warning: float = 1.0
    #: deferred recipients are tried again this often
    retry_interval: float = 1.0
    #: still deferred this long, a recipient fails: a "failed" DSN with its last 4yz reply (if NOTIFY allows)
    queue_lifetime: float = 15.0

    def __post_init__(self) -> None:
        self.faults = validate(frozenset(self.faults))
        if self.delay_warning < 0 or self.retry_interval <= 0 or self.queue_lifetime <= 0:
            raise ValueError(f"the queue timers: delay_warning must be 0 or more, retry_interval and "
                             f"queue_lifetime more than 0 (delay_warning={self.delay_warning:g}, "
                             f"retry_interval={self.retry_interval:g}, queue_lifetime={self.queue_lifetime:g})")
