"""The after-acceptance fault matrix: that suite against the reference testee and the harness.

The testee relays the relay domains to the harness's next hops and sends its
NDRs to the harness's sink.  With no fault every case passes with at most info
findings; each fault must fail exactly the cases that should notice it, with
the check it violates (under --mta-strict semantics, so warning-level checks
are shown failing too).  Together with the in-session matrix this shows every
check the shipped suites name able to fail on a concrete testee fault, and
asserts each fault's declared kind (see assert_kind in test_fault_matrix.py).

The testee's queue timers (TesteeConfig's delay_warning and queue_lifetime)
bracket the opt-in slow pair's DELAY_TIMEOUT: the "delayed" DSN comes within it,
the "failed" one long after every case was judged.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from test_fault_matrix import AFTER_ACCEPTANCE_FAULTS, assert_kind

from conformance.findings import Outcome, Profile, Severity
from conformance.harness.servers import Harness, HarnessConfig
from conformance.run import CaseResult, CaseRunner
from conformance.suite.loader import load_suite
from conformance.suite.locate import shipped_case_files
from conformance.suite.model import Case
from conformance.target import StartTLS, make_settings
from conformance.testee import FAULTS, Testee, TesteeConfig

CASES: list[Case] = [case for path in shipped_case_files() if path.parent.name == "after-acceptance"
                     for case in load_suite(path).cases]
#: every case that expects an NDR to arrive
NDR_CASES = {c.id for c in CASES if c.ndr is not None and c.ndr.count > 0}
RCPT, DATA = "ndr.next-hop-refuses-rcpt", "ndr.next-hop-refuses-data"
PARTIAL, TWO = "ndr.partial-failure.one-ndr", "ndr.two-failures.one-ndr"
NULL = "backscatter.null-sender.never-bounces"
DELAYED = "dsn-request.delayed-notice"
ENVID = "dsn-request.envid-echoed"
RELAYED_PLAIN = "dsn-request.relayed-notice-from-plain-hop"
#: how long the slow pair waits: above the testee's delay_warning, below its queue_lifetime
DELAY_TIMEOUT = 3.0
NDR_TIMEOUT, QUIET_PERIOD = 5.0, 1.5


def every_ndr_case(check: str, **overrides: str) -> dict[str, str]:
    return {**dict.fromkeys(NDR_CASES, check), **overrides}


#: fault -> {case id: a check among that case's failing findings}
MATRIX: dict[str, dict[str, str]] = {
    "": {},
    "accept-unknown-recipients": {"backscatter.unknown-local-user.no-ndr": "SMTP-REJ-002"},
    "refuse-unknown-after-data": {"backscatter.unknown-local-user.end-of-data": "SMTP-REJ-003"},
    "bounce-after-data-refusal": {"backscatter.end-of-data-refused.no-ndr": "SMTP-REJ-009"},
    "ndr-non-null-sender": every_ndr_case("NDR-ENV-001"),
    # only these messages carry header addresses other than the reverse-path
    "ndr-to-header-address": {NULL: "LOOP-001", RCPT: "NDR-ENV-002"},
    "ndr-to-null-sender": {NULL: "LOOP-001"},
    "notify-never-ignored": {"dsn-request.notify-never": "DSNX-011", "dsn-request.notify-success-only": "DSNX-011"},
    "ret-ignored": {"dsn-request.ret-hdrs": "RET-002", "dsn-request.ret-full": "RET-001"},
    "envid-not-echoed": {ENVID: "DSN-FMT-007"},
    "envid-not-decoded": {ENVID: "DSN-FMT-007"},
    "ndr-invalid-action": every_ndr_case("DSN-FMT-016"),
    "ndr-missing-status": every_ndr_case("DSN-FMT-017"),
    "ndr-multipart-mixed": every_ndr_case("MPR-001"),
    "two-ndrs": every_ndr_case("DSNX-022", **{TWO: "NDR-ENV-006"}),
    "ndr-names-all-recipients": {PARTIAL: "DSN-SEM-030"},
    "ndr-without-remote-mta": {RCPT: "DSN-SEM-006", DATA: "DSN-SEM-006", DELAYED: "DSN-SEM-022"},
    "orcpt-not-reported": {"dsn-request.orcpt-reported": "DSN-FMT-015"},
    "final-recipient-lowercased": {"dsn-request.final-recipient-case": "DSN-SEM-014"},
    "dsn-params-dropped": {"dsn-request.passed-on-to-dsn-hop": "DSNX-014"},
    "dsn-params-to-plain-hop": {"dsn-request.none-to-plain-hop": "DSNX-015", RELAYED_PLAIN: "DSNX-016"},
    "no-relayed-dsn": {RELAYED_PLAIN: "DSNX-016"},
    "relayed-dsn-always": {"dsn-request.none-to-plain-hop": "DSNX-016",
                           "dsn-request.no-notify-plain-hop-accepts": "DSNX-016"},
    "ndr-dsn-params": every_ndr_case("NDR-ENV-003"),
    "ndr-copy-to-postmaster": every_ndr_case("NDR-ENV-002"),
    "ndr-stale-date": {},
    "partial-failure-no-ndr": {PARTIAL: "SMTP-REJ-008"},
    "success-dsn-full-content": {RELAYED_PLAIN: "RET-003"},
    "delayed-dsn-ignores-notify": {"dsn-request.no-delayed-notice-without-delay": "DSNX-013"},
}

#: further checks a fault's row shows failing, beside the first one (case, check)
ALSO: dict[str, list[tuple[str, str]]] = {
    "ndr-to-header-address": [(RCPT, "NDR-HDR-004")],
    "ndr-without-remote-mta": [(RCPT, "DSN-SEM-020"), (DELAYED, "DSN-SEM-020")],
    "ndr-invalid-action": [(RCPT, "DSNX-010"), (DELAYED, "DSN-SEM-018")],
    "ndr-dsn-params": [(RCPT, "NDR-ENV-004"), (ENVID, "NDR-ENV-005")],
    "ndr-copy-to-postmaster": [(RCPT, "NDR-ENV-007")],
}

#: info-level findings a fault (or a configuration) produces, on a passing case
INFO_FINDINGS: dict[str, tuple[str, str]] = {
    "ndr-stale-date": (RCPT, "NDR-HDR-003"),
    "postmaster-notices": (NULL, "LOOP-001"),
}


@pytest.fixture(scope="module")
def harness() -> Iterator[Harness]:
    with Harness(HarnessConfig()) as h:
        yield h


def run_all(harness: Harness, fault: str, postmaster: str | None = None) -> dict[str, CaseResult]:
    """Every after-acceptance case, sent first and judged together, as the plugin does."""
    routes = {"relay.test": ("127.0.0.1", harness.dsn_port), "sender.test": ("127.0.0.1", harness.dsn_port),
              "plain-relay.test": ("127.0.0.1", harness.plain_port)}
    config = TesteeConfig(faults=frozenset({fault} if fault else set()), routes=routes, postmaster_notices=postmaster)
    with Testee(config) as testee:
        settings = make_settings(
            host=testee.host, port=testee.port, helo="matrix.mta-conformance.test", sender="probe@sender.test",
            local_domain="local.test", known_recipient="alice@local.test", starttls=StartTLS.OFF, timeout=5,
            profile=Profile.ANTI_BACKSCATTER, strict=True, report_dir=Path("unused"),
            sender_domain="sender.test", relay_domain="relay.test", plain_relay_domain="plain-relay.test",
            harness_listen=("127.0.0.1", harness.dsn_port), harness_plain_listen=("127.0.0.1", harness.plain_port),
            ndr_timeout=NDR_TIMEOUT, quiet_period=QUIET_PERIOD, delay_timeout=DELAY_TIMEOUT)
        runner = CaseRunner(settings, mailbox=lambda: harness.mailbox)
        runner.prepare(CASES)
        return {case.id: runner.run(case) for case in CASES}


def test_matrix_covers_every_after_acceptance_fault() -> None:
    assert set(AFTER_ACCEPTANCE_FAULTS) <= set(MATRIX) <= set(FAULTS) | {""}


def test_the_delay_timeout_fits_the_testee_timers() -> None:
    """A delayed DSN is due well within DELAY_TIMEOUT; the failed one comes after the last case was judged.

    Cases are judged in order, each against deadlines from its own dialogue: a
    case before the slow pair may wait its whole NDR_TIMEOUT for an NDR a fault
    suppresses (and a quiet period after one), so the slow pair can be judged that late.
    """
    config = TesteeConfig()
    assert config.delay_warning + 1.5 <= DELAY_TIMEOUT
    assert NDR_TIMEOUT + QUIET_PERIOD + 2.5 <= config.queue_lifetime


@pytest.mark.parametrize("fault", list(MATRIX), ids=lambda f: f or "no-fault")
def test_fault(harness: Harness, fault: str) -> None:
    results = run_all(harness, fault)
    expected = MATRIX[fault]
    failed = {case_id for case_id, r in results.items() if r.outcome is not Outcome.PASSED}
    assert failed == set(expected), \
        "\n".join(f"{k}: {r.outcome} {r.summary()}" for k, r in results.items() if r.outcome is not Outcome.PASSED)
    for case_id, check in list(expected.items()) + ALSO.get(fault, []):
        assert results[case_id].outcome is Outcome.FAILED
        assert check in {f.check_id for f in results[case_id].findings}, results[case_id].summary()
    for case_id, result in results.items():
        if case_id not in expected:
            assert not result.errors and all(f.severity is Severity.INFO for f in result.findings), result.summary()
    if fault in INFO_FINDINGS:
        case_id, check = INFO_FINDINGS[fault]
        assert any(f.check_id == check and f.severity is Severity.INFO for f in results[case_id].findings)
    assert_kind(fault, results, home=fault in AFTER_ACCEPTANCE_FAULTS or fault == "", matrix="after-acceptance")


def test_a_notice_to_the_postmaster_is_info(harness: Harness) -> None:
    """RFC 3461 §5.2.6(b): the postmaster may be told of a null-sender failure; info, not a failure."""
    results = run_all(harness, "", postmaster="postmaster@sender.test")
    null = results[NULL]
    assert null.outcome is Outcome.PASSED
    assert [(f.check_id, f.severity) for f in null.findings] == [("LOOP-001", Severity.INFO)]
    assert "postmaster@sender.test" in null.findings[0].message


def test_a_refusal_in_session_ends_the_backscatter_case_as_passed(harness: Harness) -> None:
    """'otherwise: pass': the conforming target refuses at RCPT, so there is nothing to wait for."""
    result = run_all(harness, "")["backscatter.unknown-local-user.no-ndr"]
    assert result.outcome is Outcome.PASSED
    assert "refused in-session" in result.reason and "waiting" not in result.transcript


def test_every_after_acceptance_check_is_shown() -> None:
    """Every check the after-acceptance suite names fails on some fault here (or gives its info finding)."""
    shown = {check for row in MATRIX.values() for check in row.values()}
    shown |= {check for rows in ALSO.values() for _, check in rows}
    shown |= {check for _, check in INFO_FINDINGS.values()}
    named = {check for case in CASES for check in case.checks}
    assert named - shown == set()


def test_xdist_workers_share_the_controllers_harness(tmp_path: Path) -> None:
    """pytest -n 2 on the embedded run: one harness (the controller's, already listening on ports the kernel
    picked); workers read what it captured from its spool, and the slow pair runs too."""
    import json
    import subprocess
    import sys

    proc = subprocess.run(
        [sys.executable, "-m", "conformance.cli", "run", "--testee", "--", "-q", "-p", "no:cacheprovider",
         "-n", "2", "-m", "after-acceptance", f"--mta-report-dir={tmp_path}"],
        cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    records = json.loads((tmp_path / "results.json").read_text())["cases"]
    outcomes = {r["case_id"]: r["outcome"] for r in records}
    assert outcomes == {c.id: "passed" for c in CASES}, proc.stdout[-3000:]
