"""The testee's delivery queue: retries, the delayed DSN, expiry, the idle event, stopping.

The harness is the next hop (``tmp.T@`` is answered 451 for ever) and the sink
for NDRs.  Every wait is on an event with a deadline (the harness's mailbox, the
testee's idle condition); nothing sleeps.
"""

from __future__ import annotations

import smtplib
import socket
import threading
import time
import uuid
from collections.abc import Iterator

import pytest

from conformance.findings import Profile, Severity
from conformance.harness.mailbox import Transaction
from conformance.harness.servers import Harness, HarnessConfig
from conformance.ndr.envelope import Envelope, OriginalRecipient
from conformance.ndr.lint import lint_bytes
from conformance.testee import Testee, TesteeConfig

#: short timers so that the whole life of a deferred recipient fits in a test
FAST = {"delay_warning": 0.4, "retry_interval": 0.2, "queue_lifetime": 1.5}


@pytest.fixture(scope="module")
def harness() -> Iterator[Harness]:
    with Harness(HarnessConfig()) as h:
        yield h


def routes_to(harness: Harness) -> dict[str, tuple[str, int]]:
    return {"relay.test": ("127.0.0.1", harness.dsn_port), "sender.test": ("127.0.0.1", harness.dsn_port),
            "plain-relay.test": ("127.0.0.1", harness.plain_port)}


def send(testee: Testee, rcpt: str, notify: str | None = None, sender: str | None = None) -> tuple[str, float]:
    """One message from <token@sender.test>; returns the sender and a time before the testee accepted it."""
    sender = sender or f"{uuid.uuid4().hex[:12]}@sender.test"
    message = f"From: <{sender}>\r\nTo: <{rcpt}>\r\nSubject: queue test\r\n\r\nbody\r\n"
    before = time.monotonic()
    with smtplib.SMTP(testee.host, testee.port, timeout=10) as client:
        client.ehlo("client.test")
        client.sendmail(sender, [rcpt], message, rcpt_options=[f"NOTIFY={notify}"] if notify else [])
    return sender, before


def ndrs_to(sender: str):  # type: ignore[no-untyped-def]
    return lambda tx: tx.role == "sink" and any(r.address == sender for r in tx.recipients)


def lint_clean(tx: Transaction, sender: str, rcpt: str, notify: str | None) -> None:
    """The testee's DSNs are well-formed: no warning or error from the linter, with the original envelope."""
    assert tx.data is not None
    envelope = Envelope(reverse_path=sender, recipients=(OriginalRecipient(rcpt, None, notify),))
    result = lint_bytes(tx.data, profile=Profile.ANTI_BACKSCATTER, envelope=envelope, wire=True, dsn_advertised=True)
    assert [f.render() for f in result.findings if f.severity >= Severity.WARNING] == []


def test_without_routes_the_testee_is_idle() -> None:
    with Testee() as testee:
        send(testee, "alice@local.test")
        assert testee.wait_idle(0)


def test_idle_at_once_after_a_plain_relay(harness: Harness) -> None:
    idle = threading.Event()
    with Testee(TesteeConfig(routes=routes_to(harness))) as testee:
        testee.on_idle(idle.set)
        token = uuid.uuid4().hex[:12]
        _, before = send(testee, f"ok.{token}@relay.test")
        assert testee.wait_idle(5)
        assert time.monotonic() - before < 2
        assert idle.wait(5)  # the callback ran at the busy-to-idle transition
        # idle means done: the relayed copy is recorded already, no waiting
        copies = harness.mailbox.matching(lambda tx: any(r.address == f"ok.{token}@relay.test" for r in tx.recipients))
        assert len(copies) == 1 and copies[0].data is not None


def test_a_refused_recipient_is_bounced_before_the_testee_is_idle(harness: Harness) -> None:
    with Testee(TesteeConfig(routes=routes_to(harness))) as testee:
        rcpt = f"rej-rcpt.{uuid.uuid4().hex[:12]}@relay.test"
        sender, _ = send(testee, rcpt)
        assert testee.wait_idle(5)
        [ndr] = harness.mailbox.matching(ndrs_to(sender))  # recorded by the sink before the testee went idle
        assert ndr.mail_from == "" and b"Action: failed" in (ndr.data or b"")
        lint_clean(ndr, sender, rcpt, None)


def test_a_deferred_recipient_is_retried_warned_once_and_failed_at_expiry(harness: Harness) -> None:
    config = TesteeConfig(routes=routes_to(harness), **FAST)
    transitions: list[float] = []
    with Testee(config) as testee:
        testee.on_idle(lambda: transitions.append(time.monotonic()))
        token = uuid.uuid4().hex[:12]
        rcpt = f"tmp.{token}@relay.test"
        before_wall = time.time()
        sender, before = send(testee, rcpt, notify="DELAY,FAILURE")
        # the recipient stays queued: not idle before its lifetime is over (looked at until half of it)
        assert not testee.wait_idle(max(0.0, before + config.queue_lifetime / 2 - time.monotonic()))
        [delayed] = harness.mailbox.wait_for(ndrs_to(sender), timeout=10)
        assert delayed.started - before_wall >= config.delay_warning  # not before the warning time
        data = delayed.data or b""
        assert b"Action: delayed" in data and b"Status: 4.3.0" in data and b"Will-Retry-Until: " in data
        assert b"Diagnostic-Code: smtp; 451 4.3.0" in data
        lint_clean(delayed, sender, rcpt, "DELAY,FAILURE")
        assert testee.wait_idle(config.queue_lifetime + 10)
        assert time.monotonic() - before >= config.queue_lifetime
        assert len(transitions) == 1
        # idle: the failed DSN is recorded already
        ndrs = harness.mailbox.matching(ndrs_to(sender))
        assert [tx.id for tx in ndrs][:1] == [delayed.id] and len(ndrs) == 2
        failed = ndrs[1].data or b""
        assert b"Action: failed" in failed and b"Status: 4.3.0" in failed
        assert b"Diagnostic-Code: smtp; 451 4.3.0" in failed and b"delivery time expired" in failed
        assert b"Will-Retry-Until" not in failed
        lint_clean(ndrs[1], sender, rcpt, "DELAY,FAILURE")
        # tried at once, then every retry_interval until the lifetime was over (and a last time)
        attempts = harness.mailbox.matching(lambda tx: tx.role == "next-hop" and any(
            r.address == rcpt for r in tx.recipients))
        assert 3 <= len(attempts) <= config.queue_lifetime / config.retry_interval + 2


def test_notify_decides_which_dsns_a_deferred_recipient_gets(harness: Harness) -> None:
    config = TesteeConfig(routes=routes_to(harness), **FAST)
    with Testee(config) as testee:
        failure_only, _ = send(testee, f"tmp.{uuid.uuid4().hex[:12]}@relay.test", notify="FAILURE")
        never, _ = send(testee, f"tmp.{uuid.uuid4().hex[:12]}@relay.test", notify="NEVER")
        delay_only, _ = send(testee, f"tmp.{uuid.uuid4().hex[:12]}@relay.test", notify="DELAY")
        assert testee.wait_idle(config.queue_lifetime + 10)
        failed = harness.mailbox.matching(ndrs_to(failure_only))
        assert len(failed) == 1 and b"Action: failed" in (failed[0].data or b"")
        assert harness.mailbox.matching(ndrs_to(never)) == []
        delayed = harness.mailbox.matching(ndrs_to(delay_only))
        assert len(delayed) == 1 and b"Action: delayed" in (delayed[0].data or b"")


def test_no_delayed_dsn_when_the_warning_is_not_below_the_lifetime(harness: Harness) -> None:
    config = TesteeConfig(routes=routes_to(harness), delay_warning=5, retry_interval=0.2, queue_lifetime=0.6)
    with Testee(config) as testee:
        sender, _ = send(testee, f"tmp.{uuid.uuid4().hex[:12]}@relay.test")
        assert testee.wait_idle(10)
        [ndr] = harness.mailbox.matching(ndrs_to(sender))
        assert b"Action: failed" in (ndr.data or b"")


def test_an_unreachable_next_hop_is_retried_until_it_answers(harness: Harness) -> None:
    with socket.socket() as dead:  # bound, never listening: connections are refused
        dead.bind(("127.0.0.1", 0))
        routes = {**routes_to(harness), "relay.test": dead.getsockname()}
        config = TesteeConfig(routes=routes, delay_warning=30, retry_interval=0.2, queue_lifetime=30)
        with Testee(config) as testee:
            rcpt = f"ok.{uuid.uuid4().hex[:12]}@relay.test"
            sender, _ = send(testee, rcpt)
            assert not testee.wait_idle(0.3)  # deferred, not failed at once
            routes["relay.test"] = ("127.0.0.1", harness.dsn_port)  # the next hop comes back
            assert testee.wait_idle(10)
            assert len(harness.mailbox.matching(lambda tx: any(r.address == rcpt for r in tx.recipients))) == 1
            assert harness.mailbox.matching(ndrs_to(sender)) == []


def test_busy_from_before_the_250_until_the_work_is_done_and_stop_is_prompt() -> None:
    """A next hop that never greets keeps the delivery worker waiting; stop() aborts it at once."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(5)  # the kernel completes the handshake; nobody ever answers
        idle = threading.Event()
        testee = Testee(TesteeConfig(routes={"relay.test": silent.getsockname()}))
        testee.start()
        try:
            testee.on_idle(idle.set)
            send(testee, f"ok.{uuid.uuid4().hex[:12]}@relay.test")
            assert not testee.wait_idle(0)  # the worker holds the message
            assert not testee.wait_idle(0.2)
        finally:
            started = time.monotonic()
            testee.stop()
            assert time.monotonic() - started < 3
        assert idle.is_set()  # stop() discarded busy work: waiters are told
        assert testee.wait_idle(0)


def test_stop_cancels_scheduled_retries_promptly(harness: Harness) -> None:
    config = TesteeConfig(routes=routes_to(harness), delay_warning=60, retry_interval=60, queue_lifetime=120)
    testee = Testee(config)
    testee.start()
    calls: list[int] = []
    remove = testee.on_idle(lambda: calls.append(1))
    try:
        rcpt = f"tmp.{uuid.uuid4().hex[:12]}@relay.test"
        send(testee, rcpt)
        assert harness.mailbox.wait_for(lambda tx: any(r.address == rcpt for r in tx.recipients), timeout=10)
        assert not testee.wait_idle(0)  # scheduled for its retry in a minute
    finally:
        started = time.monotonic()
        testee.stop()
        assert time.monotonic() - started < 3
    assert testee.wait_idle(0) and calls == [1]
    remove()
    assert not testee.queue._threads and testee.queue._scheduler is None  # every thread joined


def test_a_stopped_testee_can_start_again(harness: Harness) -> None:
    testee = Testee(TesteeConfig(routes=routes_to(harness)))
    testee.start()
    testee.stop()
    testee.start()
    try:
        rcpt = f"rej-rcpt.{uuid.uuid4().hex[:12]}@relay.test"
        sender, _ = send(testee, rcpt)
        assert testee.wait_idle(5)
        assert len(harness.mailbox.matching(ndrs_to(sender))) == 1
    finally:
        testee.stop()


def test_timers_must_be_positive() -> None:
    with pytest.raises(ValueError, match="queue timers"):
        TesteeConfig(retry_interval=0)
    with pytest.raises(ValueError, match="queue timers"):
        TesteeConfig(queue_lifetime=-1)
