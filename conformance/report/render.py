"""The page a failed case shows in pytest's output: what failed, where the case is, and the transcript."""

from __future__ import annotations

from ..run.result import CaseResult
from ..suite.model import Case


def render_failure(case: Case, result: CaseResult) -> str:
    """The case, its catalogue references, the evidence (``CaseResult.summary``) and the SMTP transcript."""
    lines = [f"{case.id}: {case.title}", f"  defined at {case.location}"]
    if case.refs:
        lines.append(f"  refs: {', '.join(case.refs)}")
    lines.append("")
    lines += [f"  {line}" for line in result.summary().splitlines()]
    if result.transcript:
        lines += ["", "SMTP transcript (-> sent, <- received, === harness note):", result.transcript]
    return "\n".join(lines)
