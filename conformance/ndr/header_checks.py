"""Checks of an NDR's header section (RFC 5322, RFC 3834, RFC 3464 §2): which fields, how written."""

from __future__ import annotations

import email.utils
import re
from collections.abc import Iterator

from .dates import date_problem
from .dsn_fields import strip_comments
from .hits import Hit
from .message import NDRMessage

#: words by which a reader recognises a delivery report: failure, delay, success, or the report itself
_FAILURE_SUBJECT = re.compile(r"undeliver|fail|return|bounce|delay|not (been )?deliver|delivery (status|notification)"
                              r"|non[- ]?deliver|rejected|warning|error|problem|success|delivered|relayed"
                              r"|deliver(y|ed)?[ -]report|report of delivery|delivery receipt", re.IGNORECASE)
_VENDOR_HINTS = ("x-failed-recipients", "x-ms-exchange-message-is-ndr", "x-postfix-queue-id", "x-postfix-sender")


def header_counts(ndr: NDRMessage) -> Iterator[Hit]:
    """NDR-HDR-001, -006, -007: one Date and one From (RFC 5322 §3.6), a Message-ID, MIME-Version 1.0."""
    for name in ("Date", "From"):
        found = ndr.header(name)
        if len(found) != 1:
            line = found[1].line if len(found) > 1 else 1
            yield Hit("NDR-HDR-001", f"the header has {len(found)} {name} fields; exactly one is required", line)
    if not ndr.header("Message-ID"):
        yield Hit("NDR-HDR-006", "no Message-ID field", 1)
    versions = ndr.header("MIME-Version")
    if not versions or versions[0].value.split("(")[0].strip() != "1.0":
        yield Hit("NDR-HDR-007", "no 'MIME-Version: 1.0' field", versions[0].line if versions else 1)


def header_date(ndr: NDRMessage) -> Iterator[Hit]:
    """NDR-HDR-002: the Date is a valid RFC 5322 date-time."""
    for date in ndr.header("Date")[:1]:
        problem = date_problem(date.value)
        if problem:
            yield Hit("NDR-HDR-002", f"Date {date.value!r}: {problem}", date.line)


#: a From that plainly holds an address (``Name <local@domain>``, ``"Name" <local@domain>``,
#: ``local@domain (Name)``): no full parse needed
_ATOMS = r"[^<>@\s\"(),;:\\]+"
_PLAIN_FROM = re.compile(rf"(?:(?:\"[^\"\\]*\"\s*|[^<>\"(),;:\\]*)<{_ATOMS}@{_ATOMS}>"
                         rf"|{_ATOMS}@{_ATOMS}(?:\s*\([^()\\]*\))?)\s*")


#: how much of a From is handed to the email package's address parser, which is not linear in odd input
#: ("<" 900,000 times took it a second); an address is at most 254 characters (RFC 5321 §4.5.3.1.3)
ADDRESS_FIELD_LIMIT = 4096


def header_from(ndr: NDRMessage) -> Iterator[Hit]:
    """NDR-HDR-005: From gives an address a person can reply to (a human reads the NDR too)."""
    for sender in ndr.header("From")[:1]:
        if _PLAIN_FROM.fullmatch(sender.value):
            continue
        address, nested = _reply_address(sender.value[:ADDRESS_FIELD_LIMIT])
        if not address or sender.value.strip() in ("<>", ""):
            read = (f" in its first {ADDRESS_FIELD_LIMIT} characters (no more is read)"
                    if len(sender.value) > ADDRESS_FIELD_LIMIT else "")
            read += " (its comments nest too deep to be read)" if nested else ""
            yield Hit("NDR-HDR-005", f"From {sender.value!r} gives no address a person could reply to{read}",
                      sender.line, "missing")


def _reply_address(value: str) -> tuple[str, bool]:
    """The address From gives, and whether its comments nested too deep for the stdlib's recursive reader.

    ``email.utils.parseaddr`` recurses once per nested ``(``: a few thousand
    of them raise RecursionError.  Comments never hold the address, so such a
    value is read again with its comments removed in one pass.
    """
    try:
        return email.utils.parseaddr(value)[1], False
    except RecursionError:
        try:
            return email.utils.parseaddr(strip_comments(value))[1], True
        except RecursionError:
            return "", True


def header_auto_submitted(ndr: NDRMessage) -> Iterator[Hit]:
    """NDR-HDR-008, -009: Auto-Submitted: auto-replied, once, so responders stay quiet (RFC 3834)."""
    fields = ndr.header("Auto-Submitted")
    if len(fields) > 1:
        yield Hit("NDR-HDR-008", f"{len(fields)} Auto-Submitted fields; at most one is allowed", fields[1].line,
                  "auto-generated-or-repeated")
    for f in fields[:1]:
        keyword = f.value.split(";")[0].split("(")[0].strip().lower()
        if keyword == "auto-generated":
            yield Hit("NDR-HDR-008", "a DSN must not be labelled 'Auto-Submitted: auto-generated' (use auto-replied)",
                      f.line, "auto-generated-or-repeated")
        if not re.fullmatch(r"[a-z0-9][a-z0-9-]*", keyword):
            yield Hit("NDR-HDR-009", f"Auto-Submitted value {f.value!r} is not a keyword", f.line)
    if not fields:
        yield Hit("NDR-HDR-008", "no Auto-Submitted field (auto-replied helps responders stay quiet)", 1, "absent")


def line_lengths(ndr: NDRMessage) -> Iterator[Hit]:
    """NDR-HDR-012: lines within 998 characters, header lines within 78 (RFC 5322 §2.1.1).

    The header lines are few and read one by one; the body, which may be
    megabytes, is measured line by line without a Python loop.
    """
    long_line = over_78 = None
    lengths = list(map(len, ndr.raw.splitlines()))
    for number, length in enumerate(lengths[:ndr.body_line - 1], start=1):
        if length > 998 and long_line is None:
            long_line = number
        elif length > 78 and over_78 is None:
            over_78 = number
    if long_line is None and lengths and max(lengths) > 998:
        long_line = next(n for n, length in enumerate(lengths, start=1) if length > 998)
    if long_line:
        yield Hit("NDR-HDR-012", "a line is longer than 998 characters", long_line, "over-998")
    if over_78:
        yield Hit("NDR-HDR-012", "a header line is longer than 78 characters", over_78, "over-78")


_FIELD_NAME = re.compile(r"[!-9;-~]+")


def header_names(ndr: NDRMessage) -> Iterator[Hit]:
    """NDR-HDR-013: field names printable ASCII, values 7-bit unless the message is message/global."""
    for h in ndr.headers:
        if not _FIELD_NAME.fullmatch(h.name):
            yield Hit("NDR-HDR-013", f"header field name {h.name[:40]!r} is not printable ASCII without colon", h.line)
        elif not h.raw.isascii() and ndr.message.get_content_type() != "message/global":
            yield Hit("NDR-HDR-013", f"{h.name} has raw 8-bit text; RFC 2047 encoding is required", h.line)


def _quoted_subject(ndr: NDRMessage) -> str:
    """The Subject as judged: the decoded text, and the encoded words it came from when they differ."""
    written = ndr.header("Subject")[0].value
    if ndr.subject == written:
        return repr(written[:60])
    return f"{ndr.subject[:60]!r} (RFC 2047-encoded as {written[:60]!r})"


def header_subject(ndr: NDRMessage) -> Iterator[Hit]:
    """NDR-HDR-010, -011, -015: a Subject a reader recognises, a reference to the original, vendor hints."""
    subjects = ndr.header("Subject")
    if not subjects:
        yield Hit("NDR-HDR-010", "no Subject; a reader cannot tell this is a delivery report", 1)
    elif not _FAILURE_SUBJECT.search(ndr.subject):
        yield Hit("NDR-HDR-010", f"Subject {_quoted_subject(ndr)} does not say it is a delivery report",
                  subjects[0].line)
    if not ndr.header("In-Reply-To") and not ndr.header("References"):
        yield Hit("NDR-HDR-011", "no In-Reply-To or References naming the original message", 1)
    for header in sorted((h for name in _VENDOR_HINTS for h in ndr.header(name)), key=lambda h: h.line):
        yield Hit("NDR-HDR-015", f"vendor header {header.name} (a hint, never required)", header.line)
