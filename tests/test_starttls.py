"""STARTTLS against an independent TLS server (smtpdfix's fixture, not our own code)."""

from __future__ import annotations

from pathlib import Path

import pytest

from conformance.findings import Outcome, Profile
from conformance.run import CaseRunner
from conformance.suite.loader import load_suite
from conformance.target import StartTLS, TargetSettings, make_settings

CASE = """\
suite: tls
cases:
  - id: tls.plain-session
    title: EHLO, MAIL and QUIT work (inside TLS when it is negotiated)
    refs: [RFC 5321 §4.2]
    checks: [SMTP-RPL-001]
    dialogue:
      - expect: 220
      - send: EHLO {helo}
        expect: 250
      - send: MAIL FROM:<{sender}>
        expect: {code: 250, check: SMTP-RPL-001}
      - send: QUIT
        expect: 221
"""


def settings(server: object, mode: StartTLS) -> TargetSettings:
    return make_settings(host=server.hostname, port=server.port, helo="client.mta-conformance.test",  # type: ignore[attr-defined]
                         sender="probe@mta-conformance.test", local_domain=None, known_recipient=None,
                         starttls=mode, timeout=10, profile=Profile.ANTI_BACKSCATTER, strict=False,
                         report_dir=Path("unused"))


@pytest.fixture
def case(tmp_path: Path):  # type: ignore[no-untyped-def]
    path = tmp_path / "tls.mta.yaml"
    path.write_text(CASE)
    return load_suite(path).cases[0]


def test_required_starttls_is_negotiated(smtpd, case) -> None:  # type: ignore[no-untyped-def]
    smtpd.config.use_starttls = True
    runner = CaseRunner(settings(smtpd, StartTLS.REQUIRED))
    probe = runner.probe()
    assert probe.error is None, probe.transcript
    result = runner.run(case)
    assert result.outcome is Outcome.PASSED, result.summary() + result.transcript
    assert "=== TLS started: TLSv1." in result.transcript
    assert "~> MAIL FROM:<probe@mta-conformance.test>" in result.transcript
    assert "<~ 250" in result.transcript


def test_required_starttls_missing_fails_the_run(smtpd, case) -> None:  # type: ignore[no-untyped-def]
    runner = CaseRunner(settings(smtpd, StartTLS.REQUIRED))
    result = runner.run(case)
    assert result.outcome is Outcome.COULD_NOT_TEST  # the probe session failed: nothing can be judged
    assert "--mta-starttls=required, but the target does not advertise STARTTLS" in result.reason


def test_opportunistic_without_starttls_stays_plain(smtpd, case) -> None:  # type: ignore[no-untyped-def]
    runner = CaseRunner(settings(smtpd, StartTLS.OPPORTUNISTIC))
    result = runner.run(case)
    assert result.outcome is Outcome.PASSED, result.summary()
    assert "TLS started" not in result.transcript
