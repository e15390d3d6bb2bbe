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
        """The value without RFC 822 comments (parenthesised text), computed once (checks ask often)."""
        bare: str | None = self.__dict__.get("_bare")
        if bare is None:  # by hand: functools.cached_property takes a lock on every first access
            bare = strip_comments(self.value).strip()
            object.__setattr__(self, "_bare", bare)
        return bare

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


#: what the comment scanner stops at: parentheses open and close comments, a backslash quotes the next character
_COMMENT_MARK = re.compile(r"[()\\]")


def strip_comments(text: str) -> str:
    """Remove (possibly nested) parenthesised comments, honouring quoted pairs; an unclosed one runs to the end.

    Only the marks are visited (a regular expression finds them), so a value
    of a million characters without comments costs one search, and one of
    100,000 ``(`` one pass, never a regular expression's backtracking.
    """
    if "(" not in text:
        return text
    kept: list[str] = []
    depth = start = 0
    escaped_at = -1
    for mark in _COMMENT_MARK.finditer(text):
        at = mark.start()
        if at == escaped_at:
            continue
        char = mark.group()
        if char == "\\":
            escaped_at = at + 1
        elif char == "(":
            if depth == 0:
                kept.append(text[start:at])
            depth += 1
        elif depth:
            depth -= 1
            if depth == 0:
                start = at + 1
    if depth == 0:
        kept.append(text[start:])
    return "".join(kept)


def _lines(body: bytes) -> list[bytes]:
    """Split on CRLF, LF or bare CR, as real bounces mix them."""
    return re.split(rb"\r\n|\n|\r", body)


#: lines that are not fields described one by one; the rest are counted (a body of 100,000 junk lines is one fault)
PROBLEM_LIMIT = 50


def parse(body: bytes, first_line: int = 1) -> DeliveryStatus:
    """Parse a delivery-status body; *first_line* is its line number in the file."""
    blocks: list[Block] = []
    problems: _Problems = _Problems()
    extra_blank: list[int] = []
    current: Block | None = None
    pending: _Pending | None = None  # the field being read (it may continue on folded lines)

    def flush_field() -> None:
        nonlocal pending
        if pending is not None and current is not None:
            current.fields.append(Field(pending.name, " ".join(pending.parts).strip(), pending.line, pending.folded))
        pending = None

    lines = _lines(body.rstrip(b"\r\n"))  # trailing line ends at once: a million of them cost one call
    while lines and not lines[-1].strip():
        lines.pop()
    for index, raw in enumerate(lines):
        number = first_line + index
        if not raw.strip():
            if pending is not None:
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
    return DeliveryStatus(per_message, blocks[1:], problems.closed(), extra_blank)


class _Problems(list[Problem]):
    """The problems of a body: the first PROBLEM_LIMIT described, the others counted from where they start."""

    def __init__(self) -> None:
        super().__init__()
        self.more = 0
        self.first_more = 0

    def append(self, problem: Problem) -> None:
        if len(self) < PROBLEM_LIMIT:
            super().append(problem)
        else:
            self.more += 1
            self.first_more = self.first_more or problem.line

    def closed(self) -> list[Problem]:
        """The problems as a plain list, a last one saying how many more lines were not fields."""
        more = [Problem(self.first_more, f"{self.more} more lines from here on are not fields either (only the first "
                                          f"{PROBLEM_LIMIT} are described)")] if self.more else []
        return [*self, *more]
