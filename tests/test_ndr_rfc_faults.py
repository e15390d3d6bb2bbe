"""RFC faults seen in third-party NDRs, each on minimal synthetic bytes: the bad form is a finding, the good one is not.

Every test builds its NDR from ``GOOD`` (a clean RFC 3464 DSN) by replacing
one piece, so the finding it expects can come from nothing else.
"""

from __future__ import annotations

import pytest

from conformance.findings import Finding, Severity
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
