"""The in-session fault matrix: that suite against the reference testee, once per fault.

With no fault every case passes without a single finding.  Each fault must
make exactly the cases that should notice it fail (or turn inconclusive, or
skip), with the check the fault violates; no other case may fail.  Runs under
--mta-strict semantics so warning-level checks are shown failing too; info-level
checks are shown by the finding they produce.  This is how every in-session
check is shown able to fail, on a concrete testee fault.  The after-acceptance
suite has its own matrix, with the harness, in tests/test_after_acceptance_matrix.py.

Each fault's declared kind (conformance/testee/faults.py: error, warning,
inconclusive, conforming) is asserted from the same results: see assert_kind.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import pytest

from conformance.findings import Outcome, Profile, Severity
from conformance.run import CaseResult, CaseRunner
from conformance.suite.loader import load_suite
from conformance.suite.locate import shipped_case_files
from conformance.suite.model import Case
from conformance.target import StartTLS, TargetSettings, make_settings
from conformance.testee import FAULT_KINDS, FAULTS, Testee, TesteeConfig

CASES: list[Case] = [case for path in shipped_case_files() if path.parent.name == "in-session"
                     for case in load_suite(path).cases]
ALL = {case.id for case in CASES}


def _sends(case: Case) -> list[str]:
    return [step.send or "" for step in case.steps]


#: cases that read the unknown-user refusal
UNKNOWN = {c.id for c in CASES if any("{unknown_local}" in s or "no-such-user" in s for s in _sends(c))}
#: cases that send RSET
RSET = {c.id for c in CASES if "RSET" in _sends(c)}
#: cases that send RCPT after EHLO
RCPT_EHLO = {c.id for c in CASES if any(s.startswith("RCPT") for s in _sends(c)) and _sends(c)[1].startswith("EHLO")}
DSN_CASES = {c.id for c in CASES if "DSN" in c.requires}
ONLY_WITHOUT_DSN = "dsn.parameters-without-dsn"
F, INC, S = "failed", "inconclusive", "skipped"


def each(ids: set[str], verdict: str, check: str | None) -> dict[str, tuple[str, str | None]]:
    return dict.fromkeys(ids, (verdict, check))


#: fault -> {case id: (verdict, check id that must be among its findings)}; unlisted cases pass
MATRIX: dict[str, dict[str, tuple[str, str | None]]] = {
    "": {},
    "accept-unknown-recipients": {"rcpt.unknown-local-user": (F, "SMTP-REJ-001"),
                                  "rcpt.unknown-local-user.repeated": (F, "SMTP-REJ-001"),
                                  "data.no-accepted-recipient": (S, None)},
    "tempfail-unknown-recipients": {"rcpt.unknown-local-user": (INC, "ESC-008"),
                                    "rcpt.unknown-local-user.repeated": (INC, None),
                                    "data.no-accepted-recipient": (INC, None)},
    "wrong-code-unknown-user": {"rcpt.unknown-local-user": (F, "SMTP-REJ-005")},
    "generic-enhanced-code": {},
    "unregistered-enhanced-code": each(UNKNOWN, F, "ESC-006"),
    "unregistered-reply-code": each(UNKNOWN, F, "SMTP-RPL-008"),
    "missing-enhanced-codes": {**each(RCPT_EHLO, F, "ESC-002"), "esc.codes-in-helo-session": (F, "ESC-005")},
    "invalid-enhanced-syntax": each(UNKNOWN, F, "ESC-001"),
    "enhanced-class-mismatch": each(UNKNOWN, F, "ESC-003"),
    "enhanced-code-varies": each(UNKNOWN, F, "ESC-004"),
    "malformed-multiline": each(UNKNOWN, F, "SMTP-RPL-002"),
    "bare-lf": each(UNKNOWN, F, "SMTP-RPL-005"),
    "non-ascii-reply": each(UNKNOWN, F, "SMTP-RPL-006"),
    "long-reply-line": each(UNKNOWN, F, "SMTP-RPL-004"),
    "bare-code": each(ALL - {ONLY_WITHOUT_DSN}, F, "SMTP-RPL-003"),
    "garbage-reply": each(RSET, F, "SMTP-RPL-001"),
    "extra-reply": each(RSET, F, "SMTP-RPL-007"),
    "missing-reply": each(RSET, F, "SMTP-RPL-007"),
    "drip": each(UNKNOWN, F, "SMTP-RPL-007"),
    "disconnect-on-unknown": each(UNKNOWN - {"rcpt.unknown-local-user.repeated"}, F, "SMTP-RPL-007"),
    "drop-after-errors": {},
    "open-relay": {"rcpt.foreign-domain.relay-denied": (F, "SMTP-REJ-006")},
    "data-without-recipients": {"data.no-accepted-recipient": (F, "SMTP-REJ-007")},
    "low-recipient-limit": {"rcpt.hundred-recipients": (F, "SMTP-REJ-010")},
    "recipient-limit-552": {"rcpt.hundred-recipients": (F, "SMTP-REJ-010")},
    "rcpt-without-mail-accepted": {"rcpt.without-mail": (F, "SMTP-RPL-011")},
    "forwarding-disclosure": {},
    "dsn-keyword-parameters": {"dsn.ehlo-keyword": (F, "DSNX-001")},
    "dsn-params-refused": {
        "dsn.mail-ret-envid.same-reply": (F, "DSNX-002"),
        "dsn.mail-invalid-values": (F, "DSNX-003"),
        "dsn.mail-repeated-parameters": (F, "DSNX-003"),
        "dsn.rcpt-notify-orcpt.same-reply": (F, "DSNX-004"),
        "dsn.rcpt-unknown-notify-never": (F, "DSNX-004"),
        "dsn.rcpt-invalid-notify": (F, "DSNX-005"),
        "dsn.rcpt-invalid-orcpt": (F, "DSNX-005"),
        "dsn.rcpt-repeated-parameters": (F, "DSNX-005"),
        "dsn.keywords-case-insensitive": (F, "DSNX-006"),
        "dsn.parameter-maximum-sizes": (F, "DSNX-007"),
    },
    "dsn-notify-never-accepts-unknown": {"dsn.rcpt-unknown-notify-never": (F, "DSNX-004")},
    "dsn-invalid-accepted": {"dsn.mail-invalid-values": (F, "DSNX-003"),
                             "dsn.rcpt-invalid-notify": (F, "DSNX-005"),
                             "dsn.rcpt-invalid-orcpt": (F, "DSNX-005")},
    "dsn-duplicates-accepted": {"dsn.mail-repeated-parameters": (F, "DSNX-003"),
                                "dsn.rcpt-repeated-parameters": (F, "DSNX-005")},
    "dsn-keywords-case-sensitive": {"dsn.keywords-case-insensitive": (F, "DSNX-006")},
    "dsn-short-limits": {"dsn.parameter-maximum-sizes": (F, "DSNX-007")},
    "dsn-params-without-dsn": each(DSN_CASES, S, None),
    "no-dsn": each(DSN_CASES, S, None),
    "8bitmime-refused": {"mail.8bitmime-parameter": (F, "SMTP-RPL-010")},
    "smtputf8-refused": {"mail.smtputf8-parameter": (F, "SMTP-RPL-010")},
    "no-enhanced-codes-after-helo": {"esc.codes-in-helo-session": (F, "ESC-005")},
    "no-enhanced-codes": {"esc.codes-in-ehlo-session": (S, None), "esc.codes-in-helo-session": (S, None)},
    # accepts unknown users at RCPT too (and refuses them only at end of data, which no in-session case reaches)
    "refuse-unknown-after-data": {"rcpt.unknown-local-user": (F, "SMTP-REJ-001"),
                                  "rcpt.unknown-local-user.repeated": (F, "SMTP-REJ-001"),
                                  "data.no-accepted-recipient": (S, None)},
}
#: faults of relaying and NDR generation act only after acceptance: no in-session case may notice them
#: (tests/test_after_acceptance_matrix.py shows each failing the after-acceptance cases that should notice it)
AFTER_ACCEPTANCE_FAULTS = ("ndr-non-null-sender", "ndr-to-header-address", "ndr-to-null-sender",
                           "notify-never-ignored", "ret-ignored", "envid-not-echoed", "envid-not-decoded",
                           "ndr-invalid-action", "ndr-missing-status", "ndr-multipart-mixed", "two-ndrs",
                           "bounce-after-data-refusal", "ndr-names-all-recipients", "ndr-without-remote-mta",
                           "orcpt-not-reported", "final-recipient-lowercased", "dsn-params-dropped",
                           "dsn-params-to-plain-hop", "no-relayed-dsn", "relayed-dsn-always", "ndr-dsn-params",
                           "ndr-copy-to-postmaster", "ndr-stale-date", "partial-failure-no-ndr",
                           "success-dsn-full-content", "delayed-dsn-ignores-notify")
MATRIX.update(dict.fromkeys(AFTER_ACCEPTANCE_FAULTS, {}))

#: info-level checks cannot fail a case; each is shown by the finding a fault produces
INFO_FINDINGS: dict[str, tuple[str, str]] = {
    "generic-enhanced-code": ("rcpt.unknown-local-user", "ESC-007"),
    "tempfail-unknown-recipients": ("esc.codes-in-ehlo-session", "ESC-009"),
    "unregistered-reply-code": ("rcpt.unknown-local-user", "SMTP-RPL-009"),
    "drop-after-errors": ("rcpt.unknown-local-user.repeated", "SMTP-REJ-013"),
    "forwarding-disclosure": ("rcpt.unknown-local-user", "SMTP-REJ-014"),
    "dsn-params-refused": ("dsn.orcpt-utf8-address-type", "DSNX-008"),
    "dsn-params-without-dsn": (ONLY_WITHOUT_DSN, "DSNX-009"),
}


#: the kinds from mildest to worst
KIND_ORDER = ("conforming", "inconclusive", "warning", "error")


def observed_kind(results: Iterable[CaseResult]) -> str:
    """The fault kind some results show: the worst finding severity, then inconclusive outcomes.

    The matrices run under --mta-strict semantics, which turn a case with a
    warning into a failure: so the kind is read from the findings' severities
    (and a case's errors, which fail it anyway), not from the outcomes.
    """
    results = list(results)
    worst = max((f.severity for r in results for f in r.findings), default=None)
    if worst is Severity.ERROR or any(r.errors for r in results):
        return "error"
    if worst is Severity.WARNING:
        return "warning"
    if any(r.outcome is Outcome.INCONCLUSIVE for r in results):
        return "inconclusive"
    return "conforming"


def assert_kind(fault: str, results: dict[str, CaseResult], home: bool, matrix: str) -> None:
    """The fault's declared kind against what this matrix's cases show.

    A fault can act in-session and after acceptance; its kind is the worst over
    both matrices.  Each matrix shows at most the declared kind, and the fault's
    *home* matrix (after acceptance for AFTER_ACCEPTANCE_FAULTS, which no
    in-session case may notice; in-session for every other fault) shows exactly
    it, so the worst over both is the declared kind, and each parametrised test
    checks its share on its own (also under pytest -n).  The non-strict meaning is
    checked with the runner's own rule: an error kind fails some case without
    --mta-strict, any other kind fails none.
    """
    declared = FAULT_KINDS[fault] if fault else "conforming"
    shown = observed_kind(results.values())
    worst = "\n".join(f"{k}: {r.outcome} {r.summary()}" for k, r in results.items() if r.findings or r.errors)
    if home:
        assert shown == declared, f"{fault}: declared {declared}, the {matrix} matrix shows {shown}\n{worst}"
    else:
        assert KIND_ORDER.index(shown) <= KIND_ORDER.index(declared), \
            f"{fault}: declared {declared}, the {matrix} matrix shows worse: {shown}\n{worst}"
    fails_without_strict = any(r.errors or r.failing_findings(strict=False) for r in results.values())
    assert fails_without_strict == (shown == "error"), worst


def settings_for(testee: Testee) -> TargetSettings:
    return make_settings(host=testee.host, port=testee.port, helo="matrix.mta-conformance.test",
                         sender="probe@matrix.mta-conformance.test", local_domain="local.test",
                         known_recipient="alice@local.test", starttls=StartTLS.OFF, timeout=1.0,
                         profile=Profile.ANTI_BACKSCATTER, strict=True, report_dir=Path("unused"))


def run_all(fault: str) -> dict[str, CaseResult]:
    config = TesteeConfig(faults=frozenset({fault} if fault else set()))
    with Testee(config) as testee:
        runner = CaseRunner(settings_for(testee))
        return {case.id: runner.run(case) for case in CASES}


def test_matrix_covers_every_fault() -> None:
    assert set(MATRIX) - {""} == set(FAULTS) == set(FAULT_KINDS)


@pytest.mark.parametrize("fault", list(MATRIX), ids=lambda f: f or "no-fault")
def test_fault(fault: str) -> None:
    results = run_all(fault)
    expected = MATRIX[fault]
    if fault not in ("no-dsn", "dsn-params-without-dsn"):
        # the testee advertises DSN, so the case for targets without DSN never runs
        expected = {**expected, ONLY_WITHOUT_DSN: (S, None)}
    verdicts = {case_id: str(r.outcome) for case_id, r in results.items() if r.outcome is not Outcome.PASSED}
    assert verdicts == {case_id: verdict for case_id, (verdict, _) in expected.items()}, \
        "\n".join(f"{k}: {r.summary()}" for k, r in results.items() if r.outcome is not Outcome.PASSED)
    for case_id, (_, check) in expected.items():
        if check:
            assert check in {f.check_id for f in results[case_id].findings}, results[case_id].summary()
    # passing cases carry no warning or error, so nothing slips through unnoticed
    for case_id, result in results.items():
        if case_id not in expected:
            assert all(f.severity is Severity.INFO for f in result.findings), result.summary()
    if fault == "":
        assert all(not r.findings and not r.errors for r in results.values())
    if fault in INFO_FINDINGS:
        case_id, check = INFO_FINDINGS[fault]
        assert any(f.check_id == check and f.severity is Severity.INFO for f in results[case_id].findings)
    assert_kind(fault, results, home=fault not in AFTER_ACCEPTANCE_FAULTS, matrix="in-session")


def test_every_in_session_check_is_shown_failing() -> None:
    """Every check the shipped suite names appears in the matrix or the info findings."""
    shown = {check for row in MATRIX.values() for _, check in row.values() if check}
    shown |= {check for _, check in INFO_FINDINGS.values()}
    named = {check for case in CASES for check in case.checks}
    assert named - shown == set()
