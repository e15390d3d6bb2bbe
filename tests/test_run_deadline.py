"""A run must end, with its report: the run's deadline, SIGTERM and the option itself.

The target here answers every command (and its greeting) a little under
``--mta-timeout`` late: each reply is in time, so nothing fails, yet a run of
many cases would take as many times the delay as it has replies.  The tests
never synchronise by sleeping: they wait for the run's own output or exit,
each with a bound.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from conformance.exitcodes import ExitCode
from conformance.findings import Outcome
from conformance.harness.servers import Harness, HarnessConfig
from conformance.progress import SILENT
from conformance.run import CaseRunner
from conformance.run.waiting import DeadlinePassed, WatchedMailbox
from conformance.suite.loader import load_suite
from conformance.suite.locate import shipped_case_files
from conformance.target import SettingError, make_settings, resolve
from conformance.testee import Testee, TesteeConfig

DELAY = 0.6  #: seconds before each answer: just under the 1 s timeout the runs use
RUN_BOUND = 30.0  #: seconds a run (or its stop) may take in these tests, far above what it needs


def answer(line: bytes) -> bytes:
    """The slow target's reply: the probe's postmaster is accepted, every other recipient refused."""
    verb = line.split(b" ", 1)[0].strip().upper()
    if verb in (b"EHLO", b"HELO"):
        return b"250 slow.test\r\n"
    if verb == b"RCPT":
        return b"250 Ok\r\n" if b"postmaster@" in line.lower() else b"550 5.1.1 no such user\r\n"
    return {b"MAIL": b"250 Ok\r\n", b"RSET": b"250 Ok\r\n", b"QUIT": b"221 Bye\r\n"}.get(verb, b"502 unknown\r\n")


def serve_slowly(conn: socket.socket, stop: threading.Event) -> None:
    """Greet and answer each command after DELAY (the server's own pace; *stop* ends it at once)."""
    conn.settimeout(RUN_BOUND)
    try:
        with conn, conn.makefile("rb") as lines:
            if stop.wait(DELAY):
                return
            conn.sendall(b"220 slow.test ESMTP\r\n")
            for line in lines:
                if stop.wait(DELAY):
                    return
                conn.sendall(answer(line))
                if line.upper().startswith(b"QUIT"):
                    return
    except OSError:
        pass  # the client left: a stopped run


@pytest.fixture
def slow_target() -> Iterator[int]:
    """The port of a target that answers everything DELAY seconds late."""
    stop = threading.Event()
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.2)  # so the accept loop sees *stop*

    def accept() -> None:
        with listener:
            while not stop.is_set():
                try:
                    conn, _ = listener.accept()
                except TimeoutError:
                    continue
                threading.Thread(target=serve_slowly, args=(conn, stop), daemon=True).start()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield int(listener.getsockname()[1])
    stop.set()
    thread.join(5)


def case_file(folder: Path, count: int) -> Path:
    """*count* in-session cases: an unknown recipient refused (each passes against the slow target)."""
    cases = "".join(f"""\
  - id: slow.c{n}
    title: unknown user {n}
    checks: [SMTP-REJ-001]
    dialogue:
      - expect: 220
      - send: EHLO client.test
        expect: 250
      - send: MAIL FROM:<probe@client.test>
        expect: 2xx
      - send: RCPT TO:<nobody{n}@local.test>
        expect:
          - {{code: 5xx, check: SMTP-REJ-001}}
      - send: QUIT
        expect: 221
""" for n in range(1, count + 1))
    path = folder / "slow.mta.yaml"
    path.write_text("suite: slow\ncases:\n" + cases, encoding="utf-8")
    return path


def run_args(folder: Path, port: int, count: int, *extra: str) -> list[str]:
    return [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-v", str(case_file(folder, count)),
            "--mta-host=127.0.0.1", f"--mta-port={port}", "--mta-local-domain=local.test", "--mta-timeout=1",
            f"--mta-report-dir={folder / 'reports'}", *extra]


def reports(folder: Path) -> tuple[dict[str, object], ET.Element]:
    """results.json and junit.xml of a run, parsed (each must be whole)."""
    results = json.loads((folder / "reports" / "results.json").read_text(encoding="utf-8"))
    return results, ET.parse(folder / "reports" / "junit.xml").getroot()


def test_the_run_deadline_ends_a_slow_run_with_its_reports(tmp_path: Path, slow_target: int) -> None:
    started = time.monotonic()
    proc = subprocess.run(run_args(tmp_path, slow_target, 6, "--mta-run-deadline=4"), capture_output=True,
                          text=True, timeout=RUN_BOUND, cwd=tmp_path)
    assert time.monotonic() - started < RUN_BOUND
    assert proc.returncode == ExitCode.COULD_NOT_TEST, proc.stdout + proc.stderr
    results, junit = reports(tmp_path)
    cases = results["cases"]
    assert isinstance(cases, list) and len(cases) == 6
    assert {c["outcome"] for c in cases} <= {"passed", "could-not-test"}
    last = cases[-1]
    assert last["outcome"] == "could-not-test"
    assert "the run's deadline (--mta-run-deadline 4 s) passed before this case started" in last["reason"]
    assert len(junit.findall(".//testcase")) == 6
    late = sum(c["reason"].endswith("before this case started") for c in cases)
    assert f"COULD NOT TEST: the run's deadline (--mta-run-deadline 4 s) passed before {late} case(s) started" \
        in proc.stdout


def read_until(proc: subprocess.Popen[bytes], wanted: bytes, bound: float) -> bytes:
    """The run's output up to *wanted*, read as it comes (no sleeping); fails after *bound* seconds."""
    assert proc.stdout is not None
    seen = b""
    found = threading.Event()

    def read() -> None:
        nonlocal seen
        while chunk := os.read(proc.stdout.fileno(), 4096):  # type: ignore[union-attr]
            seen += chunk
            if wanted in seen:
                found.set()
                return

    threading.Thread(target=read, daemon=True).start()
    assert found.wait(bound), f"{wanted!r} not in the output within {bound} s: {seen!r}"
    return seen


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_signal_stops_the_run_and_writes_the_reports(tmp_path: Path, slow_target: int,
                                                       signum: signal.Signals) -> None:
    proc = subprocess.Popen(run_args(tmp_path, slow_target, 20, "--mta-run-deadline=0"), cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        read_until(proc, b"PASSED", RUN_BOUND)  # a case has been judged (and recorded first), the run goes on
        started = time.monotonic()
        proc.send_signal(signum)
        assert proc.wait(RUN_BOUND) == ExitCode.INTERRUPTED
        assert time.monotonic() - started < RUN_BOUND
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(RUN_BOUND)
    tail = proc.stdout.read() if proc.stdout is not None else b""
    results, junit = reports(tmp_path)
    assert results["interrupted"] == signum.name
    cases = results["cases"]
    assert isinstance(cases, list) and 1 <= len(cases) < 20
    assert cases[0]["outcome"] == "passed"
    names = {p.get("name"): p.get("value") for p in junit.iter("property")}
    assert names["interrupted"] == signum.name
    assert len(junit.findall(".//testcase")) == len(cases)
    assert f"INTERRUPTED by {signum.name}".encode() in tail


def test_run_deadline_from_ini_env_and_its_usage_error() -> None:
    assert resolve({}, {}, environ={}).run_deadline == 3600.0
    from_ini = resolve({}, {"mta_run_deadline": "90"}, environ={})
    assert from_ini.run_deadline == 90.0 and from_ini.sources["mta_run_deadline"] == "ini mta_run_deadline"
    from_env = resolve({}, {"mta_run_deadline": "90"}, environ={"MTA_RUN_DEADLINE": "0"})
    assert from_env.run_deadline == 0.0 and from_env.sources["mta_run_deadline"] == "environment MTA_RUN_DEADLINE"
    with pytest.raises(SettingError, match=r"--mta-run-deadline: '-5' is not a number of seconds.*command line"):
        resolve({"mta_run_deadline": "-5"}, {}, environ={})


def test_a_negative_deadline_is_a_usage_error(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--mta-host=127.0.0.1", "--mta-run-deadline=-1")
    assert result.ret == ExitCode.USAGE
    result.stderr.fnmatch_lines(["*--mta-run-deadline: '-1' is not a number of seconds*"])


@dataclass
class Waits:
    """A mail source whose wait returns what it was given, at once, as if its time had run out."""

    found: list[object]

    def wait_for(self, predicate: object, timeout: float, count: int = 1, settle: bool = False) -> list[object]:
        return self.found


def test_a_wait_cut_by_the_deadline_proves_nothing() -> None:
    passed = time.monotonic() - 1
    with pytest.raises(DeadlinePassed, match="the quiet period of c1"):
        WatchedMailbox(Waits([]), SILENT, "c1", passed).wait_for(lambda tx: True, 15, settle=True)  # type: ignore[arg-type]
    # what had already arrived is still judged
    assert WatchedMailbox(Waits(["ndr"]), SILENT, "c1", passed).wait_for(lambda tx: True, 15) == ["ndr"]  # type: ignore[arg-type,comparison-overlap]
    # without a deadline, a short wait is the mailbox's answer
    assert WatchedMailbox(Waits([]), SILENT, "c1").wait_for(lambda tx: True, 15) == []  # type: ignore[arg-type]


def test_no_case_starts_after_the_deadline(tmp_path: Path) -> None:
    case = load_suite(case_file(tmp_path, 1)).cases[0]
    runner = CaseRunner(make_settings(host="127.0.0.1", local_domain="local.test", run_deadline=60))
    assert runner.deadline_passed() is None
    runner.adopt_deadline(0)
    result = runner.run(case)  # no probe, no dialogue: the target is never reached
    assert result.outcome is Outcome.COULD_NOT_TEST
    assert result.reason == ("could not test: the run's deadline (--mta-run-deadline 60 s) passed before this case "
                             "started")
    assert CaseRunner(make_settings(host="127.0.0.1", run_deadline=0)).deadline_left() is None


def test_a_wait_for_an_ndr_ends_at_the_deadline_as_could_not_test() -> None:
    """The testee never sends the NDR this case waits for: without the deadline the case fails after
    its NDR timeout (the fault matrix shows it); with the deadline the wait ends early and proves nothing."""
    case = next(c for path in shipped_case_files() if path.parent.name == "after-acceptance"
                for c in load_suite(path).cases if c.id == "ndr.partial-failure.one-ndr")
    with Harness(HarnessConfig()) as harness:
        routes = {"relay.test": ("127.0.0.1", harness.dsn_port), "sender.test": ("127.0.0.1", harness.dsn_port),
                  "plain-relay.test": ("127.0.0.1", harness.plain_port)}
        with Testee(TesteeConfig(faults=frozenset({"partial-failure-no-ndr"}), routes=routes)) as testee:
            settings = make_settings(
                host=testee.host, port=testee.port, sender="probe@sender.test", local_domain="local.test",
                known_recipient="alice@local.test", timeout=5, sender_domain="sender.test",
                relay_domain="relay.test", plain_relay_domain="plain-relay.test",
                harness_listen=("127.0.0.1", harness.dsn_port),
                harness_plain_listen=("127.0.0.1", harness.plain_port), ndr_timeout=20, quiet_period=20)
            runner = CaseRunner(settings, mailbox=lambda: harness.mailbox)
            runner.probe()
            runner.adopt_deadline(1.5)
            result = runner.run(case)
    assert result.outcome is Outcome.COULD_NOT_TEST, result.summary()
    assert result.reason.startswith("could not test: the run's deadline (--mta-run-deadline 3600 s) passed while "
                                    "the case waited for "), result.reason
    assert result.duration < 15  # not the 20 s of its NDR timeout
    assert "RCPT TO:" in result.transcript  # the dialogue is kept as evidence
