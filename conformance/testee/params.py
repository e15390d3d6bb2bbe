"""ESMTP parameter parsing for the testee: RFC 3461 xtext, NOTIFY, RET, ENVID, ORCPT.

Values are kept byte-exact (aiosmtpd upper-cases parameters; ENVID and ORCPT
must keep their case).  Validation returns a reason string for a 501, or None.

This is the testee's one copy of this parsing, used by its sessions and by its
relaying and DSNs alike.  It is deliberately not conformance/smtp/params.py,
the parser the judge and the harness share: a reference MTA that parsed with
the judge's code would agree with the judge's bugs and could never expose them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_HEXCHAR = re.compile(r"\+[0-9A-F]{2}")
_HEXCHAR_VALUE = re.compile(r"\+([0-9A-F]{2})")
#: the parameters RFC 3461 defines on MAIL and on RCPT
DSN_MAIL_PARAMETERS = ("RET", "ENVID")
DSN_RCPT_PARAMETERS = ("NOTIFY", "ORCPT")
DSN_PARAMETERS = frozenset(DSN_MAIL_PARAMETERS + DSN_RCPT_PARAMETERS)
NOTIFY_KEYWORDS = frozenset({"SUCCESS", "FAILURE", "DELAY"})


@dataclass(frozen=True)
class Param:
    name: str  #: upper-cased for comparison
    value: str | None  #: exactly as sent; None when there was no "="
    raw: str  #: the whole parameter as sent


def split_params(text: str) -> list[Param]:
    """The parameter words after a MAIL or RCPT path, each with its name upper-cased for comparison."""
    params = []
    for word in text.split():
        name, eq, value = word.partition("=")
        params.append(Param(name.upper(), value if eq else None, word))
    return params


def xtext_error(value: str) -> str | None:
    """Why *value* is not RFC 3461 xtext (xchar = 33-126 except '+' and '='; '+' HEX HEX)."""
    i = 0
    while i < len(value):
        ch = value[i]
        if ch == "+":
            if not _HEXCHAR.match(value, i):
                return f"'+' must be followed by two upper-case hex digits at offset {i}"
            i += 3
            continue
        if not (33 <= ord(ch) <= 126) or ch == "=":
            return f"character {ch!r} is not allowed in xtext"
        i += 1
    return None


def xtext_decode(value: str) -> str:
    """RFC 3461 xtext to text: each ``+XX`` (upper-case hex) becomes its character."""
    return _HEXCHAR_VALUE.sub(lambda m: chr(int(m.group(1), 16)), value)


def param_value(pairs: list[tuple[str, str | None]], name: str) -> str | None:
    """The value of parameter *name* (upper-case) among (name, value) pairs as recorded; None when absent."""
    for key, value in pairs:
        if key.upper() == name:
            return value
    return None


def ret_error(value: str | None, case_sensitive: bool = False) -> str | None:
    if value is None:
        return "RET needs a value"
    wanted = value if case_sensitive else value.upper()
    return None if wanted in ("FULL", "HDRS") else f"RET={value} is neither FULL nor HDRS"


def envid_error(value: str | None, max_length: int = 100) -> str | None:
    if not value:
        return "ENVID needs a value"
    problem = xtext_error(value)
    if problem:
        return f"ENVID is not xtext: {problem}"
    if len(xtext_decode(value)) > max_length:
        return f"ENVID longer than {max_length} characters"
    return None


def notify_error(value: str | None, case_sensitive: bool = False) -> str | None:
    if not value:
        return "NOTIFY needs a value"
    words = value.split(",")
    keys = words if case_sensitive else [w.upper() for w in words]
    if any(not w for w in keys):
        return "empty NOTIFY keyword"
    if "NEVER" in keys:
        return None if len(keys) == 1 else "NEVER cannot be combined with other keywords"
    unknown = [w for w in keys if w not in NOTIFY_KEYWORDS]
    if unknown:
        return f"unknown NOTIFY keyword {unknown[0]}"
    if len(set(keys)) != len(keys):
        return "repeated NOTIFY keyword"
    return None


def orcpt_error(value: str | None, max_length: int = 500) -> str | None:
    if not value:
        return "ORCPT needs a value"
    addr_type, semi, address = value.partition(";")
    if not semi or not addr_type or not address:
        return "ORCPT is addr-type ';' xtext"
    if addr_type.lower() not in ("rfc822", "utf-8"):
        return f"unsupported ORCPT address type {addr_type}"
    problem = xtext_error(address) if addr_type.lower() == "rfc822" else None
    if problem:
        return f"ORCPT address is not xtext: {problem}"
    if len(value) > max_length:
        return f"ORCPT longer than {max_length} characters"
    return None
