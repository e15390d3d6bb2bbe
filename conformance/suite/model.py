"""The case model: what a YAML case file means once it has been validated.

Kept free of pytest and of the network, so the loader, the runner, the CLI
(`mta-conformance list`) and the suite linter share one definition.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class Expectation:
    """One condition on a reply.

    Without ``check`` the expectation is a precondition of the dialogue (an EHLO
    that must succeed): its failure fails the case without naming a catalogue
    check.  With ``check``, a failure is a finding of that check, with the
    severity the registry gives it (``condition`` picks among a row's severities).
    """

    codes: tuple[str, ...] = ()  #: "250", "2xx" or "{capture}"; any may match
    not_codes: tuple[int, ...] = ()
    enhanced: str | None = None
    text: str | None = None
    check: str | None = None
    condition: str | None = None
    why: str | None = None
    #: the expectation applies only to replies matching this code or class
    only_if: str | None = None
    #: an unmet precondition skips the case instead of failing it
    skip_if_unmet: bool = False
    #: an unmet precondition ends the dialogue and the case passes: the target did
    #: the better thing (refused in-session), so the later behaviour cannot arise
    pass_if_unmet: bool = False

    def allows_class(self, klass: int) -> bool:
        """Whether a reply of this class can satisfy the code part at all."""
        if not self.codes:
            return True
        return any(c.startswith("{") or c[0] == str(klass) for c in self.codes)


@dataclass(frozen=True)
class Step:
    send: str | None
    expectations: tuple[Expectation, ...]
    captures: tuple[tuple[str, str], ...] = ()
    repeat: int = 1
    disconnect_allowed: bool = False
    disconnect_check: str | None = None
    starttls: bool = False
    #: a 4yz reply failing an expectation is a finding, not an inconclusive verdict
    tempfail_is_finding: bool = False
    #: send DATA and a generated message; extra header lines for it
    data: bool = False
    data_headers: tuple[tuple[str, str], ...] = ()
    data_body: str | None = None
    #: "over-limit": pad the body past the SIZE the target advertised
    data_size: str | None = None
    line: int = 0  #: line of the step in its file


@dataclass(frozen=True)
class RecipientReport:
    """What the NDR must say about one recipient (one per-recipient block).

    Each given attribute is compared; a mismatch is a finding of ``check``.  The
    values are templates (placeholders allowed); ``status`` and ``diagnostic``
    are regular expressions, matched from the start of the field's value.
    """

    final: str
    check: str
    condition: str | None = None
    action: str | None = None
    status: str | None = None
    diagnostic: str | None = None
    #: True: Remote-MTA must be present (a remote server refused); False: absent (local failure)
    remote_mta: bool | None = None


@dataclass(frozen=True)
class NDRExpectation:
    """What must (or must not) reach the harness after the dialogue."""

    count: int
    check: str
    within: float | None = None
    envelope: bool = True
    lint: bool = True
    final_recipients: tuple[str, ...] | None = None
    #: the check (and condition) for NDRs beyond ``count``
    extra_check: str = "DSNX-022"
    extra_condition: str | None = None
    reports: tuple[RecipientReport, ...] = ()
    #: the NDR is a MAY: if none arrives that is reported as info, and only one that arrives is judged
    optional: bool = False
    #: only NDRs reporting one of these actions count (a delay case: "delayed"); () counts every NDR
    actions: tuple[str, ...] = ()


@dataclass(frozen=True)
class RelayExpectation:
    """What must (or must not) reach the harness's next hop: the relayed copy.

    ``hop`` names the port: "dsn" (advertises DSN) or "plain" (does not).
    ``dsn_params``: "passed-on" (RFC 3461 §5.2.1: ENVID, RET, NOTIFY unchanged,
    ORCPT byte-identical, nothing not received) or "none" (§5.2.2(a)).
    """

    count: int
    check: str
    hop: str = "dsn"
    dsn_params: str | None = None
    within: float | None = None


@dataclass(frozen=True)
class Case:
    id: str
    title: str
    suite: str
    checks: tuple[str, ...]
    steps: tuple[Step, ...]
    refs: tuple[str, ...] = ()
    requires: tuple[str, ...] = ()
    description: str = ""
    path: Path = field(default_factory=Path)
    line: int = 0
    ndr: NDRExpectation | None = None
    relayed: RelayExpectation | None = None

    @property
    def waits(self) -> bool:
        """Whether the case waits on the harness after its dialogue (sent first, judged later)."""
        return self.ndr is not None or self.relayed is not None

    @property
    def delivers(self) -> bool:
        """Whether the dialogue sends a message (a ``data`` step): such a case sends real mail."""
        return any(step.data for step in self.steps)

    @property
    def location(self) -> str:
        return f"{self.path}:{self.line}"


@dataclass(frozen=True)
class Suite:
    name: str
    title: str
    cases: tuple[Case, ...]
    path: Path
    description: str = ""
