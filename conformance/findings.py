"""Findings: what a check says about a reply, a dialogue or an NDR.

Every part of the project (the SMTP reply rules, the case runner, the NDR linter)
reports in the same currency: a :class:`Finding` that names a catalogue check id,
carries the severity that check has in the active profile, and says in plain words
what is wrong and where.  Verdicts are computed from findings only, so a check can
never pass or fail a case behind the report's back.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field


class Severity(enum.IntEnum):
    """How much a failed check matters; ordered so ``max()`` gives the worst."""

    INFO = 1
    WARNING = 2
    ERROR = 3

    def __str__(self) -> str:
        return self.name.lower()

    @classmethod
    def parse(cls, text: str) -> "Severity":
        try:
            return cls[text.strip().upper()]
        except KeyError:
            raise ValueError(f"unknown severity {text!r} (info, warning, error)") from None


class Profile(str, enum.Enum):
    """Judging profile.

    ``anti-backscatter`` (the default) treats accept-then-bounce and
    machine-unreadable NDRs as errors; ``strict-rfc`` keeps only what the RFC
    keywords demand.
    """

    ANTI_BACKSCATTER = "anti-backscatter"
    STRICT_RFC = "strict-rfc"

    def __str__(self) -> str:
        return self.value


class Outcome(str, enum.Enum):
    """The verdict of one case run."""

    PASSED = "passed"
    FAILED = "failed"
    #: the target answered 4yz where a verdict needs a final answer (greylisting)
    INCONCLUSIVE = "inconclusive"
    SKIPPED = "skipped"
    #: nothing was judged: the target failed the probe session or the harness could not listen
    COULD_NOT_TEST = "could-not-test"

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class Finding:
    """One failed check, or a noted observation (info)."""

    check_id: str
    severity: Severity
    message: str
    #: where it was seen: "reply to RCPT TO:<x> (step 4)", "line 12", ...
    where: str = ""
    #: RFC references of the check, e.g. ("RFC 5321 §4.2",)
    refs: tuple[str, ...] = field(default=())

    def render(self) -> str:
        ref = f"  [{'; '.join(self.refs)}]" if self.refs else ""
        loc = f" ({self.where})" if self.where else ""
        return f"{self.check_id} {self.severity}: {self.message}{loc}{ref}"


def worst(findings: "list[Finding] | tuple[Finding, ...]") -> Severity | None:
    """The highest severity among *findings*, or None when there are none."""
    return max((f.severity for f in findings), default=None)
