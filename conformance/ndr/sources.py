"""Where messages to lint come from: files, folders, stdin, mbox files.

Everything is a generator of (label, bytes), read one message at a time, so a
folder or mbox of thousands of messages is linted in constant memory.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path


class SourceError(OSError):
    """An input that cannot be read; the message names it."""


def iter_paths(paths: list[Path]) -> Iterator[Path]:
    for path in paths:
        if str(path) == "-":
            yield path
        elif path.is_dir():
            yield from sorted(p for p in path.rglob("*") if p.is_file())
        elif path.exists():
            yield path
        else:
            raise SourceError(f"{path}: no such file or directory")


def iter_messages(paths: list[Path], mbox: bool = False) -> Iterator[tuple[str, bytes]]:
    for path in iter_paths(paths):
        if str(path) == "-":
            data = sys.stdin.buffer.read()
            if mbox:
                yield from ((f"-#{i}", m) for i, m in enumerate(split_mbox_bytes(data), start=1))
            else:
                yield "-", data
            continue
        if mbox:
            yield from ((f"{path}#{i}", m) for i, m in enumerate(read_mbox(path), start=1))
            continue
        try:
            yield str(path), path.read_bytes()
        except OSError as exc:
            raise SourceError(f"{path}: {exc.strerror or exc}") from None


def read_mbox(path: Path) -> Iterator[bytes]:
    """Messages of an mbox file, streamed line by line (the "From " line is dropped)."""
    try:
        handle = path.open("rb")
    except OSError as exc:
        raise SourceError(f"{path}: {exc.strerror or exc}") from None
    with handle:
        current: list[bytes] = []
        previous_blank = True
        started = False
        for line in handle:
            if line.startswith(b"From ") and previous_blank:
                if started:
                    yield _finish(current)
                current = []
                started = True
                previous_blank = False
                continue
            current.append(line[1:] if line.startswith(b">From ") else line)
            previous_blank = not line.strip()
        if started or current:
            yield _finish(current)


def split_mbox_bytes(data: bytes) -> Iterator[bytes]:
    """An mbox read from stdin (already in memory)."""
    import tempfile

    with tempfile.NamedTemporaryFile() as tmp:
        tmp.write(data)
        tmp.flush()
        yield from read_mbox(Path(tmp.name))


def _finish(lines: list[bytes]) -> bytes:
    # the blank line before the next "From " belongs to the mbox format, not the message
    if lines and not lines[-1].strip():
        lines = lines[:-1]
    return b"".join(lines)
