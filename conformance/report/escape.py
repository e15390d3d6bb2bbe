"""Text from outside made safe wherever it is written: the terminal, JUnit XML, JSON, lint's text.

A target's greeting, EHLO lines and replies, a bounce's header fields, DSN
fields and body, a case file's titles and a file name are all untrusted.  Any
of them may carry bytes that do harm where they are written: an escape
sequence repaints the reader's terminal (``ESC [2J`` clears it), a direction
override makes a line read differently from what it says, a C0 character makes
an XML 1.0 document not well-formed (they are forbidden even as character
references, so one such byte leaves a CI server reading nothing), and a lone
surrogate (what ``surrogateescape`` makes of invalid UTF-8) cannot be encoded
at all.  Every writer passes such text through this one module, so each of
those characters is shown the same way everywhere: as a visible escape
(``\\x1b``, ``\\u202e``, ``\\udc80``) that says which character stood there.
Tab and newline stay; ``\\r`` is escaped (a bare CR rewrites the terminal line).
"""

from __future__ import annotations

import re
from typing import Any

__all__ = ["UNSAFE", "one_line", "printable", "printable_tree"]

#: C0 but tab and newline, DEL, C1, the invisible direction marks, overrides and isolates,
#: lone surrogates (invalid UTF-8 read with surrogateescape), and the two noncharacters XML refuses
UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
                    "\ud800-\udfff\ufffe\uffff]")


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(text: str) -> str:
    """*text* with every unsafe character written as an escape (``\\x1b``, ``\\u202e``); tab and newline stay.

    The result is safe on a terminal, in XML 1.0 text and attributes, and
    encodes as UTF-8 without error; escaping twice changes nothing more.
    """
    return UNSAFE.sub(_escape, text)


def one_line(text: str) -> str:
    """*text* made printable and kept on one line (a newline is escaped too): for line-per-item output."""
    return printable(text).replace("\n", "\\x0a")


def printable_tree(value: Any) -> Any:
    """*value* (JSON-shaped: dicts, lists, strings, numbers) with every string in it, keys too, made printable."""
    if isinstance(value, str):
        return printable(value)
    if isinstance(value, dict):
        return {printable_tree(k): printable_tree(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [printable_tree(v) for v in value]
    return value
