"""The static NDR checks (catalogue mode S), one function per concern.

Each check yields ``Hit(check_id, message, line, condition)``; the engine
(lint.py) turns hits into findings with the registry's severity for the
profile.  Checks see a parsed NDRMessage and never raise on odd input: the
parser already turned what it could not read into data.
"""

from __future__ import annotations

import email.utils
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from ..smtp import enhanced
from .dsn_fields import Block, Field
from .message import STATUS_TYPES, NDRMessage, parse_header_section


@dataclass(frozen=True)
class Hit:
    check_id: str
    message: str
    line: int = 0
    condition: str | None = None


NDRCheck = Callable[[NDRMessage], Iterator[Hit]]
DSN_CHECKS: list[NDRCheck] = []
HEADER_CHECKS: list[NDRCheck] = []


def dsn_check(func: NDRCheck) -> NDRCheck:
    DSN_CHECKS.append(func)
    return func


def field_check(func: NDRCheck) -> NDRCheck:
    """A DSN check that reads the delivery-status fields: skipped when there are none."""

    def guarded(ndr: NDRMessage) -> Iterator[Hit]:
        if ndr.status is None:
            return iter(())
        return func(ndr)

    guarded.__name__ = func.__name__
    DSN_CHECKS.append(guarded)
    return func


def header_check(func: NDRCheck) -> NDRCheck:
    HEADER_CHECKS.append(func)
    return func


ACTIONS = ("failed", "delayed", "delivered", "relayed", "expanded")
PER_MESSAGE = {"original-envelope-id", "reporting-mta", "dsn-gateway", "received-from-mta", "arrival-date"}
PER_RECIPIENT = {"original-recipient", "final-recipient", "action", "status", "remote-mta", "diagnostic-code",
                 "last-attempt-date", "final-log-id", "will-retry-until", "localized-diagnostic",
                 "smtp-remote-recipient"}
TYPED = {"reporting-mta", "dsn-gateway", "received-from-mta", "original-recipient", "final-recipient",
         "remote-mta", "diagnostic-code"}
_STATUS = re.compile(r"^\s*([0-9]+\.[0-9]+\.[0-9]+)\s*(\(.*\))?\s*$")
_SMTP_DIAG = re.compile(r"^\s*([2-5][0-9][0-9])[ -]?\s*(?:([245]\.[0-9]{1,3}\.[0-9]{1,3})\b)?")


def _blocks(ndr: NDRMessage) -> list[Block]:
    assert ndr.status is not None
    return ndr.status.recipients


# -- message header ---------------------------------------------------------------

@header_check
def header_counts(ndr: NDRMessage) -> Iterator[Hit]:
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


@header_check
def header_date(ndr: NDRMessage) -> Iterator[Hit]:
    for date in ndr.header("Date")[:1]:
        problem = date_problem(date.value)
        if problem:
            yield Hit("NDR-HDR-002", f"Date {date.value!r}: {problem}", date.line)


@header_check
def header_from(ndr: NDRMessage) -> Iterator[Hit]:
    for sender in ndr.header("From")[:1]:
        _, address = email.utils.parseaddr(sender.value)
        if not address or sender.value.strip() in ("<>", ""):
            yield Hit("NDR-HDR-005", f"From {sender.value!r} gives no address a person could reply to",
                      sender.line, "missing")


@header_check
def header_auto_submitted(ndr: NDRMessage) -> Iterator[Hit]:
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


@header_check
def line_lengths(ndr: NDRMessage) -> Iterator[Hit]:
    long_line = over_78 = None
    for number, line in enumerate(ndr.raw.splitlines(), start=1):
        if len(line) > 998 and long_line is None:
            long_line = number
        elif len(line) > 78 and over_78 is None and number < ndr.body_line:
            over_78 = number
    if long_line:
        yield Hit("NDR-HDR-012", "a line is longer than 998 characters", long_line, "over-998")
    if over_78:
        yield Hit("NDR-HDR-012", "a header line is longer than 78 characters", over_78, "over-78")


@header_check
def header_names(ndr: NDRMessage) -> Iterator[Hit]:
    for h in ndr.headers:
        if not re.fullmatch(r"[!-9;-~]+", h.name):
            yield Hit("NDR-HDR-013", f"header field name {h.name[:40]!r} is not printable ASCII without colon", h.line)
        elif not h.raw.isascii() and ndr.message.get_content_type() != "message/global":
            yield Hit("NDR-HDR-013", f"{h.name} has raw 8-bit text; RFC 2047 encoding is required", h.line)


# -- multipart/report structure -------------------------------------------------------

@dsn_check
def report_structure(ndr: NDRMessage) -> Iterator[Hit]:
    if ndr.content_type != "multipart/report":
        what = "nested inside " + ndr.content_type if ndr.status_nested else ndr.content_type
        yield Hit("MPR-001", f"the delivery-status part is {what}; a DSN's top-level type is multipart/report",
                  1, "otherwise")
        return
    report_type = ndr.message.get_param("report-type")
    if not ndr.boundary or report_type is None:
        missing = [n for n, v in (("boundary", ndr.boundary), ("report-type", report_type)) if not v]
        yield Hit("MPR-002", f"multipart/report lacks the {' and '.join(missing)} parameter", 1)
    if report_type is not None:
        value = str(report_type).lower()
        second = ndr.parts[1].content_type if len(ndr.parts) > 1 else ""
        if value not in ("delivery-status", "global-delivery-status"):
            yield Hit("MPR-003", f"report-type is {report_type!r}, not delivery-status", 1, "other-value")
        elif second in STATUS_TYPES and value != second.split("/")[1]:
            yield Hit("MPR-003", f"report-type {report_type!r} does not name the second part's {second}", 1,
                      "global-mismatch")
    if not 2 <= len(ndr.parts) <= 3:
        yield Hit("MPR-004", f"multipart/report has {len(ndr.parts)} parts; it needs two or three", 1)
    if ndr.parts:
        first = ndr.parts[0]
        if first.content_type in STATUS_TYPES or not (first.content_type.startswith("text/")
                                                      or first.content_type.startswith("multipart/")):
            yield Hit("MPR-005", f"the first part is {first.content_type}, not a human-readable explanation",
                      first.line, "missing")
        elif first.content_type == "text/html":
            yield Hit("MPR-005", "the human-readable part is HTML only", first.line, "html-only")
    if len(ndr.parts) >= 2:
        status_slot = ndr.parts[1]
        if status_slot.content_type not in STATUS_TYPES:
            label = status_slot.content_type if status_slot.has_content_type else "text/plain (no Content-Type)"
            yield Hit("MPR-007", f"the second part is {label}, not message/delivery-status", status_slot.line)
    if len(ndr.parts) >= 3:
        third = ndr.parts[2]
        fitting = ("message/rfc822", "text/rfc822-headers", "message/global", "message/global-headers")
        if third.content_type in STATUS_TYPES or third.content_type.startswith("multipart/report"):
            yield Hit("MPR-011", f"the third part is {third.content_type}, which is not returned content",
                      third.line, "non-content-type")
        elif third.content_type not in fitting:
            yield Hit("MPR-011", f"the returned content is {third.content_type}; use message/rfc822 or "
                      "text/rfc822-headers", third.line, "other-type")
    cte = str(ndr.message.get("Content-Transfer-Encoding", "")).strip().lower()
    if cte and cte not in ("7bit", "8bit", "binary"):
        yield Hit("MPR-009", f"a multipart entity has Content-Transfer-Encoding {cte}", 1)
    if ndr.boundary is not None:
        if not re.fullmatch(r"[0-9A-Za-z'()+_,\-./:=? ]{0,69}[0-9A-Za-z'()+_,\-./:=?]", ndr.boundary):
            yield Hit("MPR-010", f"boundary {ndr.boundary!r} is not 1 to 70 allowed characters", 1)
        if not ndr.closing_delimiter:
            yield Hit("MPR-010", "the closing boundary delimiter is missing", len(ndr.raw.splitlines()) or 1)
    if ndr.preamble.strip() and not ndr.parts:
        yield Hit("MPR-013", "all text is in the preamble, which MIME readers ignore", ndr.body_line)


@dsn_check
def status_part_encoding(ndr: NDRMessage) -> Iterator[Hit]:
    part = ndr.status_part
    if part is None or part.content_type != "message/delivery-status":
        return
    cte = part.transfer_encoding
    if cte and cte not in ("7bit", "8bit", "binary"):
        yield Hit("MPR-008", f"message/delivery-status is sent with {cte}; it must be 7bit", part.line)
    if not part.body.isascii():
        yield Hit("MPR-008", "message/delivery-status contains 8-bit octets", part.body_line)
    params = [k for k, _ in (part.message.get_params() or [])[1:]]
    if params:
        yield Hit("MPR-008", f"message/delivery-status defines no parameters ({', '.join(params)} given)",
                  part.line, "parameters")


# -- delivery-status fields ---------------------------------------------------------

@field_check
def body_grammar(ndr: NDRMessage) -> Iterator[Hit]:
    status = ndr.status
    assert status is not None
    for problem in status.problems:
        yield Hit("DSN-FMT-001", problem.message, problem.line, "unparsable")
    if not status.recipients:
        yield Hit("DSN-FMT-001", "no per-recipient block after the per-message block",
                  status.per_message.line, "unparsable")
    for line in status.extra_blank_lines[:1]:
        yield Hit("DSN-SEM-031", "extra blank line between blocks", line)
    for block in status.recipients:
        if not block.first("final-recipient") and block.fields and not (
                {f.key for f in block.fields} & {"original-recipient"}):
            yield Hit("DSN-SEM-031", "a block without Final-Recipient: a blank line may split one recipient's "
                      "fields into two blocks", block.line)
    keys = {f.key for f in status.per_message.fields}
    if keys & {"final-recipient", "action", "status"}:
        yield Hit("DSN-FMT-001", "per-recipient fields appear in the per-message block (no blank line after it?)",
                  status.per_message.line, "unparsable")


@field_check
def duplicates(ndr: NDRMessage) -> Iterator[Hit]:
    assert ndr.status is not None
    yield from _dupes(ndr.status.per_message, "DSN-FMT-002", PER_MESSAGE)
    for block in ndr.status.recipients:
        yield from _dupes(block, "DSN-FMT-011", PER_RECIPIENT - {"localized-diagnostic"})


def _dupes(block: Block, check_id: str, names: set[str]) -> Iterator[Hit]:
    seen: set[str] = set()
    for f in block.fields:
        if f.key in names and f.key in seen:
            yield Hit(check_id, f"{f.name} appears more than once in one block", f.line)
        seen.add(f.key)


@field_check
def typed_fields(ndr: NDRMessage) -> Iterator[Hit]:
    assert ndr.status is not None
    for block in [ndr.status.per_message, *ndr.status.recipients]:
        for f in block.fields:
            if f.key not in TYPED:
                continue
            kind, _value = f.typed()
            if kind is None or not re.fullmatch(r"[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~.]+", kind or ""):
                yield Hit("DSN-FMT-003", f"{f.name}: {f.value!r} lacks the 'type;' prefix", f.line, "missing-type")
            elif kind.lower().startswith("x-"):
                yield Hit("DSN-FMT-003", f"{f.name} uses the experimental type {kind}", f.line, "x-type")


@field_check
def reporting_mta(ndr: NDRMessage) -> Iterator[Hit]:
    assert ndr.status is not None
    field_ = ndr.status.per_message.first("reporting-mta")
    if field_ is None:
        yield Hit("DSN-FMT-004", "no Reporting-MTA field", ndr.status.per_message.line)
        return
    kind, name = field_.typed()
    if (kind or "").lower() == "dns":
        host = name.strip()
        if re.fullmatch(r"[0-9.]+|[0-9a-fA-F:]+", host) or "." not in host:
            yield Hit("DSN-SEM-005", f"Reporting-MTA dns; {host!r} is not a fully qualified domain name",
                      field_.line, "dns-not-fqdn")


@field_check
def recipient_fields(ndr: NDRMessage) -> Iterator[Hit]:
    for block in _blocks(ndr):
        final = block.first("final-recipient")
        if final is None:
            yield Hit("DSN-FMT-013", "a recipient block has no Final-Recipient", block.line)
        action = block.first("action")
        if action is None:
            yield Hit("DSN-FMT-016", "a recipient block has no Action", block.line)
        elif action.bare.lower() not in ACTIONS:
            yield Hit("DSN-FMT-016", f"Action {action.bare!r} is not one of {', '.join(ACTIONS)}", action.line)
        status = block.first("status")
        code = None
        if status is None:
            yield Hit("DSN-FMT-017", "a recipient block has no Status", block.line)
        else:
            match = _STATUS.match(status.value)
            problem = enhanced.syntax_error(match.group(1)) if match else f"{status.value!r} is not class.subject.detail"
            if problem:
                yield Hit("DSN-FMT-017", f"Status: {problem}", status.line)
            else:
                code = match.group(1) if match else None
        if code:
            yield from _registry_hits(code, status.line if status else block.line)
        if action is not None and code and action.bare.lower() in ACTIONS:
            yield from _action_status(action.bare.lower(), code, action.line)
        if action is not None and action.bare.lower() != "delayed" and block.first("will-retry-until"):
            yield Hit("DSN-FMT-024", "Will-Retry-Until appears in a block whose Action is not delayed",
                      block.first("will-retry-until").line)  # type: ignore[union-attr]
        yield from _diagnostic(block, code)
        for f in block.fields:
            if f.key in ("last-attempt-date", "will-retry-until"):
                problem = date_problem(f.bare, numeric_zone=True)
                if problem:
                    yield Hit("DSN-FMT-023" if f.key == "last-attempt-date" else "DSN-FMT-024",
                              f"{f.name} {f.value!r}: {problem}", f.line)
            if f.key not in PER_RECIPIENT and not f.key.startswith("x-"):
                yield Hit("DSN-FMT-027", f"unknown field {f.name} (not registered, not X-)", f.line, "unknown-name")
    assert ndr.status is not None
    for f in ndr.status.per_message.fields:
        if f.key == "arrival-date":
            problem = date_problem(f.bare, numeric_zone=True)
            if problem:
                yield Hit("DSN-FMT-010", f"Arrival-Date {f.value!r}: {problem}", f.line)
        elif f.key not in PER_MESSAGE and f.key not in PER_RECIPIENT and not f.key.startswith("x-"):
            yield Hit("DSN-FMT-027", f"unknown field {f.name} (not registered, not X-)", f.line, "unknown-name")
    blocks = _blocks(ndr)
    if ndr.status.per_message.first("reporting-mta") is None or not blocks or any(
            not (b.first("final-recipient") and b.first("action") and b.first("status")) for b in blocks):
        yield Hit("DSN-SEM-028", "below the minimum content: Reporting-MTA, and per recipient Final-Recipient, "
                  "Action and Status", ndr.status.per_message.line)


def _registry_hits(code: str, line: int) -> Iterator[Hit]:
    row = enhanced.lookup(code)
    if row is None:
        yield Hit("ESC-006", f"Status {code} is not in the IANA registry", line, "unregistered")
    elif row.deprecated:
        yield Hit("ESC-006", f"Status {code} is registered only as deprecated", line, "deprecated")


def _action_status(action: str, code: str, line: int) -> Iterator[Hit]:
    klass = code[0]
    contradiction = ((action == "failed" and klass == "2") or (action == "delayed" and klass == "2")
                     or (action in ("delivered", "expanded") and klass in "45"))
    if contradiction:
        yield Hit("DSN-SEM-018", f"Action {action} contradicts Status {code}", line, "contradiction")
    elif (action == "delayed" and klass == "5") or (action == "relayed" and klass in "45"):
        yield Hit("DSN-SEM-018", f"Action {action} with Status {code} is unusual", line, "unusual")


def _diagnostic(block: Block, status: str | None) -> Iterator[Hit]:
    diag: Field | None = block.first("diagnostic-code")
    if diag is None:
        return
    kind, text = diag.typed()
    if (kind or "").lower() != "smtp":
        return
    match = _SMTP_DIAG.match(text)
    if not match:
        return
    reply, esc = match.group(1), match.group(2)
    if esc and esc[0] != reply[0]:
        yield Hit("ESC-003", f"Diagnostic-Code {reply} carries enhanced code {esc} of another class", diag.line)
    if status and reply[0] == "5" and status[0] == "4":
        yield Hit("DSN-SEM-021", f"Diagnostic-Code {reply} (permanent) under Status {status} (temporary)", diag.line)
    elif status and esc and status != esc:
        if status.endswith(".0.0"):
            yield Hit("DSN-SEM-021", f"Status {status} is generic while the reply said {esc}", diag.line,
                      "generic-status")
        elif status[0] == esc[0]:
            yield Hit("DSN-SEM-021", f"Status {status} differs from the reply's enhanced code {esc}", diag.line)


def date_problem(value: str, numeric_zone: bool = False) -> str | None:
    """Why *value* is not a usable RFC 5322 date-time, or None."""
    text = re.sub(r"\([^)]*\)", "", value).strip()
    try:
        parsed = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        return "not an RFC 5322 date-time"
    if parsed is None:
        return "not an RFC 5322 date-time"
    zone = text.split()[-1] if text.split() else ""
    if numeric_zone and not re.fullmatch(r"[+-][0-9]{4}", zone):
        return f"the zone {zone!r} is not numeric"
    if re.match(r"^\s*(?:[A-Za-z]{3},\s*)?\d{1,2}\s+\w+\s+\d{2}\s", text):
        return "two-digit year (obsolete form)"
    match = re.match(r"^\s*([A-Za-z]{3}),", text)
    if match and match.group(1).title() != parsed.strftime("%a"):
        return f"{match.group(1)} is not the weekday of that date ({parsed.strftime('%a')})"
    return None


# -- further header checks -------------------------------------------------------------

_FAILURE_SUBJECT = re.compile(r"undeliver|fail|return|bounce|delay|not (been )?deliver|delivery (status|notification)"
                              r"|non-?deliver|rejected|warning|error|problem|success|delivered|relayed", re.IGNORECASE)
_VENDOR_HINTS = ("x-failed-recipients", "x-ms-exchange-message-is-ndr", "x-postfix-queue-id", "x-postfix-sender")


@header_check
def header_subject(ndr: NDRMessage) -> Iterator[Hit]:
    subjects = ndr.header("Subject")
    if not subjects:
        yield Hit("NDR-HDR-010", "no Subject; a reader cannot tell this is a delivery report", 1)
    elif not _FAILURE_SUBJECT.search(subjects[0].value):
        yield Hit("NDR-HDR-010", f"Subject {subjects[0].value[:60]!r} does not say it is a delivery report",
                  subjects[0].line)
    if not ndr.header("In-Reply-To") and not ndr.header("References"):
        yield Hit("NDR-HDR-011", "no In-Reply-To or References naming the original message", 1)
    for header in ndr.headers:
        if header.name.lower() in _VENDOR_HINTS:
            yield Hit("NDR-HDR-015", f"vendor header {header.name} (a hint, never required)", header.line)


# -- further structure and content checks ----------------------------------------------

@dsn_check
def preamble_and_human_text(ndr: NDRMessage) -> Iterator[Hit]:  # the status may be absent here
    if ndr.preamble.strip() and ndr.parts:
        yield Hit("MPR-013", "the preamble has text, which MIME readers ignore (it is not the human-readable part)",
                  ndr.body_line)
    if ndr.parts and ndr.parts[0].content_type.startswith("text/") and ndr.status is not None:
        human = ndr.parts[0].decoded_body().decode("utf-8", "replace").lower()
        for block in ndr.status.recipients:
            final = block.first("final-recipient")
            if final is None:
                continue
            address = final.typed()[1].strip("<> ").lower()
            if address and address not in human:
                yield Hit("MPR-006", f"the human-readable part does not name {address}", ndr.parts[0].body_line)


@dsn_check
def returned_content(ndr: NDRMessage) -> Iterator[Hit]:
    if len(ndr.parts) < 3:
        yield Hit("RET-009", "no returned content (the third part is optional)", 1)
        return
    third = ndr.parts[2]
    body = third.decoded_body()
    if third.content_type in ("message/rfc822", "message/global"):
        if third.transfer_encoding not in ("", "7bit", "8bit", "binary"):
            yield Hit("RET-006", f"{third.content_type} is encoded as a whole with {third.transfer_encoding}",
                      third.line)
        lines = re.split(rb"\r\n|\n|\r", body.strip(b"\r\n"))
        has_blank = any(not line.strip() for line in lines[1:])
        if not has_blank:
            yield Hit("RET-005", f"{third.content_type} holds only a header; a header-only return is "
                      "text/rfc822-headers", third.line)
        else:
            inner = parse_header_section(body.lstrip(b"\r\n"))
            boundary = inner.get_param("boundary") if inner.get_content_maintype() == "multipart" else None
            if boundary and f"--{boundary}--".encode() not in body:
                yield Hit("RET-010", "the returned message is cut off: its MIME structure never closes",
                          third.line)
    if third.content_type == "text/rfc822-headers" and re.search(rb"\r?\n\r?\n\S", body.strip(b"\r\n")):
        yield Hit("RET-005", "text/rfc822-headers contains more than a header section", third.line)
    if third.content_type == "message/global-headers" and third.message.get_param("charset"):
        yield Hit("I18N-010", "message/global-headers carries a charset parameter", third.line)


@field_check
def status_registry_and_hints(ndr: NDRMessage) -> Iterator[Hit]:
    for block in _blocks(ndr):
        status = block.first("status")
        match = _STATUS.match(status.value) if status else None
        if status is None or match is None:
            if status is not None:
                yield Hit("ESC-001", f"Status {status.value!r} is not an enhanced status code", status.line)
            continue
        code = match.group(1)
        problem = enhanced.syntax_error(code)
        if problem:
            yield Hit("ESC-001", f"Status: {problem}", status.line)
            continue
        detail = code.split(".", 1)[1]
        if code[0] == "4" and detail in enhanced.PERMANENT_ONLY:
            yield Hit("ESC-008", f"Status {code}: X.{detail} is only useful as a permanent failure", status.line,
                      "contested")
        if code[0] == "5" and detail in enhanced.TRANSIENT_ONLY:
            yield Hit("ESC-008", f"Status {code}: X.{detail} is meant as transient", status.line, "contested")
        if detail == "1.10":
            yield Hit("ESC-010", "X.1.10 means 'recipient address has null MX' in the registry, while Exchange "
                      "Online uses it for 'recipient not found'", status.line)


_ORDER = ["original-recipient", "final-recipient", "action", "status", "remote-mta", "diagnostic-code",
          "last-attempt-date", "final-log-id", "will-retry-until"]


@field_check
def field_details(ndr: NDRMessage) -> Iterator[Hit]:
    assert ndr.status is not None
    gateway = ndr.status.per_message.first("dsn-gateway")
    if gateway is not None and (ndr.status.per_message.first("reporting-mta") or Field("", "", 0)).typed()[0] == "dns":
        yield Hit("DSN-FMT-008", "DSN-Gateway in a DSN whose Reporting-MTA is an Internet (dns) MTA", gateway.line)
    for block in _blocks(ndr):
        positions = [_ORDER.index(f.key) for f in block.fields if f.key in _ORDER]
        if positions != sorted(positions):
            yield Hit("DSN-FMT-012", "per-recipient fields are not in the RFC 3464 grammar order", block.line)
        log_id = block.first("final-log-id")
        if log_id is not None and not log_id.value:
            yield Hit("DSN-FMT-026", "Final-Log-ID is empty", log_id.line)
        remote = block.first("remote-mta")
        if remote is not None:
            kind, host = remote.typed()
            if (kind or "").lower() == "dns" and re.fullmatch(r"[0-9.]+|[0-9a-fA-F:]+", host.strip()):
                yield Hit("DSN-SEM-022", f"Remote-MTA dns; {host.strip()} is a bare IP address, not a domain name "
                          "(use a [bracketed] literal)", remote.line, "bare-ip")
        diag = block.first("diagnostic-code")
        if diag is not None:
            kind, text = diag.typed()
            if (kind or "").lower() == "smtp" and not re.match(r"^\s*[2-5][0-9][0-9]", text):
                yield Hit("DSN-SEM-020", f"an smtp Diagnostic-Code must transcribe the reply, starting with its "
                          f"code: {text[:60]!r}", diag.line)
            if not diag.value.isascii():
                yield Hit("I18N-007", "Diagnostic-Code text is not plain ASCII (i-default)", diag.line)
        localized = block.get("localized-diagnostic")
        tags = [f.value.split(";", 1)[0].strip().lower() for f in localized]
        if localized and (any(not t or ";" not in f.value for t, f in zip(tags, localized))
                          or len(set(tags)) != len(tags)):
            yield Hit("I18N-006", "Localized-Diagnostic fields need a language tag each, all different",
                      localized[0].line)
        for f in block.fields:
            if f.key in ("final-recipient", "original-recipient"):
                yield from _address_forms(ndr, f)
    yield from _time_sanity(ndr)


_UTF8_ESCAPE = re.compile(r"\\x\{([0-9A-Fa-f]+)\}")


def _address_forms(ndr: NDRMessage, f: Field) -> Iterator[Hit]:
    kind, address = f.typed()
    global_status = ndr.status_part is not None and ndr.status_part.content_type == "message/global-delivery-status"
    if not global_status and not address.isascii():
        yield Hit("I18N-003", f"{f.name} carries a raw UTF-8 address in message/delivery-status; use the "
                  "utf-8 type with \\x{HEX} escapes", f.line)
    for match in _UTF8_ESCAPE.finditer(address):
        digits = match.group(1)
        point = int(digits, 16)
        if not 2 <= len(digits) <= 6 or point > 0x10FFFF or 0xD800 <= point <= 0xDFFF:
            yield Hit("I18N-004", f"{f.name}: \\x{{{digits}}} is not a valid code point escape", f.line)
    if global_status and "\\x{" in address and (kind or "").lower() == "utf-8":
        yield Hit("I18N-005", f"{f.name}: message/global-delivery-status should carry the plain UTF-8 address",
                  f.line)


def _time_sanity(ndr: NDRMessage) -> Iterator[Hit]:
    assert ndr.status is not None

    def when(field_: Field | None):  # type: ignore[no-untyped-def]
        if field_ is None:
            return None
        try:
            value = email.utils.parsedate_to_datetime(re.sub(r"\([^)]*\)", "", field_.value).strip())
        except (TypeError, ValueError, IndexError, OverflowError):
            return None
        return value if value is not None and value.tzinfo is not None else None

    arrival = when(ndr.status.per_message.first("arrival-date"))
    dates = ndr.header("Date")
    sent = when(Field("Date", dates[0].value, dates[0].line)) if dates else None
    for block in _blocks(ndr):
        attempt = when(block.first("last-attempt-date"))
        retry = when(block.first("will-retry-until"))
        line = block.line
        if arrival and attempt and arrival > attempt:
            yield Hit("DSN-SEM-025", "Arrival-Date is after Last-Attempt-Date", line)
        for label, moment in (("Arrival-Date", arrival), ("Last-Attempt-Date", attempt)):
            if moment and sent and moment > sent + __import__("datetime").timedelta(minutes=5):
                yield Hit("DSN-SEM-025", f"{label} is after the NDR's own Date", line)
        if retry and (arrival and retry < arrival or attempt and retry < attempt):
            yield Hit("DSN-SEM-025", "Will-Retry-Until is earlier than the dates it should follow", line)


@dsn_check
def global_types(ndr: NDRMessage) -> Iterator[Hit]:
    part = ndr.status_part
    if part is None or part.content_type != "message/global-delivery-status":
        return
    if part.transfer_encoding in ("base64", "quoted-printable"):
        yield Hit("I18N-009", "message/global-delivery-status is transfer-encoded (8bit expected unless the path "
                  "is 7-bit)", part.line, "encoded")
    elif part.transfer_encoding in ("", "7bit") and not part.body.isascii():
        yield Hit("I18N-009", "message/global-delivery-status is labelled 7bit but carries 8-bit octets",
                  part.line, "mislabelled-7bit")
    if ndr.raw.isascii():
        yield Hit("I18N-011", "everything is ASCII: the traditional message/delivery-status would do", part.line)
    if any(p.content_type in ("message/rfc822", "text/rfc822-headers") for p in ndr.parts):
        yield Hit("I18N-008", "global and traditional types are mixed (valid; readers must accept it)", part.line,
                  "parser")
