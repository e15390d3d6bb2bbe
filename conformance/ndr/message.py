"""An NDR as bytes, with just enough structure for the checks, and line numbers.

Input is always bytes: real bounces mix CRLF, LF and bare CR.  Content types
and parameters come from the email package (compat32, the tolerant and fast
policy; header access under policy.default raised AttributeError on a corpus
message); the top-level multipart is split here, by the boundary, so every part
keeps its exact bytes and the line it starts on.
"""

from __future__ import annotations

__all__ = ["STATUS_TYPES", "Header", "NDRMessage", "Part", "ReadMessage", "delimiter_lines", "load",
           "message_from_headers", "param", "parse_header_section", "read_headers", "split_lines"]

import email
import email.message
import email.utils
import functools
import itertools
import operator
from dataclasses import dataclass, field

from . import dsn_fields
from .decoded import decode_transfer, decode_words, reader_text
from .headers import (
    Header,
    ReadMessage,
    header_section_end,
    message_from_headers,
    parse_header_section,
    read_headers,
    split_lines,
)


@dataclass
class Part:
    """One body part of the top-level multipart."""

    headers: list[Header]
    body: bytes  #: raw, still transfer-encoded
    line: int  #: first header line
    body_line: int
    message: email.message.Message

    @functools.cached_property
    def content_type(self) -> str:
        return self.message.get_content_type()

    @property
    def has_content_type(self) -> bool:
        return any(h.name.lower() == "content-type" for h in self.headers)

    @functools.cached_property
    def transfer_encoding(self) -> str:
        return str(self.message.get("Content-Transfer-Encoding", "")).strip().lower()

    def decoded_body(self) -> bytes:
        return decode_transfer(self.body, self.transfer_encoding)


@dataclass
class NDRMessage:
    raw: bytes
    message: email.message.Message
    headers: list[Header]
    body_line: int
    parts: list[Part] = field(default_factory=list)
    preamble: bytes = b""
    epilogue: bytes = b""
    closing_delimiter: bool = True
    boundary: str | None = None
    #: the delivery-status part and its parsed fields, if there is one (also nested)
    status_part: Part | None = None
    status: dsn_fields.DeliveryStatus | None = None
    status_nested: bool = False
    _index: dict[str, list[Header]] | None = field(default=None, repr=False)
    #: why part of the message was not read (nesting too deep...): the verdict says it was not fully judged
    unread: list[str] = field(default_factory=list)
    #: byte offset of the body (after the blank line ending the header section)
    body_start: int = 0

    def header(self, name: str) -> list[Header]:
        """All fields called *name* (case-insensitive), in order."""
        if self._index is None:
            index: dict[str, list[Header]] = {}
            for h in self.headers:
                index.setdefault(h.name.lower(), []).append(h)
            self._index = index
        return self._index.get(name.lower(), [])

    @functools.cached_property
    def content_type(self) -> str:
        return self.message.get_content_type()

    @functools.cached_property
    def subject(self) -> str:
        """The first Subject, RFC 2047 words decoded ("" without one): what a reader sees."""
        found = self.header("subject")
        return decode_words(found[0].value) if found else ""

    @functools.cached_property
    def body_lower(self) -> bytes:
        """The body's first TEXT_LIMIT bytes as written, lower-cased: for phrase searches."""
        return self.raw[self.body_start:self.body_start + TEXT_LIMIT].lower()

    @property
    def may_be_encoded(self) -> bool:
        """Could decoding show text the body as written hides (base64 or quoted-printable anywhere)?"""
        top = str(self.message.get("Content-Transfer-Encoding", "")).strip().lower()
        return top in ("base64", "quoted-printable") or b"base64" in self.body_lower \
            or b"quoted-printable" in self.body_lower

    @functools.cached_property
    def text(self) -> bytes:
        """The text parts as a reader sees them (transfer encoding and charset undone), as UTF-8.

        Computed only when asked (the bounce heuristics ask for it only when
        the raw bytes did not already say what the message is), bounded by
        TEXT_LIMIT; returned messages (message/*) are left out.
        """
        pieces: list[bytes] = []
        if self.boundary is None:
            _add_text(pieces, self.message, self.raw[self.body_start:self.body_start + TEXT_LIMIT])
        else:
            _walk_parts(pieces, self.parts, 0)
        return b"\n".join(pieces)[:TEXT_LIMIT]


#: how much text the bounce heuristics read: a bounce says what it is near its top
TEXT_LIMIT = 200_000
#: nested multiparts followed below the top level (multipart/alternative inside multipart/mixed...)
_TEXT_DEPTH = 3


def _walk_parts(pieces: list[bytes], parts: list[Part], depth: int) -> None:
    """Add the decoded text of *parts* and of multiparts nested in them to *pieces*."""
    for part in parts:
        if sum(map(len, pieces)) >= TEXT_LIMIT:
            return
        maintype = part.content_type.partition("/")[0]
        if maintype == "multipart" and depth < _TEXT_DEPTH:
            boundary = param(part.message, "boundary")
            if boundary:
                _walk_parts(pieces, _sub_parts(part.body[:TEXT_LIMIT * 2], boundary), depth + 1)
        elif maintype == "text":
            _add_text(pieces, part.message, part.body[:TEXT_LIMIT * 2])


def _add_text(pieces: list[bytes], message: email.message.Message, body: bytes) -> None:
    """Add *body* as a reader sees it to *pieces*, if *message* says it is text."""
    text = reader_text(message, body)
    if text is not None:
        pieces.append(text)


def _sub_parts(body: bytes, boundary: str) -> list[Part]:
    """The parts of a nested multipart body, for their text (line numbers do not matter here)."""
    return split_parts(body, boundary, 0)


def split_parts(body: bytes, boundary: str, first_line: int) -> list[Part]:
    """The body parts of a multipart *body* whose first line is *first_line*, up to its close delimiter."""
    lines = split_lines(body)
    starts, close = delimiter_lines(lines, boundary)
    if not starts:  # no delimiter line: no parts (the boundary named is not in the body)
        return []
    ends = starts[1:] + [close if close is not None else len(lines)]
    parts = []
    for start, end in zip(starts, ends, strict=True):
        part_lines = lines[start + 1:end]
        headers, blank = read_headers(part_lines, first_line + start + 1)
        parts.append(Part(headers, b"\r\n".join(part_lines[blank + 1:]), first_line + start + 1,
                          first_line + start + 2 + blank, message_from_headers(headers)))
    return parts



STATUS_TYPES = ("message/delivery-status", "message/global-delivery-status")


def load(raw: bytes) -> NDRMessage:
    """Parse *raw*; never raises on malformed input."""
    header_end, body_start = header_section_end(raw)
    lines = split_lines(raw[:header_end])
    if lines and lines[-1] == b"":
        lines.pop()  # the terminator of the last header line
    # a single message saved from an mbox keeps its "From " envelope line: not a header
    skip = 1 if lines and lines[0].startswith(b"From ") else 0
    headers, _ = read_headers(lines[skip:], 1 + skip)
    blank = len(lines)  # index of the blank line that ends the header section
    message = message_from_headers(headers)
    ndr = NDRMessage(raw, message, headers, blank + 2, body_start=body_start)
    boundary = param(message, "boundary") if message.get_content_maintype() == "multipart" else None
    ndr.boundary = boundary
    if boundary:
        _split_multipart(ndr, raw[body_start:], boundary, blank + 2)
    _pick_status_part(ndr)
    if ndr.status_part is None:
        _find_nested_status(ndr)
        if ndr.status_part is not None:
            ndr.status = dsn_fields.parse(ndr.status_part.decoded_body(), ndr.status_part.body_line)
    return ndr


def _pick_status_part(ndr: NDRMessage) -> None:
    """The delivery-status part to judge: the first whose content reads as DSN fields.

    A report may carry two (the first holding prose, say): judging the first
    alone would call a DSN with good fields one without any.  With none that
    reads as fields, the first is judged (its faults are what a reader sees).
    """
    first: tuple[Part, dsn_fields.DeliveryStatus] | None = None
    for part in ndr.parts:
        if part.content_type not in STATUS_TYPES:
            continue
        status = dsn_fields.parse(part.decoded_body(), part.body_line)
        if _reads_as_fields(status):
            ndr.status_part, ndr.status = part, status
            return
        if first is None:
            first = (part, status)
    if first is not None:
        ndr.status_part, ndr.status = first


def _reads_as_fields(status: dsn_fields.DeliveryStatus) -> bool:
    """Has a parsed delivery-status body a recipient block (Final-Recipient, Action or Status)?"""
    return any(f.key in ("final-recipient", "action", "status") for block in status.recipients
               for f in block.fields)


def param(message: email.message.Message, name: str) -> str | None:
    try:
        value = message.get_param(name)
    except Exception:  # noqa: BLE001 - the email package raises odd things on odd headers
        return None
    if isinstance(value, tuple):
        value = email.utils.collapse_rfc2231_value(value)
    return str(value) if value else None


def delimiter_lines(lines: list[bytes], boundary: str) -> tuple[list[int], int | None]:
    """Where a multipart body's delimiter lines are: (indexes of the part delimiters, of the close or None).

    RFC 2046 §5.1.1: ``--boundary`` starts a part, ``--boundary--`` ends the
    body; trailing spaces and tabs are allowed after either.
    """
    delimiter = b"--" + boundary.encode("utf-8", "replace")
    starts: list[int] = []
    # the lines that start with the delimiter, found without a Python step per line (a body may have a million)
    for index in itertools.compress(itertools.count(), map(operator.methodcaller("startswith", delimiter), lines)):
        line = lines[index]
        stripped = line.rstrip(b" \t")
        if stripped == delimiter + b"--":
            return starts, index
        if stripped == delimiter:
            starts.append(index)
    return starts, None


def _split_multipart(ndr: NDRMessage, body: bytes, boundary: str, first_line: int) -> None:
    lines = split_lines(body)
    starts, close = delimiter_lines(lines, boundary)
    ndr.closing_delimiter = close is not None
    if not starts:
        ndr.preamble = b"\n".join(lines[: close if close is not None else len(lines)])
        return
    ndr.preamble = b"\n".join(lines[: starts[0]])
    ends = starts[1:] + [close if close is not None else len(lines)]
    for start, end in zip(starts, ends, strict=True):
        part_lines = lines[start + 1 : end]
        headers, blank = read_headers(part_lines, first_line + start + 1)
        body_lines = part_lines[blank + 1 :]
        ndr.parts.append(Part(headers, b"\r\n".join(body_lines), first_line + start + 1,
                              first_line + start + 2 + blank, message_from_headers(headers)))
    if close is not None:
        ndr.epilogue = b"\n".join(lines[close + 1 :])


def _find_nested_status(ndr: NDRMessage) -> None:
    """A delivery-status part below the top level (inside multipart/mixed, or a forwarded report).

    Only messages that name a delivery-status somewhere get this far; the walk
    (:mod:`nested`) is bounded in depth and parts, and what it could not reach
    goes to ``unread``.
    """
    if ndr.content_type == "multipart/report" or b"delivery-status" not in ndr.raw.lower():
        return
    from .nested import find_status  # nested reads parts as this module does: imported when needed

    part, unread = find_status(ndr.message, ndr.raw[ndr.body_start:], ndr.body_line)
    ndr.unread.extend(unread)
    if part is not None:
        ndr.status_part = part
        ndr.status_nested = True
