"""Text as a reader sees it: RFC 2047 encoded words, transfer encodings and charsets undone.

Bounces arrive with Subjects like ``=?UTF-8?Q?Delivery_Status_Notification?=``
and bodies in base64 or quoted-printable; the heuristics that tell a bounce
from other mail read the decoded text.  Everything here is bounded and never
raises: undecodable input is kept as written.
"""

from __future__ import annotations

import base64
import binascii
import email.header
import email.message
import quopri
import re


def decode_transfer(body: bytes, cte: str, cut: bool = False) -> bytes:
    """*body* without its base64 or quoted-printable transfer encoding; as it is when that fails.

    A base64 body *cut* short (a bounded read) loses only its incomplete last quantum.
    """
    try:
        if cte == "base64":
            packed = _BLANKS.sub(b"", body)
            return base64.b64decode(packed[: len(packed) // 4 * 4] if cut else packed, validate=False)
        if cte == "quoted-printable":
            return quopri.decodestring(body)
    except (binascii.Error, ValueError):
        return body
    return body


_BLANKS = re.compile(rb"\s+")


def decode_words(value: str) -> str:
    """*value* with its RFC 2047 encoded words decoded (Q or B); never raises.

    An unknown charset or a broken word leaves that piece as written: the text
    is for recognising phrases (a Subject saying "Delivery Status Notification"),
    not for showing exactly.
    """
    if "=?" not in value:
        return value
    try:
        pieces = email.header.decode_header(value[:_WORDS_LIMIT])
    except Exception:  # noqa: BLE001 - the email package raises odd things on odd headers
        return value
    text = []
    for piece, charset in pieces:
        if isinstance(piece, str):
            text.append(piece)
            continue
        try:
            text.append(piece.decode(charset or "ascii", "replace"))
        except (LookupError, ValueError):
            text.append(piece.decode("latin-1"))
    return "".join(text)


#: longer than any Subject a person reads; keeps a hostile field's decoding bounded
_WORDS_LIMIT = 4000


def reader_text(message: email.message.Message, body: bytes) -> bytes | None:
    """*body* decoded (transfer encoding, then charset) as UTF-8, or None if *message* says it is no text."""
    try:
        if message.get_content_maintype() != "text":
            return None
        cte = str(message.get("Content-Transfer-Encoding", "")).strip().lower()
        charset = message.get_content_charset() or "us-ascii"
    except Exception:  # noqa: BLE001 - the email package raises odd things on odd headers
        return None
    data = decode_transfer(body, cte, cut=True)
    try:
        text = data.decode(charset, "replace")
    except (LookupError, ValueError):
        text = data.decode("latin-1")
    return text.encode("utf-8", "replace")
