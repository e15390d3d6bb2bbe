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
    def parse(cls, text: str) -> Severity:
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
class Location:
    """Where a finding was seen, as numbers a report can point at (and highlight) plus words.

    Kept structured, never as text to be parsed back: a step of the case (and its
    line in the case file), a captured NDR or relayed copy by number, a line of
    the message judged.  ``str()`` is the one rendering, e.g. ``step 4, line 31:
    reply to RCPT TO:<x>`` or ``NDR 1, line 12``.
    """

    step: int | None = None  #: the case step (1-based)
    case_line: int | None = None  #: that step's line in the case file
    ndr: int | None = None  #: which NDR captured for the case (1-based)
    relayed: int | None = None  #: which relayed copy captured for the case (1-based)
    line: int | None = None  #: line of the message judged (an NDR, a linted file)
    detail: str = ""  #: what the numbers do not say: "reply to RCPT TO:<x>", "after the dialogue"

    def __str__(self) -> str:
        parts = [f"{label} {number}" for label, number in (
            ("NDR", self.ndr), ("relayed copy", self.relayed), ("step", self.step), ("line", self.case_line),
            ("line", self.line)) if number is not None]
        head = ", ".join(parts)
        if head and self.detail:
            return f"{head}: {self.detail}"
        return head or self.detail

    def __bool__(self) -> bool:
        return bool(str(self))

    def within(self, outer: Location) -> Location:
        """This location inside *outer* (a line of a linted message inside NDR 2 of a case)."""
        return Location(
            step=self.step if self.step is not None else outer.step,
            case_line=self.case_line if self.case_line is not None else outer.case_line,
            ndr=self.ndr if self.ndr is not None else outer.ndr,
            relayed=self.relayed if self.relayed is not None else outer.relayed,
            line=self.line if self.line is not None else outer.line,
            detail=self.detail or outer.detail,
        )

    def as_dict(self) -> dict[str, int | str]:
        """The parts that are set, for machine-readable reports."""
        return {name: value for name, value in (
            ("step", self.step), ("case_line", self.case_line), ("ndr", self.ndr), ("relayed", self.relayed),
            ("line", self.line), ("detail", self.detail)) if value not in (None, "")}


@dataclass(frozen=True)
class Finding:
    """One failed check, or a noted observation (info)."""

    check_id: str
    severity: Severity
    message: str
    #: where it was seen (plain words are taken as a Location's detail)
    where: Location = field(default_factory=Location)
    #: RFC references of the check, e.g. ("RFC 5321 §4.2",)
    refs: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        if isinstance(self.where, str):
            object.__setattr__(self, "where", Location(detail=self.where))

    def render(self) -> str:
        ref = f"  [{'; '.join(self.refs)}]" if self.refs else ""
        loc = f" ({self.where})" if self.where else ""
        return f"{self.check_id} {self.severity}: {self.message}{loc}{ref}"


def worst(findings: list[Finding] | tuple[Finding, ...]) -> Severity | None:
    """The highest severity among *findings*, or None when there are none."""
    return max((f.severity for f in findings), default=None)
