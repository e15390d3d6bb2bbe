"""After acceptance against the reference testee: relaying, NDR generation, and its faults.

The testee relays the relay domain to the harness's next hop and sends its NDRs
to the harness's sink; each fault must fail exactly the trial cases that should
notice it, with the check it violates.  (The shipped after-acceptance suite and
its full matrix come next; these trial cases are the start.)
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from conformance.findings import Outcome, Profile
from conformance.harness.servers import Harness, HarnessConfig
from conformance.runner import CaseRunner
from conformance.suite.loader import load_suite
from conformance.target import StartTLS, TargetSettings
from conformance.testee import Testee, TesteeConfig

TRIAL = load_suite(Path(__file__).resolve().parent / "data" / "trial.mta.yaml").cases
RCPT, PARTIAL, NULL, NEVER = (c.id for c in TRIAL)


@pytest.fixture(scope="module")
def harness() -> Iterator[Harness]:
    with Harness(HarnessConfig()) as h:
        yield h


def run(harness: Harness, fault: str, floor: str = "ERROR") -> dict[str, tuple[str, set[str]]]:
    routes = {"relay.test": ("127.0.0.1", harness.dsn_port), "sender.test": ("127.0.0.1", harness.dsn_port)}
    with Testee(TesteeConfig(faults=frozenset({fault} if fault else set()), routes=routes)) as testee:
        settings = TargetSettings(
            host=testee.host, port=testee.port, helo="client.mta-conformance.test", sender="probe@sender.test",
            local_domain="local.test", known_recipient="alice@local.test", starttls=StartTLS.OFF, timeout=5,
            profile=Profile.ANTI_BACKSCATTER, strict=False, report_dir=Path("unused"),
            sender_domain="sender.test", relay_domain="relay.test", harness_listen=("127.0.0.1", harness.dsn_port),
            ndr_timeout=10, quiet_period=1.5)
        runner = CaseRunner(settings, mailbox=lambda: harness.mailbox)
        results = {case.id: runner.run(case) for case in TRIAL}
    wanted = ("ERROR",) if floor == "ERROR" else ("ERROR", "WARNING")
    return {k: (str(r.outcome), {f.check_id for f in r.findings if f.severity.name in wanted} | set(r.errors))
            for k, r in results.items()}


MATRIX: dict[str, dict[str, str]] = {
    "": {},
    "ndr-non-null-sender": {RCPT: "NDR-ENV-001", PARTIAL: "NDR-ENV-001"},
    # the trial messages' From is the reverse-path itself, so only the null-sender message, whose
    # header names the sender, shows a server that bounces to header addresses
    "ndr-to-header-address": {NULL: "LOOP-001"},
    "ndr-to-null-sender": {NULL: "LOOP-001"},
    "notify-never-ignored": {NEVER: "DSNX-011"},
    "envid-not-echoed": {RCPT: "DSN-FMT-007"},
    "envid-not-decoded": {RCPT: "DSN-FMT-007"},
    "ndr-invalid-action": {RCPT: "DSN-FMT-016", PARTIAL: "DSN-FMT-016"},
    "ndr-missing-status": {RCPT: "DSN-FMT-017", PARTIAL: "DSN-FMT-017"},
    "ndr-multipart-mixed": {RCPT: "MPR-001", PARTIAL: "MPR-001"},
}


@pytest.mark.parametrize("fault", list(MATRIX), ids=lambda f: f or "no-fault")
def test_after_acceptance_fault(harness: Harness, fault: str) -> None:
    results = run(harness, fault)
    failed = {case_id: checks for case_id, (outcome, checks) in results.items() if outcome != str(Outcome.PASSED)}
    assert set(failed) == set(MATRIX[fault]), results
    for case_id, check in MATRIX[fault].items():
        assert check in failed[case_id], results[case_id]


def test_two_ndrs_for_one_message_are_a_warning(harness: Harness) -> None:
    """DSNX-022 is a SHOULD (warning): the case passes, and says so."""
    results = run(harness, "two-ndrs", floor="WARNING")
    assert results[RCPT][0] == "passed" and "DSNX-022" in results[RCPT][1]
    assert "DSNX-022" not in run(harness, "", floor="WARNING")[RCPT][1]


def test_ret_ignored_is_a_warning(harness: Harness) -> None:
    """RET=HDRS answered with the whole message: RET-002 (a request not honoured: warning)."""
    results = run(harness, "ret-ignored", floor="WARNING")
    assert results[RCPT][0] == "passed" and "RET-002" in results[RCPT][1]


def test_xdist_workers_share_the_controllers_harness(tmp_path: Path) -> None:
    """pytest -n 2: one harness (the controller's); workers read what it captured from its spool."""
    import json
    import socket
    import subprocess
    import sys

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    routes = {"relay.test": ("127.0.0.1", port), "sender.test": ("127.0.0.1", port)}
    (tmp_path / "trial.mta.yaml").write_text((Path(__file__).resolve().parent / "data" / "trial.mta.yaml").read_text())
    with Testee(TesteeConfig(routes=routes)) as testee:
        proc = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "trial.mta.yaml", "-k", "trial", "-n", "2",
             f"--mta-host={testee.host}", f"--mta-port={testee.port}", "--mta-known-recipient=alice@local.test",
             "--mta-sender-domain=sender.test", "--mta-relay-domain=relay.test",
             f"--mta-harness-listen=127.0.0.1:{port}", "--mta-quiet-period=2", "--mta-ndr-timeout=20",
             f"--mta-report-dir={tmp_path}"],
            cwd=tmp_path, capture_output=True, text=True, timeout=300)
    records = json.loads((tmp_path / "results.json").read_text())["cases"]
    assert sorted(r["outcome"] for r in records) == ["passed"] * 4, proc.stdout[-3000:]
