"""Checks of Status codes (RFC 3463, the IANA registry) and how they agree with Action and Diagnostic-Code."""

from __future__ import annotations

import re
from collections.abc import Iterator

from ..smtp import enhanced
from .dsn_fields import Block, Field
from .hits import Hit, blocks
from .message import NDRMessage

#: a Status field's value: the code and an optional comment; the quantifiers around the optional comment
#: are possessive, since "5.1.1", 20,000 spaces and an "x" once took seconds of backtracking to reject
STATUS_VALUE = re.compile(r"^\s*+([0-9]++\.[0-9]++\.[0-9]++)(?:\s*+(\(.*\)))?+\s*+$")
#: subject.detail of the codes that report the queue giving up (X.4.7 "delivery time expired"): such a
#: Status says why the MTA stopped trying, not what the last reply said, so it differs from it by design
EXPIRY_DETAILS = frozenset({"4.7"})
_SMTP_DIAG = re.compile(r"^\s*+([2-5][0-9][0-9])[ -]?\s*+(?:([245]\.[0-9]{1,3}\.[0-9]{1,3})\b)?")


def status_registry_and_hints(ndr: NDRMessage) -> Iterator[Hit]:
    """ESC-001, -008, -010: Status is an enhanced code used as the registry means it."""
    for block in blocks(ndr):
        status = block.first("status")
        match = STATUS_VALUE.match(status.value) if status else None
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


def registry_hits(code: str, line: int) -> Iterator[Hit]:
    """ESC-006: the code is in the IANA registry and not only as deprecated."""
    row = enhanced.lookup(code)
    if row is None:
        yield Hit("ESC-006", f"Status {code} is not in the IANA registry", line, "unregistered")
    elif row.deprecated:
        yield Hit("ESC-006", f"Status {code} is registered only as deprecated", line, "deprecated")


def action_status(action: str, code: str, line: int) -> Iterator[Hit]:
    """DSN-SEM-018: Action and the Status class agree (failed is not 2.x.x, delivered not 4/5.x.x)."""
    klass = code[0]
    contradiction = ((action == "failed" and klass == "2") or (action == "delayed" and klass == "2")
                     or (action in ("delivered", "expanded") and klass in "45"))
    if contradiction:
        yield Hit("DSN-SEM-018", f"Action {action} contradicts Status {code}", line, "contradiction")
    elif (action == "delayed" and klass == "5") or (action == "relayed" and klass in "45"):
        yield Hit("DSN-SEM-018", f"Action {action} with Status {code} is unusual", line, "unusual")


def diagnostic_hits(block: Block, status: str | None) -> Iterator[Hit]:
    """ESC-003, DSN-SEM-021: an smtp Diagnostic-Code agrees with its own and the block's Status codes.

    A Status of queue expiry (X.4.7) is never compared with the enhanced code of
    the last reply: after retries run out the Status reports the expiry, and the
    Diagnostic-Code the last temporary reply (``451 4.3.0``), as RFC 3464 §2.3.6
    lets it.  A generic X.0.0 beside a precise reply is noted (info), never more.
    """
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
    elif status and esc and status != esc and not esc.endswith(".0.0") \
            and status.split(".", 1)[1] not in EXPIRY_DETAILS:  # a Status may refine a generic reply
        if status.endswith(".0.0"):
            yield Hit("DSN-SEM-021", f"Status {status} is generic while the reply {reply} {esc} was precise "
                      "(RFC 3463 §3)", diag.line, "generic-status")
        elif status[0] == esc[0]:
            yield Hit("DSN-SEM-021", f"Status {status} differs from the reply's enhanced code {esc}", diag.line)
