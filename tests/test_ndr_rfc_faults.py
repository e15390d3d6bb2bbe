"""RFC faults seen in third-party NDRs, each on minimal synthetic bytes: the bad form is a finding, the good one is not.

Every test builds its NDR from ``GOOD`` (a clean RFC 3464 DSN) by replacing
one piece, so the finding it expects can come from nothing else.
"""

from __future__ import annotations

import pytest

from conformance.findings import Finding, Profile, Severity
from conformance.ndr.classify import Kind
from conformance.ndr.lint import LintResult, lint_bytes

GOOD = """\
Date: Tue, 01 Dec 2026 10:00:00 +0000
From: MAILER-DAEMON@mx.example.net (Mail Delivery System)
To: sender@example.org
Subject: Undelivered Mail Returned to Sender
Message-ID: <20261201100000.1@mx.example.net>
In-Reply-To: <orig.1@example.org>
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status;
 boundary="boundary_X"

--boundary_X
Content-Type: text/plain; charset=us-ascii

Your message to <nobody@example.com> could not be delivered: 550 5.1.1 user unknown.

--boundary_X
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.example.net
Arrival-Date: Tue, 01 Dec 2026 09:59:58 +0000

Final-Recipient: rfc822; nobody@example.com
Action: failed
Status: 5.1.1
Remote-MTA: dns; mx.example.com
Diagnostic-Code: smtp; 550 5.1.1 <nobody@example.com>: user unknown
Last-Attempt-Date: Tue, 01 Dec 2026 09:59:59 +0000

--boundary_X
Content-Type: text/rfc822-headers

From: sender@example.org
To: nobody@example.com
Subject: hello
Message-ID: <orig.1@example.org>

--boundary_X--
"""


def ndr(*replacements: tuple[str, str]) -> bytes:
    """``GOOD`` with each (old, new) replaced once, as CRLF wire bytes."""
    text = GOOD
    for old, new in replacements:
        assert old in text, old
        text = text.replace(old, new, 1)
    return text.replace("\n", "\r\n").encode()


def lint(raw: bytes) -> LintResult:
    """The verdict on *raw*, which must never be an internal error of the linter."""
    result = lint_bytes(raw)
    assert result.internal_errors == []
    return result


def of(result: LintResult, check_id: str) -> list[Finding]:
    return [f for f in result.findings if f.check_id == check_id]


def test_good_ndr_is_clean() -> None:
    assert lint(ndr()).findings == []


# --- 1. garbage dates are findings, never internal errors ---------------------------------------------

LATE = "Fri, 31 Dec 9999 23:59:59 -1200"


@pytest.mark.parametrize(("old", "check_id"), [
    ("Date: Tue, 01 Dec 2026 10:00:00 +0000", "NDR-HDR-002"),
    ("Arrival-Date: Tue, 01 Dec 2026 09:59:58 +0000", "DSN-FMT-010"),
    ("Last-Attempt-Date: Tue, 01 Dec 2026 09:59:59 +0000", "DSN-FMT-023"),
])
def test_a_date_beyond_year_9999_in_utc_is_a_finding(old: str, check_id: str) -> None:
    name = old.split(":", 1)[0]
    result = lint(ndr((old, f"{name}: {LATE}")))
    found = of(result, check_id)
    assert len(found) == 1 and LATE in found[0].message and found[0].severity is Severity.ERROR


def test_year_9999_everywhere_is_no_internal_error() -> None:
    for late in (LATE, "Fri, 31 Dec 9999 23:59:59 +0000", "Fri, 31 Dec 9999 23:59:59 -0000",
                 "Mon, 1 Jan 0001 00:00:00 +1400"):
        lint(ndr(("Tue, 01 Dec 2026 10:00:00 +0000", late),
                 ("Tue, 01 Dec 2026 09:59:58 +0000", late),
                 ("Tue, 01 Dec 2026 09:59:59 +0000", late)))


def test_dates_across_zones_are_compared_as_moments() -> None:
    """09:59 -0100 is 10:59 UTC: after the NDR's own 10:00 +0000, so DSN-SEM-025; 10:59 +0100 is before it."""
    late = lint(ndr(("Last-Attempt-Date: Tue, 01 Dec 2026 09:59:59 +0000",
                     "Last-Attempt-Date: Tue, 01 Dec 2026 09:59:59 -0100")))
    assert [f.message for f in of(late, "DSN-SEM-025")] == ["Last-Attempt-Date is after the NDR's own Date"]
    assert of(lint(ndr(("Last-Attempt-Date: Tue, 01 Dec 2026 09:59:59 +0000",
                        "Last-Attempt-Date: Tue, 01 Dec 2026 10:59:59 +0100"))), "DSN-SEM-025") == []


# --- 2. NDR-HDR-002: the NDR's own Date has a numeric zone (RFC 5322 §3.3, §4.3 obs-zone) -------------

OWN_DATE = "Date: Tue, 01 Dec 2026 10:00:00 +0000"


@pytest.mark.parametrize("zone", ["GMT", "UT", "EST", "EDT", "CST", "CDT", "MST", "MDT", "PST", "PDT", "Z", "A",
                                  "gmt"])
def test_an_obsolete_alphabetic_zone_in_the_date_is_ndr_hdr_002(zone: str) -> None:
    value = f"Tue, 1 Dec 2026 10:00:00 {zone}"
    found = of(lint(ndr((OWN_DATE, f"Date: {value}"))), "NDR-HDR-002")
    assert len(found) == 1 and found[0].severity is Severity.ERROR
    assert repr(value) in found[0].message and "RFC 5322 §3.3" in found[0].message
    assert "obs-zone" in found[0].message


def test_a_zone_name_outside_the_grammar_is_ndr_hdr_002() -> None:
    found = of(lint(ndr((OWN_DATE, "Date: Tue, 1 Dec 2026 10:00:00 CET"))), "NDR-HDR-002")
    assert len(found) == 1 and "'CET'" in found[0].message and "RFC 5322 §3.3" in found[0].message


@pytest.mark.parametrize("value", ["Tue, 1 Dec 2026 10:00:00 +0000", "Tue, 1 Dec 2026 05:00:00 -0500",
                                   "Tue, 1 Dec 2026 10:00:00 -0000", "1 Dec 2026 10:00:00 +0000",
                                   "Tue, 1 Dec 2026 10:00:00 +0000 (UTC)", "Tue, 1 Dec 2026 10:00:00 +0000 (GMT)"])
def test_a_numeric_zone_passes(value: str) -> None:
    assert of(lint(ndr((OWN_DATE, f"Date: {value}"))), "NDR-HDR-002") == []


# --- 3. MPR-010: a nested boundary never begins with an enclosing one, nor the reverse (RFC 2046 §5.1.1) ---

HUMAN_PART = """Content-Type: text/plain; charset=us-ascii

Your message to <nobody@example.com> could not be delivered: 550 5.1.1 user unknown.
"""


def nested_human_part(inner: str) -> tuple[str, str]:
    """The human-readable part as a multipart/alternative with boundary *inner*."""
    return HUMAN_PART, f"""Content-Type: multipart/alternative; boundary="{inner}"

--{inner}
Content-Type: text/plain; charset=us-ascii

Your message to <nobody@example.com> could not be delivered: 550 5.1.1 user unknown.
--{inner}
Content-Type: text/html; charset=us-ascii

<p>Your message to &lt;nobody@example.com&gt; could not be delivered.</p>
--{inner}--
"""


def returned_multipart(inner: str) -> tuple[str, str]:
    """The returned content as a whole message/rfc822 whose body is a multipart with boundary *inner*."""
    return """Content-Type: text/rfc822-headers

From: sender@example.org
To: nobody@example.com
Subject: hello
Message-ID: <orig.1@example.org>
""", f"""Content-Type: message/rfc822

From: sender@example.org
To: nobody@example.com
Subject: hello
Message-ID: <orig.1@example.org>
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="{inner}"

--{inner}
Content-Type: text/plain

hello
--{inner}--
"""


@pytest.mark.parametrize("inner", ["boundary_Xa", "boundary_X", "boundary", "b"])
@pytest.mark.parametrize("nesting", [nested_human_part, returned_multipart])
def test_a_nested_boundary_that_begins_with_the_enclosing_one_or_the_reverse_is_mpr_010(
        inner: str, nesting: object) -> None:
    assert callable(nesting)
    found = of(lint(ndr(nesting(inner))), "MPR-010")
    assert len(found) == 1 and found[0].severity is Severity.ERROR
    assert repr(inner) in found[0].message and "'boundary_X'" in found[0].message
    assert "RFC 2046 §5.1.1" in found[0].message


def test_the_nested_boundary_finding_is_on_the_line_that_declares_it() -> None:
    raw = ndr(nested_human_part("boundary_Xa"))
    line = raw.split(b"\r\n").index(b'Content-Type: multipart/alternative; boundary="boundary_Xa"') + 1
    assert [f.where.line for f in of(lint(raw), "MPR-010")] == [line]


@pytest.mark.parametrize("inner", ["other_boundary", "Xboundary_X", "boundary-X", "BOUNDARY_Xa"])
@pytest.mark.parametrize("nesting", [nested_human_part, returned_multipart])
def test_unrelated_nested_boundaries_pass(inner: str, nesting: object) -> None:
    assert callable(nesting)
    assert of(lint(ndr(nesting(inner))), "MPR-010") == []


def test_a_deeper_boundary_is_held_against_every_enclosing_one() -> None:
    """The returned message's multipart holds one more: 'boundary_X_inner' begins with the top-level boundary."""
    _, returned = returned_multipart("middle")
    deeper = returned.replace("""--middle
Content-Type: text/plain

hello
""", """--middle
Content-Type: multipart/alternative; boundary="boundary_X_inner"

--boundary_X_inner
Content-Type: text/plain

hello
--boundary_X_inner--
""")
    found = of(lint(ndr((returned_multipart("middle")[0], deeper))), "MPR-010")
    assert [("'boundary_X_inner'" in f.message, "'boundary_X'" in f.message) for f in found] == [(True, True)]


# --- 4. the same finding is never reported twice on one line -------------------------------------------

OTHER_BLOCK = """Final-Recipient: rfc822; other@example.com
Action: failed
Status: 5.1.1
Remote-MTA: dns; mx.example.com
Diagnostic-Code: smtp; 550 5.1.1 <other@example.com>: user unknown
Last-Attempt-Date: Tue, 01 Dec 2026 09:59:59 +0000
"""
LAST_ATTEMPT = "Last-Attempt-Date: Tue, 01 Dec 2026 09:59:59 +0000\n"


def test_the_same_finding_on_one_line_is_reported_once() -> None:
    """Two blocks for a recipient the human-readable part never names: one MPR-006 on its line, not two."""
    found = of(lint(ndr((LAST_ATTEMPT, f"{LAST_ATTEMPT}\n{OTHER_BLOCK}\n{OTHER_BLOCK}"))), "MPR-006")
    assert [f.message for f in found] == ["the human-readable part does not name other@example.com"]


def test_different_messages_on_one_line_are_all_reported() -> None:
    third = OTHER_BLOCK.replace("other@", "third@")
    found = of(lint(ndr((LAST_ATTEMPT, f"{LAST_ATTEMPT}\n{OTHER_BLOCK}\n{third}"))), "MPR-006")
    assert sorted(f.message for f in found) == ["the human-readable part does not name other@example.com",
                                                "the human-readable part does not name third@example.com"]
    assert len({f.where.line for f in found}) == 1


# --- 5. MPR-001: a delivery-status part in a top-level multipart/mixed is no DSN (RFC 3464 §2) ----------

REPORT_TYPE = 'Content-Type: multipart/report; report-type=delivery-status;\n boundary="boundary_X"'
MIXED = (REPORT_TYPE, 'Content-Type: multipart/mixed;\n boundary="boundary_X"')


def test_multipart_mixed_with_a_delivery_status_part_is_an_mpr_001_error_and_no_dsn() -> None:
    result = lint(ndr(MIXED))
    found = of(result, "MPR-001")
    assert [f.severity for f in found] == [Severity.ERROR]
    assert "the top-level type is multipart/mixed, not multipart/report" in found[0].message
    assert "RFC 3464 §2" in found[0].message and "delivery-status part is multipart/mixed" not in found[0].message
    assert result.kind is Kind.BOUNCE and not result.kind.is_dsn
    assert result.verdict.startswith("a bounce that is not an RFC 3464 DSN: the top-level type is multipart/mixed")


def test_multipart_mixed_is_a_warning_under_strict_rfc_and_an_error_where_dsn_was_advertised() -> None:
    assert [f.severity for f in of(lint_bytes(ndr(MIXED), profile=Profile.STRICT_RFC), "MPR-001")] == \
        [Severity.WARNING]
    assert [f.severity for f in of(lint_bytes(ndr(MIXED), profile=Profile.STRICT_RFC, dsn_advertised=True),
                                   "MPR-001")] == [Severity.ERROR]


def test_a_delay_report_in_multipart_mixed_is_a_delay_notice_that_is_no_dsn() -> None:
    result = lint(ndr(MIXED, ("Action: failed\nStatus: 5.1.1", "Action: delayed\nStatus: 4.4.1")))
    assert result.kind is Kind.DELAY_NOTICE and "RFC 3464 DSN reporting" not in result.verdict


FORWARDED = """\
Date: Tue, 01 Dec 2026 10:05:00 +0000
From: postmaster@example.org
To: admin@example.org
Subject: Fwd: Undelivered Mail Returned to Sender
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="fwd"

--fwd
Content-Type: text/plain

The bounce below came back for one of our users.
--fwd
Content-Type: message/rfc822

{report}
--fwd--
"""


@pytest.mark.parametrize("advertised", [None, True, False])
def test_a_report_nested_in_a_forwarded_message_stays_a_warning(advertised: bool | None) -> None:
    raw = FORWARDED.format(report=GOOD).replace("\n", "\r\n").encode()
    result = lint_bytes(raw, dsn_advertised=advertised)
    assert [f.severity for f in of(result, "MPR-001")] == [Severity.WARNING]
    assert "nested inside the top-level multipart/mixed" in of(result, "MPR-001")[0].message
    assert result.kind is Kind.DSN_FAILURE


def test_a_top_level_report_has_no_mpr_001() -> None:
    assert of(lint_bytes(ndr(), dsn_advertised=True, profile=Profile.STRICT_RFC), "MPR-001") == []


# --- 6. DSN-SEM-021: Status against the reply in Diagnostic-Code -------------------------------------------

STATUS = "Status: 5.1.1"
REPLY = "smtp; 550 5.1.1 <nobody@example.com>: user unknown"
TEMPORARY = "smtp; 451 4.3.0 <nobody@example.com>: temporary failure, try later"


@pytest.mark.parametrize("status", ["4.4.7", "5.4.7", "4.4.7 (delivery time expired)"])
def test_a_queue_expiry_status_is_not_held_against_the_last_temporary_reply(status: str) -> None:
    assert of(lint(ndr((STATUS, f"Status: {status}"), (REPLY, TEMPORARY))), "DSN-SEM-021") == []


def test_another_status_than_the_last_reply_said_is_still_dsn_sem_021() -> None:
    found = of(lint(ndr((STATUS, "Status: 4.2.0"), (REPLY, TEMPORARY))), "DSN-SEM-021")
    assert [f.severity for f in found] == [Severity.WARNING] and "4.2.0" in found[0].message


def test_a_generic_status_beside_a_precise_reply_is_dsn_sem_021_info() -> None:
    found = of(lint(ndr((STATUS, "Status: 5.0.0"))), "DSN-SEM-021")
    assert [f.severity for f in found] == [Severity.INFO]
    assert "Status 5.0.0 is generic while the reply 550 5.1.1 was precise" in found[0].message


@pytest.mark.parametrize(("status", "reply"), [
    ("5.1.1", REPLY),
    ("5.1.1", "smtp; 550 5.0.0 <nobody@example.com>: user unknown"),  # the Status refines a generic reply
    ("5.0.0", "smtp; 550 5.0.0 <nobody@example.com>: user unknown"),
])
def test_a_status_that_agrees_with_the_reply_passes(status: str, reply: str) -> None:
    assert of(lint(ndr((STATUS, f"Status: {status}"), (REPLY, reply))), "DSN-SEM-021") == []


# --- 7. DSN-SEM-022: Remote-MTA names the one MTA (RFC 3464 §2.3.5) ----------------------------------------

REMOTE = "Remote-MTA: dns; mx.example.com"


@pytest.mark.parametrize("value", ["dns; a.example, b.example", "dns; a.example b.example",
                                   "dns; [192.0.2.1], [192.0.2.2]", "dns; a.example, [192.0.2.2]"])
def test_a_remote_mta_naming_more_than_one_mta_is_dsn_sem_022(value: str) -> None:
    found = of(lint(ndr((REMOTE, f"Remote-MTA: {value}"))), "DSN-SEM-022")
    assert [f.severity for f in found] == [Severity.ERROR]
    assert repr(value) in found[0].message and "names 2 MTAs" in found[0].message


@pytest.mark.parametrize("value", ["dns; mx.example.com", "DNS; mx.example.com.", "dns; mx.example.com [192.0.2.1]",
                                   "dns; mx.example.com. (192.0.2.1, the server for the domain example.com.)",
                                   "dns; [192.0.2.1]", "X-Unix; local delivery agent"])
def test_a_remote_mta_naming_one_mta_passes(value: str) -> None:
    assert of(lint(ndr((REMOTE, f"Remote-MTA: {value}"))), "DSN-SEM-022") == []


# --- 8. DSN-FMT-012: extension fields end a group (RFC 3464 §2.1 grammar) ----------------------------------

LAST = "Last-Attempt-Date: Tue, 01 Dec 2026 09:59:59 +0000\n"
FINAL = "Final-Recipient: rfc822; nobody@example.com\n"
ARRIVAL = "Arrival-Date: Tue, 01 Dec 2026 09:59:58 +0000\n"


def test_extension_fields_after_the_defined_fields_pass() -> None:
    """Postfix's per-message X-Postfix-* fields and an X-Actual-Recipient at the end of the block."""
    raw = ndr((ARRIVAL, "X-Postfix-Queue-ID: B4FA2166073\nX-Postfix-Sender: rfc822; sender@example.org\n" + ARRIVAL),
              (LAST, LAST + "X-Actual-Recipient: rfc822; nobody@example.com\n"))
    assert lint(raw).findings == []


def test_an_extension_field_between_defined_fields_is_dsn_fmt_012() -> None:
    """Sendmail writes X-Actual-Recipient right after Final-Recipient, before Action."""
    found = of(lint(ndr((FINAL, FINAL + "X-Actual-Recipient: rfc822; nobody@example.com\n"))), "DSN-FMT-012")
    assert [f.severity for f in found] == [Severity.INFO]
    assert "Action (line 25) follows the extension field X-Actual-Recipient (line 24)" in found[0].message
    assert "RFC 3464 §2.1" in found[0].message


def test_defined_fields_out_of_order_name_both() -> None:
    found = of(lint(ndr((FINAL + "Action: failed\n", "Action: failed\n" + FINAL))), "DSN-FMT-012")
    assert [f.message.split(":")[0] for f in found] == ["Final-Recipient (line 24) comes after Action"]


def test_real_postfix_and_sendmail_ndrs_keep_their_extension_fields_unreported() -> None:
    """The lab's Postfix NDRs (X-Postfix-Queue-ID, X-Postfix-Sender per message) get no finding for them."""
    from test_ndr_lint import LAB

    postfix = sorted(LAB.glob("postfix/ndr/*.eml"))
    if not postfix:
        pytest.skip(f"no lab NDRs at {LAB}")
    for path in postfix:
        result = lint_bytes(path.read_bytes())
        assert not [f for f in result.findings if "follows the extension field" in f.message
                    or "X-Postfix-" in f.message], path
        assert not [f for f in result.findings if f.check_id == "DSN-SEM-022" and "MTAs" in f.message], path
