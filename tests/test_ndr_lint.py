"""The NDR linter: a good DSN is clean, each mutation fires its check, real data never breaks it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conformance.findings import Profile, Severity
from conformance.ndr.classify import Kind
from conformance.ndr.lint import lint_bytes

#: third-party bounces, not shipped (README, "Set-up on a fresh machine"): CI has them in shared/corpus
#: beside the repository; the lab's NDRs are in mta-lab beside the corpus
CORPUS = Path(os.environ.get("MTA_CONFORMANCE_CORPUS")
              or Path(__file__).resolve().parent.parent.parent / "shared" / "corpus")
SHARED = CORPUS.parent
NO_CORPUS = f"no bounce corpus at {CORPUS}: set MTA_CONFORMANCE_CORPUS to its folder (third-party data, not shipped)"
LAB = SHARED / "mta-lab"

GOOD = b"""\
Date: Mon, 23 Nov 2026 06:00:00 +0000
From: MAILER-DAEMON@mx.example.net (Mail Delivery System)
To: sender@example.org
Subject: Undelivered Mail Returned to Sender
Message-ID: <20261123060000.1@mx.example.net>
In-Reply-To: <orig.1@example.org>
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status;
 boundary="b1/mx.example.net"

--b1/mx.example.net
Content-Type: text/plain; charset=us-ascii

Your message to <nobody@example.com> could not be delivered: 550 5.1.1 user unknown.

--b1/mx.example.net
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.example.net
Arrival-Date: Mon, 23 Nov 2026 05:59:58 +0000

Final-Recipient: rfc822; nobody@example.com
Action: failed
Status: 5.1.1
Remote-MTA: dns; mx.example.com
Diagnostic-Code: smtp; 550 5.1.1 <nobody@example.com>: user unknown

--b1/mx.example.net
Content-Type: text/rfc822-headers

From: sender@example.org
To: nobody@example.com
Subject: hello
Message-ID: <orig.1@example.org>

--b1/mx.example.net--
""".replace(b"\n", b"\r\n")


def ids(raw: bytes, profile: Profile = Profile.ANTI_BACKSCATTER) -> dict[str, Severity]:
    result = lint_bytes(raw, profile=profile)
    assert not result.internal_errors
    return {f.check_id: f.severity for f in result.findings}


def test_good_dsn_is_clean() -> None:
    result = lint_bytes(GOOD)
    assert result.kind is Kind.DSN_FAILURE
    assert result.findings == []


MUTATIONS = [
    (b"Date: Mon, 23 Nov 2026 06:00:00 +0000\r\n", b"", "NDR-HDR-001"),
    (b"Mon, 23 Nov 2026 06:00:00", b"Tue, 23 Nov 2026 06:00:00", "NDR-HDR-002"),
    (b"From: MAILER-DAEMON@mx.example.net (Mail Delivery System)", b"From: <>", "NDR-HDR-005"),
    (b"Message-ID: <20261123060000.1@mx.example.net>\r\n", b"", "NDR-HDR-006"),
    (b"MIME-Version: 1.0\r\n", b"", "NDR-HDR-007"),
    (b"Auto-Submitted: auto-replied", b"Auto-Submitted: auto-generated", "NDR-HDR-008"),
    (b"Auto-Submitted: auto-replied", b"Auto-Submitted: \"yes please\"", "NDR-HDR-009"),
    (b"Subject: Undelivered", b"Subject: " + b"x" * 1000 + b" Undelivered", "NDR-HDR-012"),
    (b"Subject: Undelivered", b"Subject: Caf\xc3\xa9 Undelivered", "NDR-HDR-013"),
    (b"report-type=delivery-status;", b"", "MPR-002"),
    (b"report-type=delivery-status", b"report-type=disposition-notification", "MDN"),
    (b"report-type=delivery-status", b"report-type=global-delivery-status", "MPR-003"),
    (b"Content-Type: text/plain; charset=us-ascii", b"Content-Type: application/octet-stream", "MPR-005"),
    (b"Content-Type: text/plain; charset=us-ascii", b"Content-Type: text/html", "MPR-005"),
    (b"Content-Type: text/rfc822-headers", b"Content-Type: text/plain", "MPR-011"),
    (b"Content-Type: message/delivery-status\r\n", b"Content-Type: message/delivery-status\r\n"
     b"Content-Transfer-Encoding: quoted-printable\r\n", "MPR-008"),
    (b"Content-Type: message/delivery-status", b"Content-Type: message/delivery-status; charset=us-ascii", "MPR-008"),
    (b"--b1/mx.example.net--", b"", "MPR-010"),
    (b"MIME-Version: 1.0\r\n", b"MIME-Version: 1.0\r\nContent-Transfer-Encoding: base64\r\n", "MPR-009"),
    (b"Final-Recipient: rfc822; nobody@example.com\r\nAction", b"Final-Recipient: rfc822; nobody@example.com\r\n"
     b"Bogus line\r\nAction", "DSN-FMT-001"),
    (b"Arrival-Date:", b"Reporting-MTA: dns; again.example.net\r\nArrival-Date:", "DSN-FMT-002"),
    (b"Remote-MTA: dns; mx.example.com", b"Remote-MTA: mx.example.com", "DSN-FMT-003"),
    (b"Reporting-MTA: dns; mx.example.net\r\n", b"", "DSN-FMT-004"),
    (b"Reporting-MTA: dns; mx.example.net", b"Reporting-MTA: dns; 192.0.2.1", "DSN-SEM-005"),
    (b"05:59:58 +0000", b"05:59:58 GMT", "DSN-FMT-010"),
    (b"Action: failed\r\n", b"Action: failed\r\nAction: failed\r\n", "DSN-FMT-011"),
    (b"Final-Recipient: rfc822; nobody@example.com\r\n", b"", "DSN-FMT-013"),
    (b"Action: failed", b"Action: failure", "DSN-FMT-016"),
    (b"Status: 5.1.1", b"Status: 5.01.1", "DSN-FMT-017"),
    (b"Status: 5.1.1", b"Status: 2.0.0", "DSN-SEM-018"),
    (b"Status: 5.1.1", b"Status: 5.0.0", "DSN-SEM-021"),
    (b"Status: 5.1.1", b"Status: 5.1.99", "ESC-006"),
    (b"smtp; 550 5.1.1", b"smtp; 550 4.1.1", "ESC-003"),
    (b"Remote-MTA:", b"Last-Attempt-Date: Mon, 23 Nov 2026 06:00:00 EST\r\nRemote-MTA:", "DSN-FMT-023"),
    (b"Remote-MTA:", b"Will-Retry-Until: Mon, 23 Nov 2026 06:00:00 +0000\r\nRemote-MTA:", "DSN-FMT-024"),
    (b"Remote-MTA:", b"Shoe-Size: 42\r\nRemote-MTA:", "DSN-FMT-027"),
    (b"Status: 5.1.1\r\n", b"", "DSN-SEM-028"),
    (b"Subject: Undelivered Mail Returned to Sender", b"Subject: hello", "NDR-HDR-010"),
    (b"In-Reply-To: <orig.1@example.org>\r\n", b"", "NDR-HDR-011"),
    (b"MIME-Version: 1.0\r\n", b"MIME-Version: 1.0\r\nX-Failed-Recipients: nobody@example.com\r\n", "NDR-HDR-015"),
    (b"Your message to <nobody@example.com>", b"Your message", "MPR-006"),
    (b"\r\n--b1/mx.example.net\r\nContent-Type: text/plain", b"\r\npreamble text\r\n--b1/mx.example.net\r\n"
     b"Content-Type: text/plain", "MPR-013"),
    (b"Content-Type: text/rfc822-headers", b"Content-Type: message/rfc822", "RET-005"),
    (b"Content-Type: text/rfc822-headers\r\n", b"Content-Type: message/rfc822\r\n"
     b"Content-Transfer-Encoding: base64\r\n", "RET-006"),
    (b"\r\n--b1/mx.example.net\r\nContent-Type: text/rfc822-headers", b"", "RET-009"),
    (b"Content-Type: text/rfc822-headers\r\n\r\nFrom: sender@example.org\r\n",
     b"Content-Type: message/rfc822\r\n\r\nFrom: sender@example.org\r\n"
     b"Content-Type: multipart/mixed; boundary=inner\r\n\r\n--inner\r\n\r\ncut\r\n", "RET-010"),
    (b"Status: 5.1.1", b"Status: 5.1", "ESC-001"),
    (b"Status: 5.1.1", b"Status: 5.4.1", "ESC-008"),
    (b"Status: 5.1.1", b"Status: 5.1.10", "ESC-010"),
    (b"Reporting-MTA: dns; mx.example.net", b"Reporting-MTA: dns; mx.example.net\r\nDSN-Gateway: dns; gw.example.net",
     "DSN-FMT-008"),
    (b"Final-Recipient: rfc822; nobody@example.com\r\nAction: failed", b"Action: failed\r\n"
     b"Final-Recipient: rfc822; nobody@example.com", "DSN-FMT-012"),
    (b"Remote-MTA:", b"Final-Log-ID:\r\nRemote-MTA:", "DSN-FMT-026"),
    (b"smtp; 550 5.1.1 <nobody@example.com>: user unknown", b"smtp; user unknown", "DSN-SEM-020"),
    (b"Remote-MTA: dns; mx.example.com", b"Remote-MTA: dns; 192.0.2.25", "DSN-SEM-022"),
    (b"05:59:58 +0000", b"07:59:58 +0000", "DSN-SEM-025"),
    (b"Final-Recipient: rfc822; nobody@example.com", b"Final-Recipient: rfc822; n\xc3\xb6body@example.com", "I18N-003"),
    (b"Final-Recipient: rfc822; nobody@example.com", b"Final-Recipient: utf-8; n\\x{D800}body@example.com", "I18N-004"),
    (b"user unknown\r\n\r\n--b1", b"user unknown\r\nLocalized-Diagnostic: de\r\n\r\n--b1", "I18N-006"),
    (b"user unknown\r\n\r\n--b1", b"user unknown \xc3\xbc\r\n\r\n--b1", "I18N-007"),
    (b"\r\n--b1/mx.example.net\r\nContent-Type: message/delivery-status", b"\r\n--b1/mx.example.net\r\n"
     b"Content-Type: text/plain\r\n\r\nmore\r\n\r\n--b1/mx.example.net\r\nContent-Type: message/delivery-status",
     "MPR-004"),
    (b"Content-Type: message/delivery-status\r\n", b"Content-Type: application/x-report\r\n", "MPR-007"),
    (b"Action: failed\r\n", b"Action: failed\r\n\r\n", "DSN-SEM-031"),
]


@pytest.mark.parametrize(("old", "new", "check"), MUTATIONS, ids=[m[2] + "-" + str(i) for i, m in enumerate(MUTATIONS)])
def test_each_mutation_fires_its_check(old: bytes, new: bytes, check: str) -> None:
    assert old in GOOD
    raw = GOOD.replace(old, new, 1)
    if check == "MDN":
        assert lint_bytes(raw).kind is Kind.MDN and lint_bytes(raw).findings == []
        return
    assert check in ids(raw), lint_bytes(raw).findings


GLOBAL = GOOD.replace(b"report-type=delivery-status", b"report-type=global-delivery-status").replace(
    b"Content-Type: message/delivery-status", b"Content-Type: message/global-delivery-status")


@pytest.mark.parametrize(("old", "new", "check"), [
    (b"Final-Recipient: rfc822; nobody@example.com", b"Final-Recipient: utf-8; n\\x{F6}body@example.com", "I18N-005"),
    (b"Content-Type: message/global-delivery-status\r\n", b"Content-Type: message/global-delivery-status\r\n"
     b"Content-Transfer-Encoding: base64\r\n", "I18N-009"),
    (b"user unknown\r\n\r\n--b1", b"user unknown \xc3\xbc\r\n\r\n--b1", "I18N-009"),
    (b"Content-Type: text/rfc822-headers", b"Content-Type: message/global-headers; charset=utf-8", "I18N-010"),
    (b"Content-Type: text/rfc822-headers", b"Content-Type: text/rfc822-headers", "I18N-011"),
    (b"Content-Type: text/rfc822-headers", b"Content-Type: text/rfc822-headers", "I18N-008"),
])
def test_global_dsn_checks(old: bytes, new: bytes, check: str) -> None:
    assert old in GLOBAL
    assert check in ids(GLOBAL.replace(old, new, 1))


def test_every_static_check_has_a_fixture() -> None:
    """Each S-mode row (sections 3-9 and the ESC rows) is shown firing above."""
    import re as _re

    from conformance.checks.registry import REGISTRY

    here = Path(__file__).read_text() + (Path(__file__).parent / "test_ndr_cli.py").read_text()
    shown = set(_re.findall(r'"([A-Z0-9]+(?:-[A-Z0-9]+)*-\d{3})"\)', here))
    static = {c.id for c in REGISTRY if _re.search(r"\bS\b|S\+ctx", c.mode) and not c.id.startswith(("SMTP-", "DSNX-"))}
    # MPR-012 is the classification itself (ARF/MDN get no findings, tested below);
    # DSN-SEM-029 says an absence is *not* a finding; MPR-001 is tested with the plain-text bounce
    assert static - shown - {"MPR-012", "DSN-SEM-029", "MPR-001"} == set()


def test_plain_text_bounce_gets_only_mpr_001() -> None:
    raw = (b"From: MAILER-DAEMON@mx.example.net\r\nSubject: failure notice\r\nDate: Mon, 23 Nov 2026 06:00:00 +0000\r\n\r\n"
           b"Hi. This is the qmail-send program at mx.example.net.\r\n<nobody@example.com>:\r\nno such user\r\n")
    assert ids(raw) == {"MPR-001": Severity.ERROR}
    assert ids(raw, Profile.STRICT_RFC) == {"MPR-001": Severity.WARNING}


def test_ordinary_mail_has_no_findings() -> None:
    raw = b"From: alice@example.org\r\nSubject: lunch?\r\n\r\nsee you at noon\r\n"
    result = lint_bytes(raw)
    assert result.kind is Kind.OTHER and result.findings == []


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=4000))
def test_arbitrary_bytes_never_break_the_linter(data: bytes) -> None:
    assert not lint_bytes(data).internal_errors
    # most random bytes are "not a message" at once; after a header line they reach the parser
    assert not lint_bytes(b"Subject: x\r\n" + data).internal_errors


@settings(max_examples=300, deadline=None)
@given(st.integers(min_value=0, max_value=len(GOOD)), st.integers(min_value=0, max_value=200),
       st.binary(max_size=50))
def test_mutated_dsn_never_breaks_the_linter(start: int, length: int, junk: bytes) -> None:
    assert not lint_bytes(GOOD[:start] + junk + GOOD[start + length:]).internal_errors


@pytest.mark.skipif(not CORPUS.is_dir(), reason=NO_CORPUS)
def test_line_endings_do_not_change_the_verdict() -> None:
    """The CRLF (dos) and bare-CR (mac) copies get the same findings as their LF originals."""
    pairs = 0
    for variant in sorted(CORPUS.glob("sisimai-mac-*.eml")) + sorted(CORPUS.glob("sisimai-dos-*.eml")):
        original = CORPUS / ("sisimai-" + variant.name.split("-", 2)[2])
        if not original.exists():
            continue
        pairs += 1
        a, b = lint_bytes(variant.read_bytes()), lint_bytes(original.read_bytes())
        assert a.kind is b.kind, variant.name
        assert [(f.check_id, f.where) for f in a.findings] == [(f.check_id, f.where) for f in b.findings], variant.name
    assert pairs >= 4


def _real_dsns() -> list[bytes]:
    return [p.read_bytes() for p in sorted(CORPUS.glob("*.eml"))[:80] if b"delivery-status" in p.read_bytes()]


@pytest.mark.skipif(not CORPUS.is_dir(), reason=NO_CORPUS)
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_mutated_real_dsns_never_break_the_linter(data: st.DataObject) -> None:
    dsns = _REAL_DSNS or _real_dsns()
    _REAL_DSNS[:] = dsns
    raw = data.draw(st.sampled_from(dsns))
    start = data.draw(st.integers(0, len(raw)))
    cut = data.draw(st.integers(0, 300))
    junk = data.draw(st.binary(max_size=60) | st.sampled_from([b"\r", b"\n\n", b"--", b":", b";", b"(", b"\x00"]))
    assert not lint_bytes(raw[:start] + junk + raw[start + cut:]).internal_errors


_REAL_DSNS: list[bytes] = []


def _real_files() -> list[Path]:
    return sorted(CORPUS.glob("*.eml")) + sorted(LAB.glob("*/ndr/*.eml")) + sorted(LAB.glob("*/*/ndr/*.eml"))


@pytest.mark.skipif(not CORPUS.is_dir(), reason=NO_CORPUS)
def test_every_real_message_lints_without_internal_error() -> None:
    files = _real_files()
    assert len(files) > 200
    for path in files:
        result = lint_bytes(path.read_bytes(), source=str(path))
        assert not result.internal_errors, (path, result.internal_errors)


@pytest.mark.skipif(not CORPUS.is_dir(), reason=NO_CORPUS)
@pytest.mark.skipif(not LAB.is_dir(), reason=f"no lab NDRs at {LAB} (the mta-lab folder beside the bounce corpus)")
def test_named_verdicts_on_real_messages() -> None:
    dsn_03 = ids((CORPUS / "flufl-dsn_03.eml").read_bytes())
    assert dsn_03["DSN-FMT-016"] is Severity.ERROR and dsn_03["DSN-FMT-017"] is Severity.ERROR
    postfix = lint_bytes((LAB / "postfix" / "ndr" / "downstream_rcpt_550.eml").read_bytes())
    assert postfix.kind is Kind.DSN_FAILURE and not postfix.has_errors
    exim = lint_bytes((LAB / "exim4" / "ndr" / "downstream_rcpt_550.eml").read_bytes())
    generic = [f for f in exim.findings if f.check_id == "DSN-SEM-021"]
    assert generic and generic[0].severity is Severity.INFO and "5.0.0" in generic[0].message
    expected = {
        "sisimai-lhost-sendgrid-03.eml": {"DSN-FMT-004", "DSN-FMT-016"},  # Action: expired, no Reporting-MTA
        "mimekit-delivery-status.eml": {"MPR-005", "DSN-FMT-017"},  # text in the preamble, no Status
        "sisimai-lhost-postfix-64.eml": {"DSN-FMT-001"},  # no per-recipient block
        "sisimai-lhost-x3-05.eml": {"MPR-002"},  # multipart/report without report-type
        "bounceparser-warning-8.eml": {"MPR-004", "MPR-007"},  # the DSN is the third of four parts
    }
    for name, checks in expected.items():
        found = ids((CORPUS / name).read_bytes())
        assert checks <= {k for k, v in found.items() if v is Severity.ERROR}, (name, found)
    mixed = lint_bytes((CORPUS / "sisimai-rfc3464-09.eml").read_bytes())  # delivery-status in multipart/mixed
    assert [(f.check_id, f.severity) for f in mixed.findings if f.check_id == "MPR-001"] == \
        [("MPR-001", Severity.ERROR)]  # RFC 3464 §2: not a DSN at all
    assert not mixed.kind.is_dsn and "RFC 3464 DSN" not in mixed.verdict.split(":")[0].replace("not an RFC", "")
    nested = lint_bytes((CORPUS / "sisimai-lhost-x5-01.eml").read_bytes())  # a report in a forwarded message
    assert [(f.check_id, f.severity) for f in nested.findings if f.check_id == "MPR-001"] == \
        [("MPR-001", Severity.WARNING)]
    arf = list(CORPUS.glob("*arf*.eml"))
    for path in arf:
        result = lint_bytes(path.read_bytes())
        assert result.kind is Kind.ARF and result.findings == []
