"""Raw parser for the body of a message/delivery-status part (RFC 3464 §2.1).

Python's email package splits this body at blank lines into nested Message
objects and hides what a lint must see: field order, duplicates, folding,
comments, stray blank lines and line numbers.  This parser keeps all of it and
never raises: whatever it cannot read becomes a ``Problem`` for the checks to
report (DSN-FMT-001, DSN-SEM-031).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_FIELD_NAME = re.compile(rb"^([!-9;-~]+)[ \t]*:")


@dataclass(frozen=True)
class Field:
    name: str  #: as written
    value: str  #: unfolded, surrounding white space removed, comments kept
    line: int  #: line number in the file where the field starts
    folded: bool = False
    key: str = field(default="", compare=False)  #: the name lower-cased, computed once

    def __post_init__(self) -> None:
        object.__setattr__(self, "key", self.name.lower())

    @property
    def bare(self) -> str:
        """The value without RFC 822 comments (parenthesised text)."""
        return strip_comments(self.value).strip()

    def typed(self) -> tuple[str | None, str]:
        """``type; value`` -> (type, value); (None, value) when there is no ';'."""
        kind, semi, rest = self.value.partition(";")
        if not semi:
            return None, self.value.strip()
        return strip_comments(kind).strip(), rest.strip()


@dataclass
class Block:
    fields: list[Field] = field(default_factory=list)
    line: int = 0

    def get(self, key: str) -> list[Field]:
        return [f for f in self.fields if f.key == key]

    def first(self, key: str) -> Field | None:
        found = self.get(key)
        return found[0] if found else None


@dataclass(frozen=True)
class Problem:
    line: int
    message: str


@dataclass
class DeliveryStatus:
    per_message: Block
    recipients: list[Block]
    problems: list[Problem] = field(default_factory=list)
    #: blank lines beyond the single separator (line numbers)
    extra_blank_lines: list[int] = field(default_factory=list)


@dataclass
class _Pending:
    name: str
    parts: list[str]
    line: int
    folded: bool = False


def strip_comments(text: str) -> str:
    """Remove (possibly nested) parenthesised comments, honouring quoted pairs."""
    out, depth, escaped = [], 0, False
    for ch in text:
        if escaped:
            escaped = False
            if depth == 0:
                out.append(ch)
            continue
        if ch == "\\":
            escaped = True
            if depth == 0:
                out.append(ch)
            continue
        if ch == "(":
            depth += 1
            continue
        if ch == ")" and depth:
            depth -= 1
            continue
        if depth == 0:
            out.append(ch)
    return "".join(out)


def _lines(body: bytes) -> list[bytes]:
    """Split on CRLF, LF or bare CR, as real bounces mix them."""
    return re.split(rb"\r\n|\n|\r", body)


def parse(body: bytes, first_line: int = 1) -> DeliveryStatus:
    """Parse a delivery-status body; *first_line* is its line number in the file."""
    blocks: list[Block] = []
    problems: list[Problem] = []
    extra_blank: list[int] = []
    current: Block | None = None
    pending: _Pending | None = None  # the field being read (it may continue on folded lines)

    def flush_field() -> None:
        nonlocal pending
        if pending is not None and current is not None:
            current.fields.append(Field(pending.name, " ".join(pending.parts).strip(), pending.line, pending.folded))
        pending = None

    lines = _lines(body)
    while lines and not lines[-1].strip():
        lines.pop()
    for index, raw in enumerate(lines):
        number = first_line + index
        if not raw.strip():
            flush_field()
            if current is not None:
                blocks.append(current)
                current = None
            elif blocks:
                extra_blank.append(number)
            continue
        text = raw.decode("utf-8", errors="replace")
        if raw[:1] in (b" ", b"\t"):
            if pending is not None:
                pending.parts.append(text.strip())
                pending.folded = True
            else:
                problems.append(Problem(number, f"continuation line without a field: {text.strip()[:60]!r}"))
            continue
        match = _FIELD_NAME.match(raw)
        if not match:
            flush_field()
            problems.append(Problem(number, f"not a 'Name: value' field: {text.strip()[:60]!r}"))
            continue
        flush_field()
        if current is None:
            current = Block(line=number)
        name = match.group(1).decode("ascii", errors="replace")
        pending = _Pending(name, [text[match.end():].strip()], number)
    flush_field()
    if current is not None:
        blocks.append(current)
    per_message = blocks[0] if blocks else Block(line=first_line)
    return DeliveryStatus(per_message, blocks[1:], problems, extra_blank)
