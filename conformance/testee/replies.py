"""The testee's reply text: enhanced status codes and the unknown-user refusal.

aiosmtpd's own replies (500 to an unknown command, 503 out of order, ...)
carry no enhanced status code (RFC 2034, RFC 3463); an MTA advertising
ENHANCEDSTATUSCODES must give one on every reply but the greeting, EHLO/HELO
and 3xx.  ``with_enhanced_code`` adds the usual one for the basic code.  The
refusal of an unknown local user is where most reply faults live (faults.py),
so it is written here in one place with each of those faults applied.

Everything here is pure text: the session decides whether enhanced codes are on
(faults, a HELO session) and writes the bytes.
"""

from __future__ import annotations

import re

#: the enhanced code added to a reply that has none, by basic code
DEFAULT_ENHANCED = {221: "2.0.0", 250: "2.0.0", 252: "2.0.0", 220: "2.0.0", 421: "4.7.0", 450: "4.0.0",
                    451: "4.3.0", 452: "4.3.1", 500: "5.5.2", 501: "5.5.4", 502: "5.5.1", 503: "5.5.1",
                    504: "5.5.4", 530: "5.7.0", 550: "5.0.0", 552: "5.3.4", 554: "5.3.0", 555: "5.5.4"}
_HAS_ENHANCED = re.compile(r"^\d{3}[ -][245]\.\d{1,3}\.\d{1,3}( |$)")


def with_enhanced_code(text: str) -> str:
    """One reply line with the default enhanced code for its basic code inserted, unless it has one.

    Lines that are not 2yz, 4yz or 5yz (3xx, or no code at all) are left alone.
    """
    code = int(text[:3]) if text[:3].isdigit() else 0
    if not code or code // 100 not in (2, 4, 5) or _HAS_ENHANCED.match(text):
        return text
    enhanced = DEFAULT_ENHANCED.get(code, f"{code // 100}.0.0")
    return f"{text[:4]}{enhanced} {text[4:]}" if len(text) > 4 else f"{text[:3]} {enhanced}"


def without_enhanced_code(status: str) -> str:
    """``501 5.5.4 text`` -> ``501 text``: a reply as a server without enhanced codes gives it."""
    return status[:4] + status[4:].split(" ", 1)[-1]


def reply(code: int, enhanced: str, lines: list[str]) -> bytes:
    """A reply of one or more lines, each with *code* and *enhanced* ("" for none), CRLF-terminated."""
    prefix = f"{enhanced} " if enhanced else ""
    return "".join(f"{code}{'-' if i < len(lines) - 1 else ' '}{prefix}{line}\r\n"
                   for i, line in enumerate(lines)).encode("utf-8")


def _refusal_codes(faults: frozenset[str]) -> tuple[int, int]:
    """The basic codes of the refusal's two lines."""
    code = 553 if "wrong-code-unknown-user" in faults else 559 if "unregistered-reply-code" in faults else 550
    return code, 551 if "malformed-multiline" in faults else code


def _refusal_enhanced_codes(faults: frozenset[str]) -> tuple[str, str]:
    """The enhanced codes of the refusal's two lines."""
    enhanced = ("5.0.0" if "generic-enhanced-code" in faults
                else "5.1.99" if "unregistered-enhanced-code" in faults
                else "4.1.1" if "enhanced-class-mismatch" in faults
                else "5.01.1" if "invalid-enhanced-syntax" in faults
                else "5.1.1")
    return enhanced, "5.1.0" if "enhanced-code-varies" in faults else enhanced


def unknown_user_refusal(address: str, faults: frozenset[str], enhanced: bool) -> bytes:
    """The two-line refusal of an unknown local user, with the reply faults that change it applied.

    *enhanced* False leaves the enhanced codes out (codes off, or the missing-enhanced-codes fault).
    """
    code1, code2 = _refusal_codes(faults)
    esc1, esc2 = _refusal_enhanced_codes(faults) if enhanced else ("", "")
    text1 = f"<{address}>: Recipient address rejected: " + (
        "Empfänger unbekannt" if "non-ascii-reply" in faults else "no such user here")
    text2 = "Refused in-session so no bounce is ever sent"
    line1 = f"{code1}-{esc1 + ' ' if esc1 else ''}{text1}"
    if "long-reply-line" in faults:
        line1 += " " + "x" * (598 - len(line1.encode()) - 1)
    line2 = f"{code2} {esc2 + ' ' if esc2 else ''}{text2}"
    eol = "\n" if "bare-lf" in faults else "\r\n"
    return f"{line1}{eol}{line2}{eol}".encode()
