"""ESMTP command arguments as sent on the wire: paths, parameter words, xtext.

Neutral parsing that both sides of the wire need: the harness records what a
target sent it, the judge compares it with what the client sent.  It imports
nothing of the project, so the harness can use it without importing the judge.

The testee keeps its own parser on purpose (``conformance/testee/params.py``):
a reference MTA that shared the judge's parser could never expose its bugs.
"""

from __future__ import annotations

import re

#: parameters RFC 3461 defines on MAIL and on RCPT
DSN_MAIL_PARAMS = ("ENVID", "RET")
DSN_RCPT_PARAMS = ("NOTIFY", "ORCPT")
DSN_PARAMS = DSN_MAIL_PARAMS + DSN_RCPT_PARAMS

_PATH = re.compile(r"^<([^<>]*)>(.*)$")
_XTEXT_HEX = re.compile(r"\+([0-9A-Fa-f]{2})")


def split_path(argument: str, keyword: str) -> tuple[str, list[str]] | None:
    """``FROM:<path> PARAMS`` (or ``TO:``) -> (path, parameter words), or None when malformed.

    *keyword* is ``FROM`` or ``TO``; it matches case-insensitively and may be
    followed by spaces before the path, as many clients send it.
    """
    head = keyword.upper() + ":"
    if argument[: len(head)].upper() != head:
        return None
    match = _PATH.match(argument[len(head):].lstrip())
    if match is None:
        return None
    return match.group(1), match.group(2).split()


def param(params: list[str], name: str) -> str | None:
    """The value of parameter *name* (keyword case-insensitive) in *params*, as written; None when absent."""
    for word in params:
        key, _, value = word.partition("=")
        if key.upper() == name.upper():
            return value
    return None


def param_names(params: list[str]) -> set[str]:
    """The parameter keywords in *params*, upper-cased."""
    return {word.partition("=")[0].upper() for word in params}


def xtext_decode(value: str) -> str:
    """RFC 3461 §4 xtext to text (``+XX`` hex escapes); lenient: anything else is kept as is."""
    return _XTEXT_HEX.sub(lambda m: chr(int(m.group(1), 16)), value)
