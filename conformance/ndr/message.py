"""An NDR as bytes, with just enough structure for the checks, and line numbers.

Input is always bytes: real bounces mix CRLF, LF and bare CR.  Content types
and parameters come from the email package (compat32, the tolerant and fast
policy; header access under policy.default raised AttributeError on a corpus
message); the top-level multipart is split here, by the boundary, so every part
keeps its exact bytes and the line it starts on.
"""

from __future__ import annotations

import base64
import binascii
import email
import email.message
import email.parser
import email.policy
import email.utils
import functools
import quopri
import re
from dataclasses import dataclass, field

from . import dsn_fields

_LINE_END = re.compile(rb"\r\n|\n|\r")
_HEADER_PARSER = email.parser.BytesHeaderParser(policy=email.policy.compat32)


def parse_header_section(data: bytes) -> email.message.Message:
    """Only a header section, through the email package (compat32): cheap, tolerant."""
    return _HEADER_PARSER.parsebytes(data)


def message_from_headers(headers: list[Header]) -> email.message.Message:
    """An email Message carrying fields this module already read (no second parse).

    The email package then answers content types and parameters (RFC 2045/2231)
    as usual, without reading the header section again.
    """
    message = email.message.Message()
    for header in headers:
        if header.name[:8].lower() == "content-":  # all the email package is asked about
            message[header.name] = header.value
    return message
_HEADER_START = re.compile(rb"^([^:\s]+)[ \t]*:")


@dataclass(frozen=True)
class Header:
    name: str
    value: str  #: unfolded
    line: int
    raw: bytes  #: every physical line, terminators removed, joined by b"\n"


def split_lines(data: bytes) -> list[bytes]:
    return _LINE_END.split(data)


def read_headers(lines: list[bytes], first_line: int) -> tuple[list[Header], int]:
    """Header fields of a header section; returns them and the index of the blank line."""
    headers: list[Header] = []
    current: list[bytes] = []
    start = first_line
    index = 0
    for index, line in enumerate(lines):
        if not line.strip() and line[:1] not in (b" ", b"\t") or line == b"":
            break
        if line[:1] in (b" ", b"\t") and current:
            current.append(line)
            continue
        if current:
            headers.append(_header(current, start))
        current = [line]
        start = first_line + index
    else:
        index = len(lines)
    if current:
        headers.append(_header(current, start))
    return headers, index


def _header(raw_lines: list[bytes], line: int) -> Header:
    first = raw_lines[0]
    match = _HEADER_START.match(first)
    name = match.group(1).decode("utf-8", "replace") if match else first.decode("utf-8", "replace")
    value_bytes = first[match.end():] if match else b""
    if len(raw_lines) > 1:
        value_bytes = b" ".join(part.strip() for part in [value_bytes, *raw_lines[1:]])
    value = value_bytes.decode("utf-8", "replace").strip()
    return Header(name, value, line, b"\n".join(raw_lines))


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
        cte = self.transfer_encoding
        try:
            if cte == "base64":
                return base64.b64decode(re.sub(rb"\s+", b"", self.body), validate=False)
            if cte == "quoted-printable":
                return quopri.decodestring(self.body)
        except (binascii.Error, ValueError):
            return self.body
        return self.body


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

    def header(self, name: str) -> list[Header]:
        """All fields called *name* (case-insensitive), in order."""
        if self._index is None:
            index: dict[str, list[Header]] = {}
            for h in self.headers:
                index.setdefault(h.name.lower(), []).append(h)
            self._index = index
        return self._index.get(name.lower(), [])

    @property
    def content_type(self) -> str:
        return self.message.get_content_type()


STATUS_TYPES = ("message/delivery-status", "message/global-delivery-status")


def load(raw: bytes) -> NDRMessage:
    """Parse *raw*; never raises on malformed input."""
    header_end, body_start = _header_section_end(raw)
    lines = split_lines(raw[:header_end])
    if lines and lines[-1] == b"":
        lines.pop()  # the terminator of the last header line
    # a single message saved from an mbox keeps its "From " envelope line: not a header
    skip = 1 if lines and lines[0].startswith(b"From ") else 0
    headers, _ = read_headers(lines[skip:], 1 + skip)
    blank = len(lines)  # index of the blank line that ends the header section
    message = message_from_headers(headers)
    ndr = NDRMessage(raw, message, headers, blank + 2)
    boundary = _param(message, "boundary") if message.get_content_maintype() == "multipart" else None
    ndr.boundary = boundary
    if boundary:
        _split_multipart(ndr, raw[body_start:], boundary, blank + 2)
    for part in ndr.parts:
        if part.content_type in STATUS_TYPES:
            ndr.status_part = part
            break
    if ndr.status_part is None:
        _find_nested_status(ndr)
    if ndr.status_part is not None:
        ndr.status = dsn_fields.parse(ndr.status_part.decoded_body(), ndr.status_part.body_line)
    return ndr


def _param(message: email.message.Message, name: str) -> str | None:
    try:
        value = message.get_param(name)
    except Exception:  # noqa: BLE001 - the email package raises odd things on odd headers
        return None
    if isinstance(value, tuple):
        value = email.utils.collapse_rfc2231_value(value)
    return str(value) if value else None


def _header_section_end(raw: bytes) -> tuple[int, int]:
    """(end of the header section, start of the body): stops at the first blank line.

    Scanning only as far as the header goes keeps the cost of a 50 MB body out of it.
    """
    previous_end = -1
    for match in _LINE_END.finditer(raw):
        if match.start() == previous_end or match.start() == 0:
            return match.start(), match.end()
        previous_end = match.end()
    return len(raw), len(raw)


def _offset_of_line(raw: bytes, index: int) -> int:
    """Byte offset where line *index* (0-based) starts."""
    pos = 0
    for _ in range(index):
        match = _LINE_END.search(raw, pos)
        if not match:
            return len(raw)
        pos = match.end()
    return pos


def delimiter_lines(lines: list[bytes], boundary: str) -> tuple[list[int], int | None]:
    """Where a multipart body's delimiter lines are: (indexes of the part delimiters, of the close or None).

    RFC 2046 §5.1.1: ``--boundary`` starts a part, ``--boundary--`` ends the
    body; trailing spaces and tabs are allowed after either.
    """
    delimiter = b"--" + boundary.encode("utf-8", "replace")
    starts: list[int] = []
    for index, line in enumerate(lines):
        if not line.startswith(delimiter):
            continue
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
    """A delivery-status part below the top level (inside multipart/mixed, say).

    Only here is the whole message parsed by the email package: most messages
    never get this far, which keeps the linter close to a bare parse in cost.
    """
    if ndr.content_type == "multipart/report" or b"delivery-status" not in ndr.raw.lower():
        return
    whole = email.message_from_bytes(ndr.raw)
    for sub in whole.walk():
        if sub is whole or sub.get_content_type() not in STATUS_TYPES:
            continue
        payload = sub.get_payload()
        if isinstance(payload, list):  # the email package split it into blocks
            text = b"\n\n".join(bytes(m) if not isinstance(m, str) else m.encode() for m in payload)
        else:
            text = payload.encode("utf-8", "surrogateescape") if isinstance(payload, str) else b""
        head = text.split(b"\n", 1)[0].strip()
        at = ndr.raw.find(head) if head else -1
        line = ndr.raw.count(b"\n", 0, at) + 1 if at >= 0 else 1
        ndr.status_part = Part([], text, line, line, sub)
        ndr.status_nested = True
        return
