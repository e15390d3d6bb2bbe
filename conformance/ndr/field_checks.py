"""Checks of the delivery-status fields (RFC 3464 §2.2-2.3): grammar, presence, values, order.

The Status code itself is status_checks.py's; these checks see the fields as
the project's parser kept them (blocks, order, duplicates, line numbers).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from ..smtp import enhanced
from .dates import dsn_date_problem, utc_seconds
from .dsn_fields import Block, Field, strip_comments
from .hits import Hit, blocks
from .message import NDRMessage
from .status_checks import STATUS_VALUE, action_status, diagnostic_hits, registry_hits

ACTIONS = ("failed", "delayed", "delivered", "relayed", "expanded")
PER_MESSAGE = {"original-envelope-id", "reporting-mta", "dsn-gateway", "received-from-mta", "arrival-date"}
PER_RECIPIENT = {"original-recipient", "final-recipient", "action", "status", "remote-mta", "diagnostic-code",
                 "last-attempt-date", "final-log-id", "will-retry-until", "localized-diagnostic",
                 "smtp-remote-recipient"}
TYPED = {"reporting-mta", "dsn-gateway", "received-from-mta", "original-recipient", "final-recipient",
         "remote-mta", "diagnostic-code"}
_ORDER = ["original-recipient", "final-recipient", "action", "status", "remote-mta", "diagnostic-code",
          "last-attempt-date", "final-log-id", "will-retry-until"]
_RANK = {key: rank for rank, key in enumerate(_ORDER)}
#: the same fields as RFC 3464 spells them
_NAMES = ["Original-Recipient", "Final-Recipient", "Action", "Status", "Remote-MTA", "Diagnostic-Code",
          "Last-Attempt-Date", "Final-Log-ID", "Will-Retry-Until"]
_UTF8_ESCAPE = re.compile(r"\\x\{([0-9A-Fa-f]+)\}")
#: seconds a field date may run ahead of the NDR's own Date before DSN-SEM-025 says it is after it
_DATE_SLACK = 300.0


def body_grammar(ndr: NDRMessage) -> Iterator[Hit]:
    """DSN-FMT-001, DSN-SEM-031: the fields parse into a per-message block and recipient blocks."""
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


def duplicates(ndr: NDRMessage) -> Iterator[Hit]:
    """DSN-FMT-002, -011: no field twice in one block (Localized-Diagnostic may repeat per language)."""
    assert ndr.status is not None
    yield from _dupes(ndr.status.per_message, "DSN-FMT-002", PER_MESSAGE)
    for block in ndr.status.recipients:
        yield from _dupes(block, "DSN-FMT-011", PER_RECIPIENT - {"localized-diagnostic"})


def _dupes(block: Block, check_id: str, names: set[str]) -> Iterator[Hit]:
    """The fields of *block* among *names* that appear a second time."""
    seen: set[str] = set()
    for f in block.fields:
        if f.key in names and f.key in seen:
            yield Hit(check_id, f"{f.name} appears more than once in one block", f.line)
        seen.add(f.key)


def typed_fields(ndr: NDRMessage) -> Iterator[Hit]:
    """DSN-FMT-003: typed fields carry their 'type;' prefix, and no experimental X- type."""
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


def reporting_mta(ndr: NDRMessage) -> Iterator[Hit]:
    """DSN-FMT-004, DSN-SEM-005: a Reporting-MTA, named by a fully qualified domain name."""
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


def recipient_fields(ndr: NDRMessage) -> Iterator[Hit]:
    """Each recipient block's fields, then the per-message fields, then the minimum content (DSN-SEM-028)."""
    for block in blocks(ndr):
        yield from _recipient_block(block)
    yield from _per_message_fields(ndr)
    yield from _minimum_content(ndr)


def _recipient_block(block: Block) -> Iterator[Hit]:
    """Final-Recipient, Action and Status present and well-formed, and agreeing; dates; field names."""
    if block.first("final-recipient") is None:
        yield Hit("DSN-FMT-013", "a recipient block has no Final-Recipient", block.line)
    action = block.first("action")
    if action is None:
        yield Hit("DSN-FMT-016", "a recipient block has no Action", block.line)
    elif action.bare.lower() not in ACTIONS:
        yield Hit("DSN-FMT-016", f"Action {action.bare!r} is not one of {', '.join(ACTIONS)}", action.line)
    code, problem = _status_code(block)
    if problem is not None:
        yield problem
    if code:
        status = block.first("status")
        yield from registry_hits(code, status.line if status else block.line)
    if action is not None and code and action.bare.lower() in ACTIONS:
        yield from action_status(action.bare.lower(), code, action.line)
    retry = block.first("will-retry-until")
    if action is not None and action.bare.lower() != "delayed" and retry:
        yield Hit("DSN-FMT-024", "Will-Retry-Until appears in a block whose Action is not delayed", retry.line)
    yield from diagnostic_hits(block, code)
    for f in block.fields:
        if f.key in ("last-attempt-date", "will-retry-until"):
            dated = dsn_date_problem(f.bare)
            if dated:
                yield Hit("DSN-FMT-023" if f.key == "last-attempt-date" else "DSN-FMT-024",
                          f"{f.name} {f.value!r}: {dated[0]}", f.line, dated[1])
        if f.key not in PER_RECIPIENT and not f.key.startswith("x-"):
            yield Hit("DSN-FMT-027", f"unknown field {f.name} (not registered, not X-)", f.line, "unknown-name")


def _status_code(block: Block) -> tuple[str | None, Hit | None]:
    """The block's Status code when it is well-formed, else the DSN-FMT-017 hit that says why not."""
    status = block.first("status")
    if status is None:
        return None, Hit("DSN-FMT-017", "a recipient block has no Status", block.line)
    match = STATUS_VALUE.match(status.value)
    problem = enhanced.syntax_error(match.group(1)) if match else f"{status.value!r} is not class.subject.detail"
    if problem:
        return None, Hit("DSN-FMT-017", f"Status: {problem}", status.line)
    return (match.group(1) if match else None), None


def _per_message_fields(ndr: NDRMessage) -> Iterator[Hit]:
    """Arrival-Date's form and unknown field names in the per-message block."""
    assert ndr.status is not None
    for f in ndr.status.per_message.fields:
        if f.key == "arrival-date":
            problem = dsn_date_problem(f.bare)
            if problem:
                yield Hit("DSN-FMT-010", f"Arrival-Date {f.value!r}: {problem[0]}", f.line, problem[1])
        elif f.key not in PER_MESSAGE and f.key not in PER_RECIPIENT and not f.key.startswith("x-"):
            yield Hit("DSN-FMT-027", f"unknown field {f.name} (not registered, not X-)", f.line, "unknown-name")


def _minimum_content(ndr: NDRMessage) -> Iterator[Hit]:
    """DSN-SEM-028: Reporting-MTA, and per recipient Final-Recipient, Action and Status."""
    assert ndr.status is not None
    found = blocks(ndr)
    if ndr.status.per_message.first("reporting-mta") is None or not found or any(
            not (b.first("final-recipient") and b.first("action") and b.first("status")) for b in found):
        yield Hit("DSN-SEM-028", "below the minimum content: Reporting-MTA, and per recipient Final-Recipient, "
                  "Action and Status", ndr.status.per_message.line)


def field_details(ndr: NDRMessage) -> Iterator[Hit]:
    """Field-level details: DSN-Gateway, order, Final-Log-ID, Remote-MTA, Diagnostic-Code, i18n, dates."""
    assert ndr.status is not None
    gateway = ndr.status.per_message.first("dsn-gateway")
    if gateway is not None and (ndr.status.per_message.first("reporting-mta") or Field("", "", 0)).typed()[0] == "dns":
        yield Hit("DSN-FMT-008", "DSN-Gateway in a DSN whose Reporting-MTA is an Internet (dns) MTA", gateway.line)
    for block in blocks(ndr):
        yield from _field_order(block)
        log_id = block.first("final-log-id")
        if log_id is not None and not log_id.value:
            yield Hit("DSN-FMT-026", "Final-Log-ID is empty", log_id.line)
        remote = block.first("remote-mta")
        if remote is not None:
            yield from _remote_mta(remote)
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
        if localized and (any(not t or ";" not in f.value for t, f in zip(tags, localized, strict=False))
                          or len(set(tags)) != len(tags)):
            yield Hit("I18N-006", "Localized-Diagnostic fields need a language tag each, all different",
                      localized[0].line)
        for f in block.fields:
            if f.key in ("final-recipient", "original-recipient"):
                yield from _address_forms(ndr, f)
    yield from _time_sanity(ndr)


def _field_order(block: Block) -> Iterator[Hit]:
    """DSN-FMT-012: a block's fields in the order of RFC 3464 §2.1's per-recipient-fields grammar.

    The grammar ends each group with ``*( extension-field CRLF )``: extension
    fields (X-Actual-Recipient and other names it does not define) may follow
    the defined fields, not stand between them.  Fields that later RFCs added
    (Localized-Diagnostic) are left out of the comparison.  The first fault is
    said, once per block.
    """
    latest: Field | None = None  # the defined field furthest along the grammar so far
    extension: Field | None = None  # the first extension field so far
    for f in block.fields:
        rank = _RANK.get(f.key)
        if rank is None:
            if extension is None and f.key not in PER_RECIPIENT:
                extension = f
            continue
        if extension is not None:
            yield Hit("DSN-FMT-012", f"{f.name} (line {f.line}) follows the extension field {extension.name} "
                      f"(line {extension.line}): the RFC 3464 §2.1 grammar puts extension fields after the "
                      "per-recipient fields it defines", block.line)
            return
        if latest is not None and rank < _RANK[latest.key]:
            yield Hit("DSN-FMT-012", f"{f.name} (line {f.line}) comes after {latest.name}: the RFC 3464 §2.1 "
                      f"grammar orders {', '.join(_NAMES)}, then extension fields", block.line)
            return
        latest = f if latest is None or rank > _RANK[latest.key] else latest


def _remote_mta(remote: Field) -> Iterator[Hit]:
    """DSN-SEM-022: a dns Remote-MTA names one MTA (RFC 3464 §2.3.5), by a domain name, not a bare IP.

    A name with its address literal beside it (``mx.example.com
    [192.0.2.1]``) is still one MTA; a list (``a.example, b.example``) or two
    names are not.  Comments are not names.
    """
    kind, host = remote.typed()
    if (kind or "").lower() != "dns":
        return
    if re.fullmatch(r"[0-9.]+|[0-9a-fA-F:]+", host.strip()):
        yield Hit("DSN-SEM-022", f"Remote-MTA dns; {host.strip()} is a bare IP address, not a domain name "
                  "(use a [bracketed] literal)", remote.line, "bare-ip")
        return
    name = strip_comments(host).strip()
    names = [n for n in re.split(r"[\s,]+", name) if n]
    one_with_literal = len(names) == 2 and names[1].startswith("[") and not names[0].startswith("[")
    if len(names) > 1 and ("," in name or not one_with_literal):
        yield Hit("DSN-SEM-022", f"Remote-MTA {remote.value!r} names {len(names)} MTAs "
                  f"({', '.join(names)}); RFC 3464 §2.3.5 gives the one MTA that reported the delivery "
                  "status", remote.line)


def _address_forms(ndr: NDRMessage, f: Field) -> Iterator[Hit]:
    """I18N-003 to -005: how a non-ASCII address is written in each delivery-status type."""
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
    """DSN-SEM-025: the dates of a DSN in the order events happen (a zone-less or invalid date is not compared)."""
    assert ndr.status is not None

    def when(field_: Field | None) -> float | None:
        return None if field_ is None else utc_seconds(field_.value)

    arrival = when(ndr.status.per_message.first("arrival-date"))
    dates = ndr.header("Date")
    sent = when(Field("Date", dates[0].value, dates[0].line)) if dates else None
    for block in blocks(ndr):
        attempt = when(block.first("last-attempt-date"))
        retry = when(block.first("will-retry-until"))
        line = block.line
        if arrival is not None and attempt is not None and arrival > attempt:
            yield Hit("DSN-SEM-025", "Arrival-Date is after Last-Attempt-Date", line)
        for label, moment in (("Arrival-Date", arrival), ("Last-Attempt-Date", attempt)):
            if moment is not None and sent is not None and moment > sent + _DATE_SLACK:
                yield Hit("DSN-SEM-025", f"{label} is after the NDR's own Date", line)
        if retry is not None and any(earlier is not None and retry < earlier for earlier in (arrival, attempt)):
            yield Hit("DSN-SEM-025", "Will-Retry-Until is earlier than the dates it should follow", line)
