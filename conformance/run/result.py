"""A case's result and the whole verdict rule.

Verdict rules, in order:

* a precondition (an expectation without a check id) that fails -> failed;
* the worst finding decides: error -> failed; warning -> failed only under
  ``--mta-strict``; info never fails;
* a precondition for the case itself that is not met -> skipped;
* a 4yz reply where the step needed a final answer -> inconclusive
  (greylisting and friends are not a verdict), which ``--mta-strict`` counts
  as a failure when the run is reported (:func:`fails_run`).

Everything that decides whether a case passed is here, so the plugin, the
reports and the exit status can only repeat it, never differ from it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..findings import Finding, Outcome, Severity
from ..harness.mailbox import Transaction


def failing(findings: list[Finding], strict: bool) -> list[Finding]:
    """The findings that fail a case: errors, and warnings under --mta-strict."""
    floor = Severity.WARNING if strict else Severity.ERROR
    return [f for f in findings if f.severity >= floor]


def decide(findings: list[Finding], errors: list[str], *, strict: bool, skipped: bool = False,
           inconclusive: bool = False) -> Outcome:
    """The outcome of one case from what its run recorded."""
    if errors or failing(findings, strict):
        return Outcome.FAILED
    if skipped:
        return Outcome.SKIPPED
    if inconclusive:
        return Outcome.INCONCLUSIVE
    return Outcome.PASSED


def fails_run(outcome: Outcome, strict: bool) -> bool:
    """Whether a case with *outcome* is reported as a failure (--mta-strict: no verdict is not good enough)."""
    return outcome is Outcome.FAILED or (strict and outcome is Outcome.INCONCLUSIVE)


@dataclass
class CaseResult:
    """What one case run found: its outcome, the evidence, and what NDR judges need later."""

    case_id: str
    outcome: Outcome
    findings: list[Finding] = field(default_factory=list)
    #: why the case failed without a finding (precondition, unreachable target)
    errors: list[str] = field(default_factory=list)
    reason: str = ""  #: skip or inconclusive reason
    transcript: str = ""
    token: str = ""
    captured: dict[str, str] = field(default_factory=dict)
    duration: float = 0.0
    #: wall-clock time the dialogue began: arrivals at the harness are reported relative to it
    started: float = 0.0
    #: what reached the harness for this case (its NDRs and relayed copies), for the reports to save and quote
    messages: list[Transaction] = field(default_factory=list)

    def summary(self) -> str:
        """What the result says, worst first: errors, findings with check ids and RFC sections, the reason.

        The one rendering of a result's evidence: failure messages, JUnit and
        the page a failed case shows all use it.
        """
        lines = list(self.errors)
        lines += [f.render() for f in sorted(self.findings, key=lambda f: -f.severity)]
        if self.reason:
            lines.append(self.reason)
        return "\n".join(lines)

    def failing_findings(self, strict: bool) -> list[Finding]:
        return failing(self.findings, strict)
