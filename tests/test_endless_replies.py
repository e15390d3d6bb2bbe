"""A reply must end: replies past the client's caps are never taken as replies.

Small servers misbehave exactly so: an endless ``250-`` EHLO reply written as
long as the client reads, an endless ``220-`` greeting, an endless ``250-`` RCPT
reply, one line of 100 KB.  The client must give up within its caps (bounded in
time and memory), close the connection, and say so in one line; the probe must
then be "could not test", and a case's dialogue must end with the one finding,
never with verdicts made up from the leftover lines.  No timing is involved:
servers write when they read a command and stop when the client closes.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from conformance.exitcodes import ExitCode
from conformance.findings import Outcome, Profile
from conformance.run import CaseResult, CaseRunner
from conformance.run.probe import run_probe
from conformance.smtp.client import (
    MAX_LINE_BYTES,
    MAX_REPLY_BYTES,
    MAX_REPLY_LINES,
    ReplyTooLong,
    SMTPConnection,
)
from conformance.suite.loader import load_suite
from conformance.target import StartTLS, TargetSettings, make_settings


@dataclass(frozen=True)
class Endless:
    """An answer that never ends: *line* written again and again until the client stops reading."""

    line: bytes


Answer = bytes | Endless
#: command verb (or "GREETING") -> what the server writes when it reads it
Table = dict[str, Answer]

GOOD: Table = {
    "GREETING": b"220 mx.test ESMTP\r\n",
    "EHLO": b"250-mx.test\r\n250-PIPELINING\r\n250 8BITMIME\r\n",
    "RSET": b"250 Ok\r\n",
    "MAIL": b"250 Ok\r\n",
    "RCPT": b"550 no such user\r\n",
    "QUIT": b"221 Bye\r\n",
}
#: the probe's control RCPT (postmaster) is accepted
PROBE: Table = {**GOOD, "RCPT": b"250 Ok\r\n"}
ENDLESS_EHLO = Endless(b"250-mx.test endless\r\n")

CASE = """\
suite: endless
cases:
  - id: endless.rcpt
    title: unknown user
    checks: [SMTP-REJ-001]
    dialogue:
      - expect: 220
      - send: EHLO client.test
        expect: 250
      - send: MAIL FROM:<probe@client.test>
        expect: 2xx
      - send: RCPT TO:<nobody@local.test>
        expect:
          - {code: 5xx, check: SMTP-REJ-001}
      - send: RSET
        expect: 250
      - send: QUIT
        expect: 221
"""


def write(conn: socket.socket, answer: Answer, stop: threading.Event) -> None:
    """Write *answer*; an Endless one until the client closes (or the test ends)."""
    if isinstance(answer, bytes):
        conn.sendall(answer)
        return
    burst = answer.line * 64
    while not stop.is_set():
        conn.sendall(burst)  # blocks while the client does not read; fails once it has closed


def serve_one(conn: socket.socket, table: Table, stop: threading.Event) -> None:
    conn.settimeout(10)  # a deadline for every read and write: the thread cannot outlive the test
    try:
        with conn, conn.makefile("rb") as lines:
            write(conn, table["GREETING"], stop)
            for line in lines:
                verb = line.split(b" ", 1)[0].strip().upper().decode("ascii", "replace")
                write(conn, table.get(verb, b"502 unknown\r\n"), stop)
                if verb == "QUIT":
                    return
    except OSError:
        pass  # the client closed while we wrote: what an endless answer waits for


@pytest.fixture
def server() -> Iterator[Callable[..., int]]:
    """Start a server answering its n-th connection by the n-th table (the last one for the rest)."""
    stop = threading.Event()
    threads: list[threading.Thread] = []

    def start(*tables: Table) -> int:
        listener = socket.create_server(("127.0.0.1", 0))
        listener.settimeout(0.2)  # so the accept loop sees *stop*; no test waits on it

        def accept() -> None:
            with listener:
                count = 0
                while not stop.is_set():
                    try:
                        conn, _ = listener.accept()
                    except TimeoutError:
                        continue
                    table = tables[min(count, len(tables) - 1)]
                    count += 1
                    worker = threading.Thread(target=serve_one, args=(conn, table, stop), daemon=True)
                    worker.start()
                    threads.append(worker)

        thread = threading.Thread(target=accept, daemon=True)
        thread.start()
        threads.append(thread)
        return int(listener.getsockname()[1])

    yield start
    stop.set()
    for thread in threads:
        thread.join(timeout=10)


def settings(port: int, tmp_path: Path) -> TargetSettings:
    return make_settings(
        host="127.0.0.1", port=port, helo="client.test", sender="probe@client.test", local_domain="local.test",
        known_recipient=None, starttls=StartTLS.OFF, timeout=5, profile=Profile.ANTI_BACKSCATTER, strict=False,
        report_dir=tmp_path)


def ehlo_reply(port: int) -> SMTPConnection:
    """Connect, read the greeting, send EHLO; the caller reads EHLO's reply."""
    conn = SMTPConnection("127.0.0.1", port, timeout=5)
    conn.connect()
    assert conn.read_reply().code == 220
    conn.send_line("EHLO client.test")
    return conn


# -- the client ------------------------------------------------------------------------------


def test_caps_are_named_and_bounded() -> None:
    assert (MAX_REPLY_LINES, MAX_REPLY_BYTES, MAX_LINE_BYTES) == (200, 64 * 1024, 4096)
    assert MAX_LINE_BYTES >= 512  # RFC 5321 §4.5.3.1.5: a 512-octet line is always read


def test_an_endless_ehlo_is_no_reply(server: Callable[..., int]) -> None:
    conn = ehlo_reply(server({**GOOD, "EHLO": ENDLESS_EHLO}))
    started = time.monotonic()
    with pytest.raises(ReplyTooLong) as info:
        conn.read_reply()
    assert time.monotonic() - started < 10
    assert info.value.cap == "lines" and info.value.lines > MAX_REPLY_LINES
    assert info.value.octets <= MAX_REPLY_BYTES + 65536  # bounded memory: at most one chunk past the cap
    assert info.value.first_line == b"250-mx.test endless"
    assert str(info.value).startswith("the reply to EHLO did not end within 200 lines (the target sent '250-' "
                                      "lines without a last line; ")
    assert "the first line: '250-mx.test endless'); the connection is closed" in str(info.value)
    assert not conn.connected  # the rest of the stream is unusable
    transcript = conn.transcript.render()
    assert "more lines not shown" in transcript and "** the reply to EHLO did not end" in transcript


def test_an_endless_greeting_is_no_reply(server: Callable[..., int]) -> None:
    conn = SMTPConnection("127.0.0.1", server({**GOOD, "GREETING": Endless(b"220-welcome\r\n")}), timeout=5)
    conn.connect()
    with pytest.raises(ReplyTooLong, match=r"^the greeting did not end within 200 lines \(the target sent '220-'"):
        conn.read_reply()
    assert not conn.connected


def test_a_line_of_100_kb_is_no_reply(server: Callable[..., int]) -> None:
    conn = ehlo_reply(server({**GOOD, "EHLO": b"250 " + b"x" * 100_000 + b"\r\n"}))
    with pytest.raises(ReplyTooLong) as info:
        conn.read_reply()
    assert info.value.cap == "line"
    assert str(info.value).startswith("a line of the reply to EHLO passed 4096 octets without ending (RFC 5321 "
                                      "§4.5.3.1.5 allows 512 octets including CRLF; ")
    assert "the first line: '250 xxxxx" in str(info.value) and "'...); the connection is closed" in str(info.value)
    assert not conn.connected


def test_an_ending_reply_past_the_octet_cap_is_no_reply(server: Callable[..., int]) -> None:
    lines = b"250-" + b"y" * 996 + b"\r\n"  # 1000 octets: 70 of them pass 64 KiB in well under 200 lines
    conn = ehlo_reply(server({**GOOD, "EHLO": lines * 70 + b"250 end\r\n"}))
    with pytest.raises(ReplyTooLong, match="did not end within 65536 octets") as info:
        conn.read_reply()
    assert info.value.cap == "octets"


def test_good_multiline_replies_still_work(server: Callable[..., int]) -> None:
    longest = b"250-" + b"z" * (MAX_LINE_BYTES - 6) + b"\r\n"  # exactly at the line cap
    at_cap = longest + b"250-SIZE 1000\r\n" * (MAX_REPLY_LINES - 2) + b"250 8BITMIME\r\n"
    conn = ehlo_reply(server({**GOOD, "EHLO": at_cap}))
    reply = conn.read_reply()
    assert reply.code == 250 and len(reply.lines) == MAX_REPLY_LINES and reply.raw == at_cap
    conn.send_line("QUIT")
    assert conn.read_reply().code == 221


def test_one_line_more_is_too_long_even_when_it_ends(server: Callable[..., int]) -> None:
    over = b"250-SIZE 1000\r\n" * MAX_REPLY_LINES + b"250 8BITMIME\r\n"
    conn = ehlo_reply(server({**GOOD, "EHLO": over}))
    with pytest.raises(ReplyTooLong, match="did not end within 200 lines"):
        conn.read_reply()


# -- the probe and a case's dialogue -------------------------------------------------------------


@pytest.mark.parametrize(("answers", "said"), [
    ({"EHLO": ENDLESS_EHLO}, "the reply to EHLO did not end within 200 lines (the target sent '250-' lines "),
    ({"GREETING": Endless(b"220-welcome\r\n")}, "the greeting did not end within 200 lines (the target sent '220-' "),
    ({"RCPT": Endless(b"250-ok\r\n")}, "the reply to RCPT did not end within 200 lines (the target sent '250-' "),
    ({"EHLO": b"250 " + b"x" * 100_000 + b"\r\n"}, "a line of the reply to EHLO passed 4096 octets without ending"),
])
def test_the_probe_cannot_test_a_reply_without_end(server: Callable[..., int], tmp_path: Path, answers: Table,
                                                   said: str) -> None:
    port = server({**PROBE, **answers})
    started = time.monotonic()
    probe = run_probe(settings(port, tmp_path))
    assert time.monotonic() - started < 10
    assert probe.error is not None and "\n" not in probe.error
    assert probe.error.startswith(f"probe of 127.0.0.1:{port} failed: {said}")


def run_case(port: int, tmp_path: Path) -> CaseResult:
    path = tmp_path / "endless.mta.yaml"
    path.write_text(CASE)
    runner = CaseRunner(settings(port, tmp_path))
    runner.adopt_probe(run_probe(runner.settings))
    return runner.run(load_suite(path).cases[0])


def test_an_endless_rcpt_reply_fails_the_case_and_ends_it(server: Callable[..., int], tmp_path: Path) -> None:
    result = run_case(server(PROBE, {**GOOD, "RCPT": Endless(b"250-accepted, and more\r\n")}), tmp_path)
    assert result.outcome is Outcome.FAILED, result.summary()
    assert [f.check_id for f in result.findings] == ["SMTP-RPL-007"], result.summary()
    assert not result.errors
    finding = result.findings[0]
    assert "step 4" in str(finding.where)
    assert finding.message.startswith("no complete reply: the reply to RCPT did not end within 200 lines "
                                      "(the target sent '250-' lines without a last line; ")
    assert "-> RSET" not in result.transcript and "-> QUIT" not in result.transcript  # nothing after it


def test_a_100_kb_rcpt_line_is_rpl_004_and_judges_nothing_else(server: Callable[..., int], tmp_path: Path) -> None:
    result = run_case(server(PROBE, {**GOOD, "RCPT": b"550 " + b"n" * 100_000 + b"\r\n"}), tmp_path)
    assert [f.check_id for f in result.findings] == ["SMTP-RPL-004"], result.summary()
    assert result.findings[0].message.startswith("a line of the reply to RCPT passed 4096 octets without ending")
    assert result.outcome is Outcome.INCONCLUSIVE  # what the case tests was not judged: no pass
    assert "the rest of the case was not judged" in result.reason
    assert "-> RSET" not in result.transcript


def test_a_good_server_still_passes(server: Callable[..., int], tmp_path: Path) -> None:
    result = run_case(server(PROBE, GOOD), tmp_path)
    assert result.outcome is Outcome.PASSED, result.summary()


# -- the whole plugin ----------------------------------------------------------------------------


def test_the_plugin_says_could_not_test(server: Callable[..., int], pytester: pytest.Pytester) -> None:
    port = server({**GOOD, "EHLO": ENDLESS_EHLO})
    started = time.monotonic()
    result = pytester.runpytest("-p", "no:cacheprovider", "--mta-host=127.0.0.1", f"--mta-port={port}",
                                "--mta-known-recipient=alice@local.test", "--mta-timeout=5")
    assert time.monotonic() - started < 60
    assert result.ret == ExitCode.COULD_NOT_TEST == 75
    reason = next(line for line in result.stdout.lines if "COULD NOT TEST" in line)
    assert reason == (f"mta-conformance: COULD NOT TEST 127.0.0.1:{port}: probe of 127.0.0.1:{port} failed: the "
                      "reply to EHLO did not end within 200 lines (the target sent '250-' lines without a last line; "
                      f"{reason.split('last line; ', 1)[1]}")
    assert "the first line: '250-mx.test endless'); the connection is closed" in reason
    assert "FAILED" not in result.stdout.str()
    assert " could-not-test in " in result.stdout.lines[-1] and "skipped" not in result.stdout.lines[-1]
