"""The findings of one case, collected once each, all made through the registry."""

from __future__ import annotations

from ..checks.registry import finding, note
from ..findings import Finding, Location, Profile


class FindingCollector:
    """A case's findings; a repeated step or a second NDR does not report the same thing twice."""

    def __init__(self, profile: Profile) -> None:
        self.profile = profile
        self.findings: list[Finding] = []
        #: why a captured message could not be fully judged: no verdict may pass over it
        self.unjudged: list[str] = []

    def add(self, check_id: str, message: str, where: Location | str = "", condition: str | None = None) -> None:
        """A failed check, with the severity the registry gives it under the run's profile."""
        self.keep(finding(check_id, message, profile=self.profile, condition=condition, where=where))

    def note(self, check_id: str, message: str, where: Location | str = "") -> None:
        """An observation that is no failure (info), e.g. a permitted postmaster notice."""
        self.keep(note(check_id, message, where=where))

    def keep(self, f: Finding) -> None:
        """Record *f* unless the same check already said the same thing."""
        if all((f.check_id, f.message) != (g.check_id, g.message) for g in self.findings):
            self.findings.append(f)

    def extend(self, findings: list[Finding]) -> None:
        for f in findings:
            self.keep(f)
