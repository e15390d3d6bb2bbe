"""Finding a delivery-status part below the top level, by a walk that is bounded in depth and in parts.

A report may sit inside a multipart/mixed, or inside a forwarded message
(RFC 6522 §1).  The email package's parser follows every level by recursion:
1,000 nested multiparts raised RecursionError, and the linter then called a
valid bounce "not a bounce".  This walk reads each level with the linter's own
header reader and boundary splitter, keeps line numbers, goes at most
:data:`NEST_LIMIT` levels down and looks at most at :data:`PART_LIMIT` parts;
what it could not reach it says, and the verdict then says the input could
not be fully judged.
"""

from __future__ import annotations

import email.message
from dataclasses import dataclass, field

from .headers import header_section_end, message_from_headers, read_headers, split_lines
from .message import STATUS_TYPES, Part, param, split_parts

#: how many levels of multiparts and enclosed messages are followed (real NDRs nest two or three)
NEST_LIMIT = 20
#: how many body parts the walk looks at in all
PART_LIMIT = 5_000
_ENCLOSED = ("message/rfc822", "message/global")


@dataclass
class _Walk:
    """What the walk has seen: parts counted, and why some were not reached."""

    parts: int = 0
    unread: list[str] = field(default_factory=list)

    def note(self, why: str) -> None:
        if why not in self.unread:
            self.unread.append(why)


def find_status(message: email.message.Message, body: bytes, body_line: int) -> tuple[Part | None, list[str]]:
    """The first delivery-status part below the top entity (*message* with *body*), and what was not read."""
    walk = _Walk()
    return _search(message, body, body_line, 0, walk), walk.unread


def _search(message: email.message.Message, body: bytes, body_line: int, depth: int, walk: _Walk) -> Part | None:
    """The first delivery-status part inside the entity (*message*, *body*), depth first."""
    kind = message.get_content_type()
    if depth >= NEST_LIMIT:
        if kind.startswith("multipart/") or kind in _ENCLOSED:
            walk.note(f"multiparts and enclosed messages nested deeper than {NEST_LIMIT} levels were not read")
        return None
    if kind in _ENCLOSED:
        end, start = header_section_end(body)
        lines = split_lines(body[:end])
        headers, _ = read_headers(lines, body_line)
        inner = message_from_headers(headers)
        if inner.get_content_type() in STATUS_TYPES:
            return None  # a message whose top is a delivery-status is no report: not looked into
        return _search(inner, body[start:], body_line + body.count(b"\n", 0, start), depth + 1, walk)
    boundary = param(message, "boundary") if kind.startswith("multipart/") else None
    if not boundary:
        return None
    for part in split_parts(body, boundary, body_line):
        walk.parts += 1
        if walk.parts > PART_LIMIT:
            walk.note(f"only the first {PART_LIMIT} body parts were read")
            return None
        if part.content_type in STATUS_TYPES:
            return part
        found = _search(part.message, part.body, part.body_line, depth + 1, walk)
        if found is not None:
            return found
    return None
