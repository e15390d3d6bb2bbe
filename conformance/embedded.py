"""The embedded run: the reference testee and the harness in this process, wired to each other.

``mta-conformance run --testee`` is the one-command demonstration of the whole
suite, after-acceptance cases included: the harness listens first (port 0, so
the kernel picks free ports), the testee starts with routes to those ports, and
the pytest plugin is handed both.  Because the testee can say when it has
nothing running and nothing scheduled, a wait for "no NDR may come" ends as soon
as it has settled instead of running out a quiet period.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from .harness.servers import Harness, HarnessConfig
from .testee import Testee, TesteeConfig

LOCAL_DOMAIN = "local.test"
SENDER_DOMAIN = "sender.test"
RELAY_DOMAIN = "relay.test"
PLAIN_RELAY_DOMAIN = "plain-relay.test"
#: bounds for the waits: the testee warns of a delay after 1 s and gives up after 15 s (its queue
#: lifetime), so the slow pair's 3 s lies between the two, as --mta-delay-timeout must for a real MTA
DELAY_TIMEOUT = 3.0
QUIET_PERIOD = 3.0
NDR_TIMEOUT = 10.0


@dataclass(eq=False)  # hashable by identity: pytest registers it as a plugin object
class EmbeddedTarget:
    """The running pair; registered as a pytest plugin object so the suite's plugin can adopt the harness."""

    testee: Testee
    harness: Harness

    def options(self) -> list[str]:
        """The target options that point the suite at this pair (the user's own options come after and win)."""
        host = self.testee.host
        return [
            f"--mta-host={host}", f"--mta-port={self.testee.port}",
            f"--mta-known-recipient=alice@{LOCAL_DOMAIN}",
            f"--mta-sender-domain={SENDER_DOMAIN}", f"--mta-relay-domain={RELAY_DOMAIN}",
            f"--mta-plain-relay-domain={PLAIN_RELAY_DOMAIN}",
            f"--mta-harness-listen={host}:{self.harness.dsn_port}",
            f"--mta-harness-plain-listen={host}:{self.harness.plain_port}",
            f"--mta-delay-timeout={DELAY_TIMEOUT:g}", f"--mta-quiet-period={QUIET_PERIOD:g}",
            f"--mta-ndr-timeout={NDR_TIMEOUT:g}",
        ]

    def settled(self) -> bool:
        """Whether the testee has nothing running and nothing scheduled."""
        return self.testee.wait_idle(0)


@contextmanager
def embedded_target(faults: frozenset[str] = frozenset(), host: str = "127.0.0.1") -> Iterator[EmbeddedTarget]:
    """Start the harness, then the testee routed to it; stop both on exit.

    Raises ValueError for an unknown fault and OSError/RuntimeError when a
    server cannot listen (the caller reports that as could-not-test).
    """
    harness = Harness(HarnessConfig(host=host, dsn_port=0, plain_port=0, sender_domain=SENDER_DOMAIN,
                                    relay_domain=RELAY_DOMAIN, plain_relay_domain=PLAIN_RELAY_DOMAIN))
    config = TesteeConfig(host=host, faults=faults, local_domain=LOCAL_DOMAIN)  # validates the faults first
    harness.start()
    try:
        config.routes = {RELAY_DOMAIN: (host, harness.dsn_port), SENDER_DOMAIN: (host, harness.dsn_port),
                         PLAIN_RELAY_DOMAIN: (host, harness.plain_port)}
        testee = Testee(config)
        testee.start()
        try:
            target = EmbeddedTarget(testee, harness)
            harness.mailbox.settled = target.settled
            testee.on_idle(harness.mailbox.poke)
            yield target
        finally:
            testee.stop()
    finally:
        harness.stop()
