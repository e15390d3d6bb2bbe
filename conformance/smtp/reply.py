"""SMTP replies as they came off the wire.

The client keeps every reply as bytes, line by line, with the terminator each line
really had.  Parsing never raises: a line that is not ``ddd[ -]text`` is kept with
``code=None`` so the reply rules (``rules.py``) can say what is wrong with it
instead of the client crashing on it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

ENHANCED_PREFIX = re.compile(rb"^([0-9]{1,3})\.([0-9]{1,3})\.([0-9]{1,3})(?=[ \t]|$)")
#: anything that looks like an attempt at an enhanced code (used to judge its syntax)
ENHANCED_LIKE = re.compile(rb"^([0-9]+)\.([0-9]+)\.([0-9]+)")


@dataclass(frozen=True)
class ReplyLine:
    """One line of a reply, exactly as received."""

    raw: bytes  #: the line including its terminator
    terminator: bytes  #: b"\r\n", b"\n" (bare LF) or b"" (connection ended mid-line)

    @property
    def body(self) -> bytes:
        """The line without its terminator."""
        return self.raw[: len(self.raw) - len(self.terminator)]

    @property
    def code(self) -> str | None:
        """The three leading digits, if the line starts with three digits."""
        head = self.body[:3]
        return head.decode("ascii") if len(head) == 3 and head.isdigit() else None

    @property
    def separator(self) -> bytes:
        """The octet after the code: b"-" (more lines follow), b" ", or b"" for a bare code."""
        return self.body[3:4]

    @property
    def text_bytes(self) -> bytes:
        return self.body[4:] if self.code is not None else self.body

    @property
    def text(self) -> str:
        return self.text_bytes.decode("utf-8", errors="replace")

    @property
    def is_continuation(self) -> bool:
        return self.code is not None and self.separator == b"-"


@dataclass(frozen=True)
class Reply:
    """A complete reply: one or more lines, the last without a hyphen."""

    lines: tuple[ReplyLine, ...]

    @property
    def raw(self) -> bytes:
        return b"".join(line.raw for line in self.lines)

    @property
    def code(self) -> int | None:
        """The reply code (of the last line); None when it is not three digits."""
        last = self.lines[-1].code if self.lines else None
        return int(last) if last is not None else None

    @property
    def klass(self) -> int | None:
        """The first digit of the code: 2, 3, 4 or 5 (None when there is no code)."""
        code = self.code
        return code // 100 if code is not None else None

    @property
    def text(self) -> str:
        """All lines' text joined by newlines (what a person would read)."""
        return "\n".join(line.text for line in self.lines)

    @property
    def enhanced(self) -> str | None:
        """The enhanced status code at the start of the first line's text, if any."""
        if not self.lines:
            return None
        match = ENHANCED_PREFIX.match(self.lines[0].text_bytes)
        return match.group(0).decode("ascii") if match else None

    @property
    def enhanced_candidate(self) -> str | None:
        """Something shaped like an enhanced code at the start of the text, valid or not."""
        if not self.lines:
            return None
        match = ENHANCED_LIKE.match(self.lines[0].text_bytes)
        return match.group(0).decode("ascii") if match else None

    def one_line(self) -> str:
        """A compact single-line rendering for messages."""
        return " / ".join(line.body.decode("utf-8", errors="replace") for line in self.lines)

    def __str__(self) -> str:
        return self.one_line()


def split_complete_reply(buffer: bytes) -> tuple[Reply | None, bytes]:
    """Take one complete reply off the front of *buffer*.

    A line ends at LF (CRLF or bare LF; a bare CR inside a line stays in the line
    and is judged by the rules).  A reply ends at the first line that is not a
    continuation (``ddd-``).  A line with no code ends the reply too: a garbage
    line cannot announce more lines.  Returns ``(None, buffer)`` while the reply is
    still incomplete, however many lines it has so far: a reply is never cut
    short here (the client's caps abandon one that does not end, see
    ``client.MAX_REPLY_LINES``), since the lines after a cut would be misread as
    the replies to later commands.
    """
    lines: list[ReplyLine] = []
    pos = 0
    while True:
        newline = buffer.find(b"\n", pos)
        if newline < 0:
            return None, buffer
        raw = buffer[pos : newline + 1]
        terminator = b"\r\n" if raw.endswith(b"\r\n") else b"\n"
        line = ReplyLine(raw=raw, terminator=terminator)
        lines.append(line)
        pos = newline + 1
        if not line.is_continuation:
            return Reply(tuple(lines)), buffer[pos:]


def partial_reply(buffer: bytes) -> Reply | None:
    """Whatever arrived of a reply that never completed (for error messages)."""
    if not buffer:
        return None
    lines: list[ReplyLine] = []
    for piece in buffer.splitlines(keepends=True):
        term = b"\r\n" if piece.endswith(b"\r\n") else b"\n" if piece.endswith(b"\n") else b""
        lines.append(ReplyLine(raw=piece, terminator=term))
    return Reply(tuple(lines))
