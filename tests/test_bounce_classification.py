"""Classifying real-world bounces: encoded text, legacy MTA phrasings, verification reports, two status parts.

Every fixture here is synthetic: the trait of a real bounce, written down in
the fewest lines that show it (the third-party corpus is read where it lies,
and only to confirm, never copied).
"""

from __future__ import annotations

import base64
import io
import json
import quopri

import pytest
from test_ndr_lint import CORPUS, GOOD, NO_CORPUS

from conformance.checks.registry import finding
from conformance.findings import Location, Profile, Severity
from conformance.ndr.classify import VERDICTS, Kind
from conformance.ndr.decoded import decode_words
from conformance.ndr.lint import LintResult, lint_bytes
from conformance.ndr.message import load
from conformance.ndr.output import JSONWriter, JUnitWriter, TextWriter


def mail(headers: str, body: bytes, *, content: str = "text/plain; charset=utf-8", cte: str = "7bit") -> bytes:
    """A single-part message: *headers* (one field a line), then the MIME fields and *body*."""
    head = (f"Date: Mon, 23 Nov 2026 06:00:00 +0000\nMessage-ID: <m.1@mx.example.net>\n{headers.strip()}\n"
            f"MIME-Version: 1.0\nContent-Type: {content}\nContent-Transfer-Encoding: {cte}\n\n")
    return head.encode().replace(b"\n", b"\r\n") + body


DAEMON = "From: MAILER-DAEMON@mx.example.net\nTo: sender@example.org"
PERSON = "From: Alice <alice@example.org>\nTo: bob@example.com"
PROSE = b"Delivery to the following recipient failed permanently:\r\n\r\n    nobody@example.com\r\n"


# 1. RFC 2047 Subjects and transfer-encoded bodies are read decoded


@pytest.mark.parametrize("subject", [
    "=?UTF-8?Q?Delivery_Status_Notification_=28Failure=29?=",
    "=?utf-8?B?" + base64.b64encode(b"Undelivered Mail Returned to Sender").decode() + "?=",
    "=?iso-8859-15?q?Mail_delivery_failed=3A_returning_message_to_sender?=",
])
def test_an_encoded_bounce_subject_is_read_decoded(subject: str) -> None:
    raw = mail(f"{DAEMON}\nSubject: {subject}", b"Hello.\r\n")
    assert lint_bytes(raw).kind is Kind.BOUNCE
    assert lint_bytes(raw.replace(subject.encode(), b"=?UTF-8?Q?Your_order?=")).kind is Kind.OTHER


@pytest.mark.parametrize("cte", ["base64", "quoted-printable"])
def test_an_encoded_bounce_body_is_read_decoded(cte: str) -> None:
    text = "Die Nachricht konnte nicht zugestellt werden: 550 5.1.1 user unknown – bitte prüfen.\n".encode()
    body = base64.encodebytes(text) if cte == "base64" else quopri.encodestring(text, quotetabs=True)
    assert b"user unknown" not in body
    raw = mail(f"{DAEMON}\nSubject: Mail", body, cte=cte)
    assert lint_bytes(raw).kind is Kind.BOUNCE
    plain = mail(f"{DAEMON}\nSubject: Mail", base64.encodebytes(b"Your weekly digest.\n"), cte="base64")
    assert lint_bytes(plain).kind is Kind.OTHER


def test_a_body_in_a_nested_multipart_and_a_declared_charset_is_decoded() -> None:
    text = "Delivery has failed to these recipients or groups:\n".encode("utf-16")
    inner = (b"--in\r\nContent-Type: text/plain; charset=utf-16\r\nContent-Transfer-Encoding: base64\r\n\r\n"
             + base64.encodebytes(text) + b"--in--\r\n")
    body = (b"--out\r\nContent-Type: multipart/alternative; boundary=in\r\n\r\n" + inner + b"--out--\r\n")
    raw = mail(f"{DAEMON}\nSubject: Mail", body, content="multipart/mixed; boundary=out")
    assert lint_bytes(raw).kind is Kind.BOUNCE


@pytest.mark.parametrize("value, text", [
    ("=?UTF-8?Q?Delivery_Status_Notification_=28Failure=29?=", "Delivery Status Notification (Failure)"),
    ("=?x-unknown?Q?Non_delivery?= report", "Non delivery report"),
    ("plain", "plain"),
])
def test_decoding_words(value: str, text: str) -> None:
    assert decode_words(value) == text


@pytest.mark.parametrize("value", ["=?UTF-8?B?!!!broken?=", "=?utf-8?q?=FF=FE?=", "=?" * 5000, "=?rot13?Q?abc?="])
def test_decoding_words_never_raises(value: str) -> None:
    assert isinstance(decode_words(value), str)


@pytest.mark.parametrize("body, cte, charset", [
    (b"@@@not base64 at all\r\n", "base64", "utf-8"),
    (b"=ZZ=\r\nsoft=\r\n", "quoted-printable", "utf-8"),
    (base64.encodebytes(b"abc")[:-3], "base64", "x-no-such-charset"),
    (b"bytes", "x-uuencode", "base64"),
])
def test_broken_encodings_never_break_the_classifier(body: bytes, cte: str, charset: str) -> None:
    raw = mail(f"{DAEMON}\nSubject: Mail", body, content=f"text/plain; charset={charset}", cte=cte)
    result = lint_bytes(raw)
    assert not result.internal_errors and result.kind in (Kind.OTHER, Kind.BOUNCE)


@pytest.mark.skipif(not CORPUS.is_dir(), reason=NO_CORPUS)
def test_a_real_bounce_with_an_encoded_subject() -> None:
    raw = (CORPUS / "sisimai-lhost-amazonworkmail-08.eml").read_bytes()
    assert lint_bytes(raw).kind is Kind.BOUNCE


# 2. the words legacy MTAs write in their bounces

SMAIL = b"""\
|------------------------- Failed addresses follow: ---------------------|
 <nobody@example.com> ... unknown user
|------------------------- Message text follows: ------------------------|
"""
LEGACY = {
    "smail": SMAIL,
    "qmail": b"Hi. This is the qmail-send program at mx.example.net.\nI'm afraid I wasn't able to deliver your "
             b"message to the following addresses.\n",
    "exim": b"This message was created automatically by mail delivery software.\n\nA message that you sent could "
            b"not be delivered to one or more of its\nrecipients.\n",
    "sendmail": b"The original message was received at Mon, 23 Nov 2026 05:59:58 +0000\nfrom localhost [127.0.0.1]\n",
    "exchange": b"Delivery has failed to these recipients or groups:\n\nnobody@example.com\n",
    "domino": b"Your message\n\n  Subject: hello\n\nwas not delivered to:\n\n  nobody@example.com\n",
}


def test_smail_says_mail_failed_returning_to_sender() -> None:
    raw = mail(f"{DAEMON}\nSubject: mail failed, returning to sender", SMAIL.replace(b"\n", b"\r\n"))
    result = lint_bytes(raw)
    assert result.kind is Kind.BOUNCE and [f.check_id for f in result.findings] == ["MPR-001"]


@pytest.mark.parametrize("mta", sorted(LEGACY))
def test_legacy_mta_bounces_are_bounces(mta: str) -> None:
    body = LEGACY[mta].replace(b"\n", b"\r\n")
    by_daemon = mail(f"{DAEMON}\nSubject: Message status", body)
    assert lint_bytes(by_daemon).kind is Kind.BOUNCE
    if mta != "domino":  # the opening words alone say "bounce", whoever signs it
        by_host = mail("From: mail@mx.example.net\nTo: sender@example.org\nSubject: Message status", body)
        assert lint_bytes(by_host).kind is Kind.BOUNCE


@pytest.mark.parametrize("mta", sorted(LEGACY))
def test_a_reply_quoting_a_bounce_is_not_one(mta: str) -> None:
    quoted = b"".join(b"> " + line + b"\r\n" for line in LEGACY[mta].splitlines())
    reply = mail(f"{PERSON}\nSubject: Re: your message", b"Did you get this?\r\n\r\n" + quoted)
    assert lint_bytes(reply).kind is Kind.OTHER
    pasted = mail(f"{PERSON}\nSubject: Re: hello", b"I got this back:\r\n\r\n" + LEGACY[mta].replace(b"\n", b"\r\n"))
    assert lint_bytes(pasted).kind is Kind.OTHER
    chat = mail(f"{PERSON}\nSubject: lunch", b"We talked about 'delivery has failed' messages.\r\n")
    assert lint_bytes(chat).kind is Kind.OTHER


# 3. Postfix's address verification reports

VERIFY = (GOOD.replace(b"Action: failed", b"Action: deliverable").replace(b"Status: 5.1.1", b"Status: 2.1.5")
          .replace(b"Subject: Undelivered Mail Returned to Sender", b"Subject: Mail Delivery Status Report")
          .replace(b"Diagnostic-Code: smtp; 550 5.1.1 <nobody@example.com>: user unknown",
                   b"Diagnostic-Code: smtp; 250 2.1.5 Ok"))


def test_an_address_verification_report_is_not_a_failure_report() -> None:
    result = lint_bytes(VERIFY)
    assert result.kind is Kind.DSN_VERIFY and result.kind.is_dsn
    assert "verification" in result.verdict and "failure" not in result.verdict
    undeliverable = VERIFY.replace(b"Action: deliverable", b"Action: undeliverable").replace(b"2.1.5", b"5.1.1")
    assert lint_bytes(undeliverable).kind is Kind.DSN_VERIFY
    assert lint_bytes(GOOD).kind is Kind.DSN_FAILURE
    mixed = VERIFY.replace(b"Action: deliverable", b"Action: failed")
    assert lint_bytes(mixed).kind is Kind.DSN_FAILURE


# 4. two delivery-status parts, the first of them prose

PROSE_PART = (b"--b1/mx.example.net\r\nContent-Type: message/delivery-status\r\n\r\n"
              b"This report lists the recipients we could not reach.\r\n\r\n")


def test_of_two_status_parts_the_one_with_fields_is_judged() -> None:
    first = b"--b1/mx.example.net\r\nContent-Type: message/delivery-status"
    at = GOOD.index(first)
    raw = GOOD[:at] + PROSE_PART + GOOD[at:]
    ndr = load(raw)
    assert ndr.status is not None and ndr.status.recipients[0].first("action") is not None
    assert ndr.status_part is not None and ndr.status_part.body_line > raw[:at].count(b"\n") + 4
    result = lint_bytes(raw)
    assert result.kind is Kind.DSN_FAILURE
    assert not {"MPR-001", "DSN-FMT-001"} & {f.check_id for f in result.findings}
    only_prose = GOOD.replace(GOOD[GOOD.index(b"Reporting-MTA"):GOOD.index(b"--b1/mx.example.net\r\nContent-Type: text/rfc822")],
                              b"This report lists the recipients we could not reach.\r\n\r\n")
    assert load(only_prose).status_part is not None  # the only one is judged, faults and all


# 5. NDR-HDR-010 reads the Subject decoded


@pytest.mark.parametrize("subject", [b"Non delivery report", b"Delivery report", b"Non-Delivery Report: hello",
                                     b"=?UTF-8?Q?Delivery_Status_Notification_=28Failure=29?=",
                                     b"=?utf-8?B?" + base64.b64encode(b"Nicht zugestellt: Delivery report") + b"?="])
def test_a_subject_saying_delivery_report_passes_ndr_hdr_010(subject: bytes) -> None:
    raw = GOOD.replace(b"Undelivered Mail Returned to Sender", subject)
    assert "NDR-HDR-010" not in {f.check_id for f in lint_bytes(raw).findings}


def test_an_encoded_subject_that_says_nothing_fails_ndr_hdr_010_quoted_decoded() -> None:
    raw = GOOD.replace(b"Undelivered Mail Returned to Sender", b"=?UTF-8?Q?Gr=C3=BC=C3=9Fe?=")
    found = [f for f in lint_bytes(raw).findings if f.check_id == "NDR-HDR-010"]
    assert found and "'Grüße'" in found[0].message and "RFC 2047" in found[0].message


# 6. thousands of findings of one check are summed up


def flood(count: int) -> LintResult:
    result = LintResult("bomb.eml", Kind.DSN_FAILURE)
    for line in range(1, count + 1):
        result.findings.append(finding("NDR-HDR-012", f"a line is longer than 998 characters ({line})",
                                       profile=Profile.STRICT_RFC, condition="over-998", where=Location(line=line)))
    result.findings.append(finding("NDR-HDR-006", "no Message-ID field", profile=Profile.STRICT_RFC,
                                   where=Location(line=1)))
    return result


def test_text_output_shows_twenty_of_a_check_and_one_line_for_the_rest() -> None:
    out = io.StringIO()
    writer = TextWriter(out, Severity.INFO)
    writer.add(flood(170_000))
    writer.close()
    lines = out.getvalue().splitlines()
    assert sum("NDR-HDR-012" in line for line in lines) == 21
    assert "bomb.eml: ... and 169980 more NDR-HDR-012 findings" in lines
    assert any("NDR-HDR-006" in line for line in lines) and len(lines) < 30
    out = io.StringIO()
    TextWriter(out, Severity.INFO).add(flood(20))
    assert "more" not in out.getvalue()


def test_json_output_keeps_counts_of_every_check() -> None:
    out = io.StringIO()
    writer = JSONWriter(out, Severity.INFO)
    writer.add(flood(1000))
    writer.close()
    item = json.loads(out.getvalue())[0]
    assert len(item["findings"]) == 21
    assert item["counts"] == {"NDR-HDR-012": 1000, "NDR-HDR-006": 1}
    assert item["omitted"] == {"NDR-HDR-012": 980}


def test_junit_output_caps_failures_per_check() -> None:
    out = io.StringIO()
    writer = JUnitWriter(out, Severity.INFO)
    writer.add(flood(500))
    writer.close()
    xml = out.getvalue()
    assert xml.count('type="NDR-HDR-012"') == 21 and "... and 480 more NDR-HDR-012 findings" in xml


def test_the_verdicts_name_every_kind() -> None:
    assert set(VERDICTS) == set(Kind)
