"""The page a failed case shows in pytest's output: what failed, where the case is, and the transcript.

Between the evidence and the transcript stand the parts of the captured NDRs
the findings point at (:mod:`.excerpts`); the whole page is made printable,
since replies and messages are the target's bytes.
"""

from __future__ import annotations

from ..run.result import CaseResult
from ..suite.model import Case
from .escape import printable
from .excerpts import excerpts


def pointed_at(case_id: str, result: CaseResult) -> list[str]:
    """The excerpt section of a failure (header line included), or nothing when no finding points into a message."""
    shown = excerpts(case_id, result, result.findings)
    return ["What the findings point at in the captured messages (> marks the line):", *shown] if shown else []


def render_failure(case: Case, result: CaseResult) -> str:
    """The case, its catalogue references, the evidence (``CaseResult.summary``), excerpts and the SMTP transcript."""
    lines = [f"{case.id}: {case.title}", f"  defined at {case.location}"]
    if case.refs:
        lines.append(f"  refs: {', '.join(case.refs)}")
    lines.append("")
    lines += [f"  {line}" for line in result.summary().splitlines()]
    section = pointed_at(case.id, result)
    if section:
        lines += ["", *section]
    if result.transcript:
        lines += ["", "SMTP transcript (-> sent, <- received, === harness note):", result.transcript]
    return printable("\n".join(lines))
