"""Enhanced status codes (RFC 3463, RFC 2034): syntax and the IANA registry.

The registry snapshot is IANA's "SMTP Enhanced Status Codes" subject.detail table
(through X.7.28, plus X.7.29 from RFC 8617 and X.7.30 from RFC 8689), with the
associated basic codes IANA lists.  ESC-006 warns about unregistered codes,
ESC-008 notes permanence hints, ESC-009 notes basic codes the registry does not
associate with the enhanced code.
"""

from __future__ import annotations

import re
from typing import NamedTuple

#: RFC 3463 §2: class "." subject "." detail; 1-3 digits each, no leading zeros
_ESC = re.compile(r"^([245])\.(0|[1-9][0-9]{0,2})\.(0|[1-9][0-9]{0,2})$")


class EnhancedCode(NamedTuple):
    subject_detail: str  #: "1.1" for X.1.1
    title: str
    #: basic codes IANA associates; () = "Not given" or "Any"
    associated: tuple[int, ...]
    reference: str
    deprecated: bool = False
    #: True when IANA says "Any" (every basic code fits)
    any_basic: bool = False


def syntax_error(code: str) -> str | None:
    """Why *code* is not a syntactically valid enhanced status code, or None."""
    if _ESC.match(code):
        return None
    parts = code.split(".")
    if len(parts) != 3 or not all(p.isdigit() for p in parts):
        return f"{code!r} is not class.subject.detail"
    klass, subject, detail = parts
    if klass not in ("2", "4", "5"):
        return f"class {klass} in {code!r} is not 2, 4 or 5"
    for name, part in (("subject", subject), ("detail", detail)):
        if len(part) > 3:
            return f"{name} {part} in {code!r} has more than three digits"
        if len(part) > 1 and part.startswith("0"):
            return f"{name} {part} in {code!r} has a leading zero"
    return f"{code!r} is not a valid enhanced status code"


_R3463 = "RFC 3463"
_CODE_ROWS: tuple[EnhancedCode, ...] = (
    EnhancedCode("0.0", "Other undefined Status", (), _R3463, any_basic=True),
    EnhancedCode("1.0", "Other address status", (), _R3463),
    EnhancedCode("1.1", "Bad destination mailbox address", (451, 550), _R3463),
    EnhancedCode("1.2", "Bad destination system address", (), _R3463),
    EnhancedCode("1.3", "Bad destination mailbox address syntax", (501,), _R3463),
    EnhancedCode("1.4", "Destination mailbox address ambiguous", (), _R3463),
    EnhancedCode("1.5", "Destination address valid", (250,), _R3463),
    EnhancedCode("1.6", "Destination mailbox has moved, No forwarding address", (), _R3463),
    EnhancedCode("1.7", "Bad sender's mailbox address syntax", (), _R3463),
    EnhancedCode("1.8", "Bad sender's system address", (451, 501), _R3463),
    EnhancedCode("1.9", "Message relayed to non-compliant mailer", (), "RFC 3886"),
    EnhancedCode("1.10", "Recipient address has null MX", (556,), "RFC 7505; RFC 7504"),
    EnhancedCode("2.0", "Other or undefined mailbox status", (), _R3463),
    EnhancedCode("2.1", "Mailbox disabled, not accepting messages", (), _R3463),
    EnhancedCode("2.2", "Mailbox full", (552,), _R3463),
    EnhancedCode("2.3", "Message length exceeds administrative limit", (552,), _R3463),
    EnhancedCode("2.4", "Mailing list expansion problem", (450, 452), _R3463),
    EnhancedCode("3.0", "Other or undefined mail system status", (221, 250, 421, 451, 550, 554), _R3463),
    EnhancedCode("3.1", "Mail system full", (452,), _R3463),
    EnhancedCode("3.2", "System not accepting network messages", (453, 521), "RFC 3463; RFC 7504"),
    EnhancedCode("3.3", "System not capable of selected features", (), _R3463),
    EnhancedCode("3.4", "Message too big for system", (552, 554), _R3463),
    EnhancedCode("3.5", "System incorrectly configured", (), _R3463),
    EnhancedCode("3.6", "Requested priority was changed", (250, 251), "RFC 6710"),
    EnhancedCode("4.0", "Other or undefined network or routing status", (), _R3463),
    EnhancedCode("4.1", "No answer from host", (451,), _R3463),
    EnhancedCode("4.2", "Bad connection", (421,), _R3463),
    EnhancedCode("4.3", "Directory server failure", (451, 550), _R3463),
    EnhancedCode("4.4", "Unable to route", (), _R3463),
    EnhancedCode("4.5", "Mail system congestion", (451,), _R3463),
    EnhancedCode("4.6", "Routing loop detected", (), _R3463),
    EnhancedCode("4.7", "Delivery time expired", (), _R3463),
    EnhancedCode("5.0", "Other or undefined protocol status",
                 (220, 250, 251, 252, 253, 451, 452, 454, 458, 459, 501, 502, 503, 554), _R3463),
    EnhancedCode("5.1", "Invalid command", (430, 500, 501, 503, 530, 550, 554, 555), _R3463),
    EnhancedCode("5.2", "Syntax error", (500, 501, 502, 550, 555), _R3463),
    EnhancedCode("5.3", "Too many recipients", (451,), _R3463),
    EnhancedCode("5.4", "Invalid command arguments", (451, 501, 502, 503, 504, 550, 555), _R3463),
    EnhancedCode("5.5", "Wrong protocol version", (), _R3463),
    EnhancedCode("5.6", "Authentication Exchange line is too long", (500,), "RFC 4954"),
    EnhancedCode("6.0", "Other or undefined media error", (), _R3463),
    EnhancedCode("6.1", "Media not supported", (), _R3463),
    EnhancedCode("6.2", "Conversion required and prohibited", (), _R3463),
    EnhancedCode("6.3", "Conversion required but not supported", (554,), _R3463),
    EnhancedCode("6.4", "Conversion with loss performed", (250,), _R3463),
    EnhancedCode("6.5", "Conversion Failed", (), _R3463),
    EnhancedCode("6.6", "Message content not available", (554,), "RFC 4468"),
    EnhancedCode("6.7", "Non-ASCII addresses not permitted for that sender/recipient", (553, 550), "RFC 6531"),
    EnhancedCode("6.8", "UTF-8 string reply is required, but not permitted by the SMTP client",
                 (252, 553, 550), "RFC 6531"),
    EnhancedCode("6.9", "UTF-8 header message cannot be transferred to one or more recipients",
                 (550,), "RFC 6531"),
    EnhancedCode("6.10", "Duplicate of X.6.8 (deprecated)", (), "RFC 6531", deprecated=True),
    EnhancedCode("7.0", "Other or undefined security status",
                 (220, 235, 450, 454, 500, 501, 503, 504, 530, 535, 550), _R3463),
    EnhancedCode("7.1", "Delivery not authorized, message refused",
                 (451, 454, 502, 503, 533, 550, 551), _R3463),
    EnhancedCode("7.2", "Mailing list expansion prohibited", (550,), _R3463),
    EnhancedCode("7.3", "Security conversion required but not possible", (), _R3463),
    EnhancedCode("7.4", "Security features not supported", (504,), _R3463),
    EnhancedCode("7.5", "Cryptographic failure", (), _R3463),
    EnhancedCode("7.6", "Cryptographic algorithm not supported", (), _R3463),
    EnhancedCode("7.7", "Message integrity failure", (), _R3463),
    EnhancedCode("7.8", "Authentication credentials invalid", (535, 554), "RFC 4954"),
    EnhancedCode("7.9", "Authentication mechanism is too weak", (534,), "RFC 4954"),
    EnhancedCode("7.10", "Encryption Needed", (523,), "RFC 5248"),
    EnhancedCode("7.11", "Encryption required for requested authentication mechanism", (524, 538), "RFC 4954"),
    EnhancedCode("7.12", "A password transition is needed", (422, 432), "RFC 4954"),
    EnhancedCode("7.13", "User Account Disabled", (525,), "RFC 5248"),
    EnhancedCode("7.14", "Trust relationship required", (535, 554), "RFC 5248"),
    EnhancedCode("7.15", "Priority Level is too low", (450, 550), "RFC 6710"),
    EnhancedCode("7.16", "Message is too big for the specified priority", (552,), "RFC 6710"),
    EnhancedCode("7.17", "Mailbox owner has changed", (), "RFC 7293"),
    EnhancedCode("7.18", "Domain owner has changed", (), "RFC 7293"),
    EnhancedCode("7.19", "RRVS test cannot be completed", (), "RFC 7293"),
    EnhancedCode("7.20", "No passing DKIM signature found", (550,), "RFC 7372"),
    EnhancedCode("7.21", "No acceptable DKIM signature found", (550,), "RFC 7372"),
    EnhancedCode("7.22", "No valid author-matched DKIM signature found", (550,), "RFC 7372"),
    EnhancedCode("7.23", "SPF validation failed", (550,), "RFC 7372"),
    EnhancedCode("7.24", "SPF validation error", (451, 550), "RFC 7372"),
    EnhancedCode("7.25", "Reverse DNS validation failed", (550,), "RFC 7372"),
    EnhancedCode("7.26", "Multiple authentication checks failed", (550,), "RFC 7372"),
    EnhancedCode("7.27", "Sender address has null MX", (550,), "RFC 7505"),
    EnhancedCode("7.28", "Mail flood detected", (), "draft-levine-mailbomb-header"),
    EnhancedCode("7.29", "ARC validation failure", (550,), "RFC 8617"),
    EnhancedCode("7.30", "REQUIRETLS support required", (550,), "RFC 8689"),
)

ENHANCED_CODES: dict[str, EnhancedCode] = {row.subject_detail: row for row in _CODE_ROWS}

#: RFC 3463 §3: details "only useful" with one class (ESC-008)
PERMANENT_ONLY: frozenset[str] = frozenset(
    {"1.1", "1.2", "1.3", "1.6", "3.4", "5.1", "5.2", "5.4", "6.1", "7.1", "7.2", "7.3", "7.4", "2.3"}
)
TRANSIENT_ONLY: frozenset[str] = frozenset({"3.1", "4.1", "4.2", "4.3", "4.5", "4.6", "2.2"})


def lookup(code: str) -> EnhancedCode | None:
    """The registry row for a (syntactically valid) enhanced code, class ignored."""
    return ENHANCED_CODES.get(code.split(".", 1)[1]) if "." in code else None
