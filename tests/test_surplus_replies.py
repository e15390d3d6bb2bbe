"""More replies than commands (SMTP-RPL-007), and why no other verdict may stand beside it.

A scripted server answers each command as a small table says; the surplus
comes (a) buffered before a command, (b) around the 221 at QUIT, or (c) late,
shifted onto a later command.  In every case the result is SMTP-RPL-007 alone:
a RCPT judged on MAIL's late 250 must never become a false SMTP-REJ-001.
No timing is involved: the server writes only when it reads a command.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from conformance.findings import Outcome, Profile
from conformance.run import CaseResult, CaseRunner
from conformance.run.probe import run_probe
from conformance.suite.loader import load_suite
from conformance.target import StartTLS, make_settings

CASE = """\
suite: surplus
cases:
  - id: surplus.probe
    title: unknown user after a RSET
    checks: [SMTP-REJ-001]
    dialogue:
      - expect: 220
      - send: EHLO client.test
        expect: 250
      - send: RSET
        expect: 250
      - send: MAIL FROM:<probe@client.test>
        expect: 2xx
      - send: RCPT TO:<nobody@local.test>
        expect:
          - {code: 5xx, check: SMTP-REJ-001}
      - send: QUIT
        expect: 221
"""

#: command verb -> the bytes written when it is read (a conforming server by default)
GOOD: dict[str, bytes] = {
    "EHLO": b"250-mx.test\r\n250 PIPELINING\r\n",
    "RSET": b"250 Ok\r\n",
    "MAIL": b"250 Ok\r\n",
    "RCPT": b"550 no such user\r\n",
    "QUIT": b"221 Bye\r\n",
}


def run_case(port: int, tmp_path: Path) -> CaseResult:
    path = tmp_path / "surplus.mta.yaml"
    path.write_text(CASE)
    settings = make_settings(
        host="127.0.0.1", port=port, helo="client.test", sender="probe@client.test", local_domain="local.test",
        known_recipient=None, starttls=StartTLS.OFF, timeout=5, profile=Profile.ANTI_BACKSCATTER, strict=False,
        report_dir=tmp_path)
    runner = CaseRunner(settings)
    runner.adopt_probe(run_probe(settings))  # the probe is one session of its own: give it the same server
    return runner.run(load_suite(path).cases[0])


def only_surplus(result: CaseResult) -> str:
    assert result.outcome is Outcome.FAILED, result.summary()
    assert [f.check_id for f in result.findings] == ["SMTP-RPL-007"], result.summary()
    assert not result.errors
    return str(result.findings[0].where)


@pytest.fixture
def two_sessions() -> Iterator[Callable[[dict[str, bytes]], int]]:
    """An SMTP server answering by verb: the probe's session conforms, the case's follows *answers*."""
    threads: list[threading.Thread] = []

    def start(answers: dict[str, bytes]) -> int:
        listener = socket.create_server(("127.0.0.1", 0))
        listener.settimeout(10)

        def serve() -> None:
            with listener:
                # the probe's control RCPT (postmaster) is accepted; the case's unknown user is refused
                for table in ({**GOOD, "RCPT": b"250 Ok\r\n"}, {**GOOD, **answers}):
                    conn, _ = listener.accept()
                    with conn, conn.makefile("rb") as lines:
                        conn.sendall(b"220 mx.test ESMTP\r\n")
                        for line in lines:
                            verb = line.split(b" ", 1)[0].strip().upper().decode()
                            conn.sendall(table.get(verb, b"502 unknown\r\n"))
                            if verb == "QUIT":
                                break

        thread = threading.Thread(target=serve, daemon=True)
        thread.start()
        threads.append(thread)
        return int(listener.getsockname()[1])

    yield start
    for thread in threads:
        thread.join(timeout=10)


def test_a_conforming_server_passes(two_sessions: Callable[[dict[str, bytes]], int], tmp_path: Path) -> None:
    result = run_case(two_sessions({}), tmp_path)
    assert result.outcome is Outcome.PASSED, result.summary()
    assert result.findings == []


def test_surplus_buffered_before_a_command(two_sessions: Callable[[dict[str, bytes]], int], tmp_path: Path) -> None:
    result = run_case(two_sessions({"RSET": b"250 Ok\r\n250 Extra\r\n"}), tmp_path)
    assert "before we sent 'MAIL FROM:<probe@client.test>'" in only_surplus(result)
    assert "250 Extra" in result.findings[0].message


def test_a_reply_before_the_221(two_sessions: Callable[[dict[str, bytes]], int], tmp_path: Path) -> None:
    result = run_case(two_sessions({"QUIT": b"250 Extra\r\n221 Bye\r\n"}), tmp_path)
    assert "before the 221" in only_surplus(result)


def test_a_reply_after_the_221(two_sessions: Callable[[dict[str, bytes]], int], tmp_path: Path) -> None:
    result = run_case(two_sessions({"QUIT": b"221 Bye\r\n250 Extra\r\n"}), tmp_path)
    assert "after the 221" in only_surplus(result)


def test_a_late_surplus_withdraws_the_shifted_verdicts(two_sessions: Callable[[dict[str, bytes]], int],
                                                       tmp_path: Path) -> None:
    # RSET's second reply arrives only once MAIL is sent, MAIL's own 250 only once RCPT is sent:
    # RCPT is read as 250 and would be a false SMTP-REJ-001; the 550 is found buffered before QUIT
    result = run_case(two_sessions({"MAIL": b"250 Extra for RSET\r\n", "RCPT": b"250 Ok\r\n550 no such user\r\n"}),
                      tmp_path)
    assert "before we sent 'QUIT'" in only_surplus(result)
    assert "550 no such user" in result.findings[0].message
