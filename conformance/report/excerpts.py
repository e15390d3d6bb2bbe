"""The parts of a captured NDR (or relayed copy) a failed case's findings point at.

A finding at line 188 of an NDR is read beside that line: for each message a
finding names, the failure shows its header and, for each finding with a line,
that line with a few lines around it, numbered as the linter numbers them.
The whole is capped (:data:`LIMIT` lines); what is left out is said, with the
file the whole message was saved as.  Every line passes through ``printable``:
the bytes are the target's.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..findings import Finding
from ..harness.mailbox import Transaction
from ..ndr.message import split_lines
from ..run.result import CaseResult
from .escape import printable
from .evidence import judged_as, message_path

LIMIT = 200  #: lines of excerpts at most, over all messages of a case
CONTEXT = 3  #: lines shown before and after a line a finding points at
HEADER_LINES = 30  #: header lines shown at most per message
WIDTH = 300  #: characters shown at most per line


@dataclass
class _Shown:
    """One message's excerpt: its label, its lines, and the line numbers findings point at."""

    label: str
    number: int
    tx: Transaction
    marked: dict[int, list[str]] = field(default_factory=dict)  #: line -> the check ids pointing at it


def _label_of(finding: Finding) -> str | None:
    where = finding.where
    if where.ndr is not None:
        return f"NDR {where.ndr}"
    if where.relayed is not None:
        return f"relayed copy {where.relayed}"
    return None


def _pointed_at(result: CaseResult, findings: list[Finding]) -> list[_Shown]:
    """The captured messages the findings name, each with the lines they point at."""
    labels = judged_as(result.transcript)
    by_label = {labels[tx.id]: (number, tx) for number, tx in enumerate(result.messages, start=1)
                if tx.id in labels and tx.data is not None}
    shown: dict[str, _Shown] = {}
    for finding in findings:
        label = _label_of(finding)
        if label is None or label not in by_label:
            continue
        number, tx = by_label[label]
        entry = shown.setdefault(label, _Shown(label, number, tx))
        if finding.where.line is not None:
            entry.marked.setdefault(finding.where.line, []).append(finding.check_id)
    return sorted(shown.values(), key=lambda s: s.number)


def _line(number: int, text: bytes, marks: list[str] | None) -> str:
    shown = printable(text.decode("utf-8", "replace"))
    if len(shown) > WIDTH:
        shown = shown[:WIDTH] + f" [... {len(shown) - WIDTH} more characters]"
    prefix = ">" if marks else " "
    suffix = f"    <- {', '.join(dict.fromkeys(marks))}" if marks else ""
    return f"  {prefix}{number:5d} | {shown}{suffix}"


def _wanted(lines: list[bytes], entry: _Shown) -> list[int]:
    """Line numbers to show (1-based): the header (capped), then each marked line with its context."""
    header_end = next((i for i, line in enumerate(lines) if not line.strip()), len(lines))
    wanted = list(range(1, min(header_end, HEADER_LINES) + 1))
    for line in sorted(entry.marked):
        wanted += range(max(1, line - CONTEXT), min(len(lines), line + CONTEXT) + 1)
    return sorted(set(wanted))


def excerpts(case_id: str, result: CaseResult, findings: list[Finding], limit: int = LIMIT) -> list[str]:
    """The lines of the captured messages *findings* point at, numbered and capped at *limit* lines."""
    out: list[str] = []
    left_out = 0
    for entry in _pointed_at(result, findings):
        lines = split_lines(entry.tx.data or b"")
        if lines and lines[-1] == b"":
            lines.pop()  # what follows the last line's end is no line
        wanted = _wanted(lines, entry)
        if len(out) + 1 >= limit:
            left_out += len(wanted)
            continue
        saved = message_path(case_id, entry.number)
        out.append(f"{entry.label} ({len(lines)} lines; saved whole as {saved} in the report folder):")
        previous = 0
        for number in wanted:
            if len(out) >= limit:
                left_out += len([n for n in wanted if n >= number])
                break
            if previous and number > previous + 1:
                out.append("        ...")
            out.append(_line(number, lines[number - 1], entry.marked.get(number)))
            previous = number
        beyond = [line for line in entry.marked if line > len(lines)]
        if beyond:
            out.append(f"  (line {', '.join(map(str, sorted(beyond)))} is past the end of the message)")
    if left_out:
        out.append(f"({left_out} more line(s) left out: at most {limit} are shown; the whole messages are saved "
                   f"under {message_path(case_id, 1).rsplit('/', 1)[0]}/ in the report folder)")
    return out
