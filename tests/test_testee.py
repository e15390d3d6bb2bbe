"""The reference testee, and the aiosmtpd behaviours it overrides or relies on."""

from __future__ import annotations

import errno
import smtplib
import socket
import subprocess
import sys
import time

import pytest

from conformance.exitcodes import ExitCode
from conformance.testee import FAULT_KINDS, FAULTS, KINDS, Testee, TesteeConfig
from conformance.testee import params as P
from conformance.testee.command import list_faults


def raw_session(t: Testee, *lines: str) -> list[bytes]:
    """Send each line and return each raw reply (greeting first)."""
    with socket.create_connection((t.host, t.port), timeout=5) as sock:
        reader = sock.makefile("rb")
        replies = []

        def read() -> bytes:
            data = b""
            while True:
                line = reader.readline()
                data += line
                if not line or line[3:4] != b"-":
                    return data

        replies.append(read())
        for line in lines:
            sock.sendall(line.encode() + b"\r\n")
            replies.append(read())
        return replies


@pytest.fixture(scope="module")
def testee():  # type: ignore[no-untyped-def]
    with Testee() as t:
        yield t


def test_ehlo_advertises_dsn_and_enhanced_codes(testee: Testee) -> None:
    with smtplib.SMTP(testee.host, testee.port, timeout=5) as client:
        client.ehlo("client.test")
        for keyword in ("dsn", "enhancedstatuscodes", "8bitmime", "smtputf8", "pipelining"):
            assert client.has_extn(keyword)


def test_long_dsn_parameters_keep_their_case(testee: Testee) -> None:
    envid = "MiXeD+2BCase" + "e" * 88
    orcpt = "rfc822;" + "A" * 480 + "@local.test"
    replies = raw_session(testee, "EHLO client.test", f"MAIL FROM:<s@sender.test> RET=hdrs ENVID={envid}",
                          f"RCPT TO:<alice@local.test> NOTIFY=success,FAILURE ORCPT={orcpt}", "QUIT")
    assert replies[2].startswith(b"250 2.1.0") and replies[3].startswith(b"250 2.1.5")
    assert len(f"RCPT TO:<alice@local.test> NOTIFY=success,FAILURE ORCPT={orcpt}") > 512  # aiosmtpd's own limit
    tx = testee.envelopes[-1]
    assert ("ENVID", envid) in tx.mail_params and ("RET", "hdrs") in tx.mail_params
    assert tx.rcpts[-1] == ("alice@local.test", [("NOTIFY", "success,FAILURE"), ("ORCPT", orcpt)])


def test_aiosmtpd_replies_get_enhanced_codes(testee: Testee) -> None:
    replies = raw_session(testee, "EHLO client.test", "BOGUS", "DATA", "RCPT TO:<alice@local.test>", "QUIT")
    assert replies[2].startswith(b"500 5.5.2 ")
    assert replies[3].startswith(b"503 5.5.1 ")
    assert replies[4].startswith(b"503 5.5.1 ")
    assert replies[5].startswith(b"221 2.0.0 ")


def test_unknown_user_refusal_and_relay(testee: Testee) -> None:
    replies = raw_session(testee, "EHLO c.test", "MAIL FROM:<s@sender.test>", "RCPT TO:<ghost@local.test>",
                          "RCPT TO:<x@example.net>", "RCPT TO:<a@local.test> FOO=1", "QUIT")
    assert replies[3] == (b"550-5.1.1 <ghost@local.test>: Recipient address rejected: no such user here\r\n"
                          b"550 5.1.1 Refused in-session so no bounce is ever sent\r\n")
    assert replies[4].startswith(b"550 5.7.1 <x@example.net>: Relay access denied")
    assert replies[5].startswith(b"555 5.5.4 FOO")


def test_invalid_and_repeated_dsn_parameters(testee: Testee) -> None:
    replies = raw_session(testee, "EHLO c.test", "MAIL FROM:<s@sender.test> RET=FOO",
                          "MAIL FROM:<s@sender.test> ENVID=a+zz", "MAIL FROM:<s@sender.test> RET=FULL RET=HDRS", "QUIT")
    assert all(r.startswith(b"501 5.5.4") for r in replies[2:5])


def test_start_stop_twice_and_side_by_side() -> None:
    with Testee() as a, Testee() as b:
        assert a.port != b.port
        for t in (a, b):
            assert raw_session(t)[0].startswith(b"220 ")
    again = Testee()
    again.start()
    again.stop()
    with pytest.raises(OSError):
        socket.create_connection((again.host, again.port), timeout=2).close()


def test_unknown_fault_is_refused_with_the_list() -> None:
    with pytest.raises(ValueError, match="unknown fault.*no-such-fault.*known: accept-unknown-recipients"):
        TesteeConfig(faults=frozenset({"no-such-fault"}))


def test_connection_limit() -> None:
    with Testee(TesteeConfig(max_connections=1)) as t:
        with socket.create_connection((t.host, t.port), timeout=5) as first:
            assert first.recv(100).startswith(b"220")
            with socket.create_connection((t.host, t.port), timeout=5) as second:
                assert second.recv(100).startswith(b"421 4.7.0")


@pytest.mark.parametrize(("value", "ok"), [("abc", True), ("a+2Bb", True), ("a+2b", False), ("a+ZZ", False),
                                            ("a=b", False), ("a b", False), ("", True)])
def test_xtext(value: str, ok: bool) -> None:
    assert (P.xtext_error(value) is None) is ok


@pytest.mark.parametrize(("value", "ok"), [("NEVER", True), ("SUCCESS,FAILURE", True), ("delay", True),
                                            ("NEVER,SUCCESS", False), ("", False), ("SOMETIMES", False),
                                            ("SUCCESS,SUCCESS", False)])
def test_notify(value: str, ok: bool) -> None:
    assert (P.notify_error(value) is None) is ok


def test_every_fault_is_described() -> None:
    assert all(description for description in FAULTS.values())
    assert len(FAULTS) >= 35


def test_every_fault_has_a_kind() -> None:
    assert FAULT_KINDS.keys() == FAULTS.keys()
    assert set(FAULT_KINDS.values()) == set(KINDS) == {"error", "warning", "inconclusive", "conforming"}


def test_list_faults_shows_each_kind_and_what_it_means() -> None:
    lines = list_faults()
    for kind in KINDS:
        assert any(line.startswith(kind + " ") and "exit" in line for line in lines)
    rows = {line.split()[0]: line.split()[1] for line in lines[lines.index("") + 2:]}
    assert rows == FAULT_KINDS


def listening_socket() -> socket.socket:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(1)
    return sock


def test_a_busy_port_fails_at_once() -> None:
    with listening_socket() as taken:
        started = time.monotonic()
        with pytest.raises(OSError) as info:
            Testee(TesteeConfig(port=taken.getsockname()[1])).start()
        assert info.value.errno == errno.EADDRINUSE
        assert time.monotonic() - started < 2


def test_testee_command_on_a_busy_port_says_so_in_one_line() -> None:
    with listening_socket() as taken:
        port = taken.getsockname()[1]
        started = time.monotonic()
        proc = subprocess.run([sys.executable, "-m", "conformance.cli", "testee", "--port", str(port)],
                              capture_output=True, text=True, timeout=60)
        elapsed = time.monotonic() - started
    assert proc.returncode == ExitCode.COULD_NOT_TEST
    assert proc.stderr.splitlines() == [f"mta-conformance testee: cannot listen on 127.0.0.1:{port}: "
                                        f"address already in use"]
    assert proc.stdout == "" and elapsed < 8  # the interpreter's start-up; not aiosmtpd's 10 s ready timeout


def test_list_faults_into_a_closed_pipe_ends_quietly() -> None:
    proc = subprocess.Popen([sys.executable, "-m", "conformance.cli", "testee", "--list-faults"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()  # the reader leaves before the table is written (as `| head -0` would)
    assert proc.wait(timeout=60) == 0
    assert proc.stderr.read() == b""
    proc.stderr.close()
