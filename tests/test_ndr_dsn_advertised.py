"""What the target advertised (DSN or not) decides MPR-001 and which envelope parameters an NDR is held to.

Offline, ``lint --dsn-advertised`` / ``--no-dsn-advertised`` or the envelope
file's ``dsn_advertised`` say it; unknown (neither) is the linter's old
behaviour.  The live judge asks the same rule (``mpr_001_condition``).  Also
here: what RET asked for against a returned part that carries the body under a
header-only label (RET-002, RET-003).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_ndr_cli import ENVELOPE, WITH_CONTEXT
from test_ndr_lint import GOOD

from conformance.cli import main
from conformance.findings import Profile, Severity
from conformance.ndr.envelope import EnvelopeError, from_dict
from conformance.ndr.lint import LintResult, lint_bytes, mpr_001_condition

PLAIN = (b"From: MAILER-DAEMON@mx.example.net\r\nSubject: failure notice\r\nDate: Mon, 23 Nov 2026 06:00:00 +0000\r\n\r\n"
         b"Hi. This is the qmail-send program at mx.example.net.\r\n<nobody@example.com>:\r\nno such user\r\n")
MIXED = GOOD.replace(b"Content-Type: multipart/report; report-type=delivery-status;",
                     b"Content-Type: multipart/mixed;")
NO_ORIGINAL_RECIPIENT = WITH_CONTEXT.replace(b"Original-Recipient: rfc822;nobody@example.com\r\n", b"")
#: a whole message returned under the header-only label
BODY_IN_HEADERS = WITH_CONTEXT.replace(b"Message-ID: <orig.1@example.org>\r\n\r\n--b1",
                                       b"Message-ID: <orig.1@example.org>\r\n\r\nthe original body\r\n\r\n--b1")


def severities(result: LintResult, check_id: str) -> list[Severity]:
    assert not result.internal_errors
    return [f.severity for f in result.findings if f.check_id == check_id]


# --- the one rule ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("profile", list(Profile))
@pytest.mark.parametrize("advertised", [True, False, None])
def test_the_mpr_001_condition_is_the_live_judges_rule(profile: Profile, advertised: bool | None) -> None:
    """DSN advertised or the anti-backscatter profile: dsn-expected; otherwise otherwise; nested: always otherwise."""
    expected = "dsn-expected" if advertised or profile is Profile.ANTI_BACKSCATTER else "otherwise"
    assert mpr_001_condition(profile, advertised) == expected
    assert mpr_001_condition(profile, advertised, nested=True) == "otherwise"


@pytest.mark.parametrize("raw", [PLAIN, MIXED], ids=["plain-text", "multipart-mixed"])
def test_mpr_001_follows_what_the_target_advertised(raw: bytes) -> None:
    strict, anti = Profile.STRICT_RFC, Profile.ANTI_BACKSCATTER
    assert severities(lint_bytes(raw, profile=strict, dsn_advertised=True), "MPR-001") == [Severity.ERROR]
    assert severities(lint_bytes(raw, profile=strict, dsn_advertised=False), "MPR-001") == [Severity.WARNING]
    assert severities(lint_bytes(raw, profile=strict), "MPR-001") == [Severity.WARNING]
    assert severities(lint_bytes(raw, profile=anti, dsn_advertised=False), "MPR-001") == [Severity.ERROR]


# --- the envelope's DSN parameters are held against the NDR only where DSN was offered ----------------------

def test_a_target_without_dsn_is_not_held_to_orcpt() -> None:
    envelope = from_dict(ENVELOPE)
    assert severities(lint_bytes(NO_ORIGINAL_RECIPIENT, envelope=envelope), "DSN-FMT-015") == [Severity.ERROR]
    assert severities(lint_bytes(NO_ORIGINAL_RECIPIENT, envelope=envelope, dsn_advertised=True),
                      "DSN-FMT-015") == [Severity.ERROR]
    assert severities(lint_bytes(NO_ORIGINAL_RECIPIENT, envelope=envelope, dsn_advertised=False),
                      "DSN-FMT-015") == []


def test_a_target_without_dsn_is_not_held_to_ret_or_envid() -> None:
    full = from_dict({**ENVELOPE, "ret": "FULL", "envid": "Other"})
    assert severities(lint_bytes(WITH_CONTEXT, envelope=full), "RET-001") == [Severity.WARNING]
    assert severities(lint_bytes(WITH_CONTEXT, envelope=full), "DSN-FMT-007") == [Severity.ERROR]
    without = lint_bytes(WITH_CONTEXT, envelope=full, dsn_advertised=False)
    assert severities(without, "RET-001") == [] and severities(without, "DSN-FMT-007") == []


def test_an_original_envelope_id_nobody_gave_is_wrong_with_or_without_dsn() -> None:
    """RFC 3464 §2.2.1 binds the report: Haraka (no DSN) writes its Message-ID as Original-Envelope-Id."""
    no_envid = {key: value for key, value in ENVELOPE.items() if key != "envid"}
    assert b"Original-Envelope-Id" in WITH_CONTEXT
    for advertised in (True, False, None):
        found = severities(lint_bytes(WITH_CONTEXT, envelope=from_dict(no_envid), dsn_advertised=advertised),
                           "DSN-FMT-007")
        assert found == [Severity.ERROR], advertised
    clean = WITH_CONTEXT.replace(b"Original-Envelope-Id: Env+Id\r\n", b"")
    assert severities(lint_bytes(clean, envelope=from_dict(no_envid), dsn_advertised=False), "DSN-FMT-007") == []


def test_a_target_without_dsn_is_still_held_to_the_recipients_and_the_return_path() -> None:
    raw = WITH_CONTEXT.replace(b"To: sender@example.org", b"To: someone-else@example.org")
    assert severities(lint_bytes(raw, envelope=from_dict(ENVELOPE), dsn_advertised=False), "NDR-HDR-004")


def test_the_envelope_file_says_what_was_advertised() -> None:
    no_dsn = from_dict({**ENVELOPE, "dsn_advertised": False})
    assert no_dsn.dsn_advertised is False and from_dict(ENVELOPE).dsn_advertised is None
    assert severities(lint_bytes(NO_ORIGINAL_RECIPIENT, envelope=no_dsn), "DSN-FMT-015") == []
    # said outright, the caller wins over the file
    assert severities(lint_bytes(NO_ORIGINAL_RECIPIENT, envelope=no_dsn, dsn_advertised=True), "DSN-FMT-015")
    with_dsn = from_dict({**ENVELOPE, "dsn_advertised": True})
    assert severities(lint_bytes(PLAIN, envelope=with_dsn, profile=Profile.STRICT_RFC), "MPR-001") == \
        [Severity.ERROR]


@pytest.mark.parametrize("value", ["yes", 1, "true", []])
def test_a_dsn_advertised_key_that_is_not_a_boolean_is_refused(value: object) -> None:
    with pytest.raises(EnvelopeError, match="'dsn_advertised' is true or false"):
        from_dict({**ENVELOPE, "dsn_advertised": value})


# --- RET-002 / RET-003: a body returned under the header-only label ----------------------------------------

def test_ret_hdrs_with_the_body_in_text_rfc822_headers_is_ret_002() -> None:
    result = lint_bytes(BODY_IN_HEADERS, envelope=from_dict(ENVELOPE))  # RET=HDRS
    found = [f for f in result.findings if f.check_id == "RET-002"]
    assert [f.severity for f in found] == [Severity.WARNING]
    assert "labelled text/rfc822-headers" in found[0].message and "'the original body'" in found[0].message
    assert severities(result, "RET-005") == [Severity.WARNING]  # the label, said apart
    assert severities(lint_bytes(WITH_CONTEXT, envelope=from_dict(ENVELOPE)), "RET-002") == []


def test_a_success_report_with_the_body_in_text_rfc822_headers_is_ret_003() -> None:
    relayed = BODY_IN_HEADERS.replace(b"Action: failed\r\nStatus: 5.1.1", b"Action: delivered\r\nStatus: 2.0.0")
    envelope = from_dict({**ENVELOPE, "ret": None})
    assert severities(lint_bytes(relayed, envelope=envelope), "RET-003") == [Severity.WARNING]
    headers_only = WITH_CONTEXT.replace(b"Action: failed\r\nStatus: 5.1.1", b"Action: delivered\r\nStatus: 2.0.0")
    assert severities(lint_bytes(headers_only, envelope=envelope), "RET-003") == []


def test_a_header_only_message_rfc822_with_crlf_is_no_body() -> None:
    """A CRLF is one line end: the header's own lines never read as a blank line (RET-001 still fires)."""
    labelled_whole = WITH_CONTEXT.replace(b"Content-Type: text/rfc822-headers", b"Content-Type: message/rfc822")
    full = from_dict({**ENVELOPE, "ret": "FULL"})
    assert severities(lint_bytes(labelled_whole, envelope=full), "RET-001") == [Severity.WARNING]


# --- the command ----------------------------------------------------------------------------------------

def lint_json(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, set[tuple[str, str]]]:
    status = main(["lint", "--format", "json", *args])
    data = json.loads(capsys.readouterr().out)
    return status, {(f["check_id"], f["severity"]) for item in data for f in item["findings"]}


def test_the_cli_flag(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bounce = tmp_path / "bounce.eml"
    bounce.write_bytes(PLAIN)
    assert lint_json(["--profile", "strict-rfc", str(bounce)], capsys) == (0, {("MPR-001", "warning")})
    assert lint_json(["--profile", "strict-rfc", "--dsn-advertised", str(bounce)], capsys) == \
        (1, {("MPR-001", "error")})
    assert lint_json(["--profile", "strict-rfc", "--no-dsn-advertised", str(bounce)], capsys)[0] == 0


def test_the_cli_flag_wins_over_the_envelope_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    dsn = tmp_path / "dsn.eml"
    dsn.write_bytes(NO_ORIGINAL_RECIPIENT)
    envelope = tmp_path / "original.json"
    envelope.write_text(json.dumps({**ENVELOPE, "dsn_advertised": False}))
    assert ("DSN-FMT-015", "error") not in lint_json(["--envelope", str(envelope), str(dsn)], capsys)[1]
    assert ("DSN-FMT-015", "error") in lint_json(["--envelope", str(envelope), "--dsn-advertised", str(dsn)],
                                                 capsys)[1]


def test_the_help_documents_the_flag(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["lint", "--help"])
    out = capsys.readouterr().out
    assert "--dsn-advertised" in out and "--no-dsn-advertised" in out and '"dsn_advertised": true|false' in out
