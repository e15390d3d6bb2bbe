"""Where messages to lint come from: files, folders, stdin, mbox files.

Everything is a generator of (label, payload), read one message at a time, so a
folder or mbox of thousands of messages is linted in constant memory.  The
payload is the message's bytes, or why it was not read:

- ``Unread``: a verdict without a lint ("too large", "not a message", "not an
  mbox"): an input over the size cap, or one whose first line already shows it
  is not mail.  At most cap + 1 bytes of an input are read, so /dev/urandom, a
  FIFO or a huge file ends; an mbox message over the cap is skipped line by
  line to the next "From " line without being kept.
- ``Trouble``: no verdict, a line for stderr: an unreadable file or folder, or
  a folder without mail files.

A folder lints only mail files: ``*.eml`` and ``*.mbox``, the entries of maildir
``cur/`` and ``new/`` folders, and any other file that starts with a "From "
line or a header section holding a field every message has (From, Date,
Received, Content-Type...; ``classify.looks_like_mail_file``), so README,
MANIFEST.tsv, licence files, aliases files or SMTP transcripts are left out,
neither linted nor counted.
A file named on the command line is always linted.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from .classify import (
    Kind,
    looks_like_mail_file,
    looks_like_message,
    not_a_message_reason,
)

#: the default cap on one message (a bounce carrying back a large message fits)
DEFAULT_MAX_MESSAGE_SIZE = 32 * 1024 * 1024
#: bytes read at a time, and the longest piece of a line the mbox reader holds
CHUNK = 64 * 1024
#: how much of a folder's file is read to tell whether it is mail
SNIFF = 64 * 1024
#: file names that are mail whatever they hold
MAIL_SUFFIXES = (".eml", ".mbox")
MAILDIR_FOLDERS = ("cur", "new")


class SourceError(OSError):
    """An input that cannot be read; the message names it."""


@dataclass(frozen=True)
class Unread:
    """An input not linted, with its verdict (too large, not a message, not an mbox)."""

    kind: Kind
    detail: str


@dataclass(frozen=True)
class Trouble:
    """Not a verdict: one line for stderr.  *unreadable* makes the exit status 4, else 1."""

    reason: str
    unreadable: bool = True


Payload = bytes | Unread | Trouble


def parse_size(text: str) -> int:
    """``33554432``, ``32M``, ``64K``, ``1G`` (also ``32MiB``, ``32MB``: binary multiples) in bytes."""
    match = re.fullmatch(r"\s*(\d+)\s*(?:([KMG])(?:i?B)?|B)?\s*", text, re.IGNORECASE)
    if not match:
        raise ValueError(f"not a size: {text!r} (a number of bytes, or with K, M or G: 64K, 32M)")
    value = int(match.group(1)) * {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30}[(match.group(2) or "").upper()]
    if value < 1:
        raise ValueError("a message size cap must be at least 1 byte")
    return value


def format_size(size: int, short: bool = False) -> str:
    """32 MiB (or 32M for an option's value); bytes when not a whole multiple."""
    for unit, factor in (("G", 1 << 30), ("M", 1 << 20), ("K", 1 << 10)):
        if size >= factor and size % factor == 0:
            return f"{size // factor}{unit}" if short else f"{size // factor} {unit}iB"
    return f"{size}" if short else f"{size} bytes"


def too_large(cap: int, mbox: bool = False) -> Unread:
    what = "skipped to the next message" if mbox else "not read further"
    return Unread(Kind.TOO_LARGE, f"more than {format_size(cap)} ({cap} bytes), {what}; raise the cap with "
                  f"--max-message-size (e.g. --max-message-size {format_size(cap * 2, short=True)})")


def not_an_mbox(cap: int, read: int) -> Unread:
    where = f"in its first {format_size(cap)}, not read further" if read > cap else (
        "(the input is empty)" if read == 0 else "(a single message? lint it without --mbox)")
    return Unread(Kind.NOT_AN_MBOX, f'no "From " line starts a message {where}')


def check_paths(paths: list[Path]) -> None:
    """Every path named on the command line exists (else SourceError, before anything is linted)."""
    for path in paths:
        if str(path) == "-":
            continue
        try:
            os.lstat(path)
        except FileNotFoundError:
            raise SourceError(f"{path}: no such file or directory") from None
        except OSError:
            pass  # said when it is read (permission denied...)


def iter_messages(paths: list[Path], mbox: bool = False,
                  max_size: int = DEFAULT_MAX_MESSAGE_SIZE) -> Iterator[tuple[str, Payload]]:
    for path in paths:
        if str(path) == "-":
            yield from _read_stdin(mbox, max_size)
            continue
        try:
            folder = path.is_dir()
        except OSError:
            folder = False  # opening it says why
        if not folder:
            yield from _read_file(path, mbox, max_size)
            continue
        found = troubled = False
        for label, payload in _iter_folder(path, mbox, max_size):
            found = found or not isinstance(payload, Trouble)
            troubled = troubled or isinstance(payload, Trouble)
            yield label, payload
        if not found and not troubled:
            yield str(path), Trouble(f"no mail files in {path}", unreadable=False)


def _read_stdin(mbox: bool, max_size: int) -> Iterator[tuple[str, Payload]]:
    if sys.stdin is None:
        yield "-", Trouble("-: standard input is closed")
        return
    try:
        yield from _read_input("-", sys.stdin.buffer, mbox, max_size)
    except OSError as exc:
        yield "-", Trouble(f"-: {exc.strerror or exc}")


def _read_file(path: Path, mbox: bool, max_size: int) -> Iterator[tuple[str, Payload]]:
    try:
        with path.open("rb") as handle:
            yield from _read_input(str(path), handle, mbox, max_size)
    except OSError as exc:
        yield str(path), Trouble(f"{path}: {exc.strerror or exc}")


def _read_input(label: str, handle: BinaryIO, mbox: bool, max_size: int) -> Iterator[tuple[str, Payload]]:
    if mbox:
        for number, message in enumerate(_mbox_messages(handle, max_size), start=1):
            yield (label if isinstance(message, Unread) and message.kind is Kind.NOT_AN_MBOX
                   else f"{label}#{number}"), message
    else:
        yield label, read_message(handle, max_size)


def read_message(handle: BinaryIO, max_size: int = DEFAULT_MAX_MESSAGE_SIZE) -> bytes | Unread:
    """One message, or why not: at most *max_size* + 1 bytes are read.

    Reading also stops as soon as the first non-empty line shows the input is
    not mail (random bytes, a text file), so /dev/urandom ends at once.
    """
    chunks: list[bytes] = []
    size = 0
    judged: bool | None = None
    while size <= max_size:
        chunk = handle.read(min(CHUNK, max_size + 1 - size))
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
        if judged is None and size <= SNIFF * 16:  # undecided only while the input starts with blank lines
            head = b"".join(chunks)
            judged = looks_like_message(head, complete=False)
            if judged is False:
                return Unread(Kind.NOT_A_MESSAGE, not_a_message_reason(head))
    if size > max_size:
        return too_large(max_size)
    return b"".join(chunks)


def read_mbox(path: Path, max_size: int = DEFAULT_MAX_MESSAGE_SIZE) -> Iterator[bytes | Unread]:
    """Messages of an mbox file, streamed line by line (the "From " line is dropped)."""
    try:
        handle = path.open("rb")
    except OSError as exc:
        raise SourceError(f"{path}: {exc.strerror or exc}") from None
    with handle:
        yield from _mbox_messages(handle, max_size)


def _mbox_messages(handle: BinaryIO, max_size: int) -> Iterator[bytes | Unread]:
    """The messages of an mbox stream; a message over *max_size* is skipped, never held.

    A "From " line starts a message when it follows a blank line (or starts the
    input); ">From " lines are unescaped once.  Lines are read in pieces of at
    most CHUNK bytes, so a line without end (random bytes) is not held either.
    """
    message: list[bytes] = []
    size = 0  # of the current message
    before = 0  # bytes before the first "From " line (dropped, as mbox readers do)
    started = False  # a "From " line was seen
    over = False  # the current message passed the cap: skipping to the next "From " line
    in_from_line = False  # the rest of a (long) "From " line
    at_line_start = True
    line_blank = True  # the line being read is blank so far (the start of input counts as after one)
    for piece in iter(lambda: handle.readline(CHUNK), b""):
        if at_line_start:
            blank_before = line_blank
            line_blank = True
            in_from_line = False
            if blank_before and piece.startswith(b"From "):
                if started:
                    yield too_large(max_size, mbox=True) if over else _finish(message)
                started, over, message, size = True, False, [], 0
                in_from_line = True
            elif piece.startswith(b">From "):
                piece = piece[1:]
        at_line_start = piece.endswith(b"\n")
        if line_blank and piece.strip():
            line_blank = False
        if in_from_line:
            continue
        if not started:
            before += len(piece)
            if before > max_size:
                yield not_an_mbox(max_size, before)
                return
            continue
        if over:
            continue
        size += len(piece)
        if size > max_size:
            over, message = True, []
            continue
        message.append(piece)
    if started:
        yield too_large(max_size, mbox=True) if over else _finish(message)
    else:
        yield not_an_mbox(max_size, before)


def _finish(lines: list[bytes]) -> bytes:
    # the blank line before the next "From " belongs to the mbox format, not the message
    if lines and not lines[-1].strip():
        lines = lines[:-1]
    return b"".join(lines)


def _iter_folder(root: Path, mbox: bool, max_size: int) -> Iterator[tuple[str, Payload]]:
    """The mail files under *root*, in path order; unreadable folders and files are Trouble."""
    entries: list[tuple[Path, str | None]] = []

    def unreadable(exc: OSError) -> None:
        entries.append((Path(exc.filename or root), f"{exc.filename or root}: {exc.strerror or exc}"))

    for folder, dirs, files in os.walk(root, onerror=unreadable):
        dirs.sort()
        for name in files:
            path = Path(folder, name)
            if path.is_file():  # regular files (or links to them): no FIFOs, devices, sockets
                entries.append((path, None))
    entries.sort(key=lambda e: e[0])
    for path, trouble in entries:
        if trouble is not None:
            yield str(path), Trouble(trouble)
            continue
        if path.name.lower().endswith(MAIL_SUFFIXES) or path.parent.name in MAILDIR_FOLDERS:
            yield from _read_file(path, mbox, max_size)
            continue
        try:
            with path.open("rb") as handle:
                head = handle.read(SNIFF)
        except OSError as exc:
            yield str(path), Trouble(f"{path}: {exc.strerror or exc}")
            continue
        if looks_like_mail_file(head, complete=len(head) < SNIFF):
            yield from _read_file(path, mbox, max_size)
        # else: not mail, neither linted nor counted
