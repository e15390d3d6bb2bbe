"""The NDR linter engine: bytes in, classification and findings out.

Classification comes first: only DSNs get DSN findings; a bounce that is not a
DSN gets the single finding MPR-001 (error under anti-backscatter, which wants
machine-readable NDRs; warning under strict-rfc, where RFC 5321 says SHOULD);
feedback reports, read receipts, auto-replies and ordinary mail get none.
An input whose first non-empty line is neither a header field nor a "From "
line is "not a message" and gets none either.
The engine never raises on any input: a check that fails internally is
recorded in ``internal_errors`` (a bug of ours, reported, never a crash).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..checks.registry import finding
from ..findings import Finding, Location, Profile, Severity
from .checks import DSN_CHECKS, HEADER_CHECKS
from .classify import VERDICTS, Kind, classify, looks_like_message, not_a_message_reason
from .context_checks import envelope_checks, returned_content_checks, wire_checks
from .envelope import Envelope
from .hits import Hit, NDRCheck
from .message import NDRMessage, load


@dataclass
class LintResult:
    """One input's verdict: its kind, the findings, and our own failures kept apart from the findings."""

    source: str
    kind: Kind
    findings: list[Finding] = field(default_factory=list)
    internal_errors: list[str] = field(default_factory=list)
    #: why the input was not judged ("too large", "not a message", "not an mbox")
    detail: str = ""

    @property
    def verdict(self) -> str:
        return f"{VERDICTS[self.kind]}: {self.detail}" if self.detail else VERDICTS[self.kind]

    def count(self, severity: Severity) -> int:
        return sum(1 for f in self.findings if f.severity is severity)

    @property
    def has_errors(self) -> bool:
        return self.count(Severity.ERROR) > 0


def lint_bytes(
    raw: bytes,
    *,
    profile: Profile = Profile.ANTI_BACKSCATTER,
    source: str = "-",
    envelope: Envelope | None = None,
    wire: bool = False,
    dsn_expected: bool = False,
) -> LintResult:
    """Lint one message given as bytes: parse it, then :func:`lint_message`.

    *envelope* enables the S+ctx checks; *wire* says *raw* are the bytes as
    transmitted (captured by the harness), which enables the C checks;
    *dsn_expected* says the target advertised DSN, which makes any NDR that is
    not a top-level multipart/report an MPR-001 error (RFC 3461 §6.2).
    """
    if not looks_like_message(raw):
        return LintResult(source, Kind.NOT_A_MESSAGE, detail=not_a_message_reason(raw))
    try:
        ndr = load(raw)
    except Exception as exc:  # noqa: BLE001 - never a traceback for a garbage NDR
        return unparsable(source, exc)
    return lint_message(ndr, profile=profile, source=source, envelope=envelope, wire=wire,
                        dsn_expected=dsn_expected)


def lint_message(
    ndr: NDRMessage,
    *,
    profile: Profile = Profile.ANTI_BACKSCATTER,
    source: str = "-",
    envelope: Envelope | None = None,
    wire: bool = False,
    dsn_expected: bool = False,
    where: Location | None = None,
) -> LintResult:
    """Lint a message already parsed (``message.load``), so a caller that parsed it does not parse it again.

    The options are :func:`lint_bytes`'s; *where* is the base location of every
    finding: with ``Location(ndr=1)`` a finding on line 12 is "NDR 1, line 12".
    """
    if not looks_like_message(ndr.raw):
        return LintResult(source, Kind.NOT_A_MESSAGE, detail=not_a_message_reason(ndr.raw))
    try:
        kind = classify(ndr)
    except Exception as exc:  # noqa: BLE001 - never a traceback for a garbage NDR
        return unparsable(source, exc)
    result = LintResult(source, kind)
    if kind.is_dsn:
        hits = _dsn_hits(ndr, result, envelope, wire)
    elif kind in (Kind.BOUNCE, Kind.DELAY_NOTICE):
        condition = "dsn-expected" if profile is Profile.ANTI_BACKSCATTER else "otherwise"
        hits = [Hit("MPR-001", f"this is {VERDICTS[kind]}: no multipart/report with a "
                    "machine-readable delivery-status part", 1, condition)]
    else:
        hits = []
    if dsn_expected:
        hits = [Hit(h.check_id, h.message, h.line, "dsn-expected") if h.check_id == "MPR-001" else h
                for h in hits]
    for hit in distinct(hits):
        line = Location(line=hit.line or None)
        result.findings.append(finding(hit.check_id, hit.message, profile=profile, condition=hit.condition,
                                       where=line.within(where) if where is not None else line))
    result.findings.sort(key=lambda f: f.where.line or 0)
    return result


def distinct(hits: list[Hit]) -> list[Hit]:
    """*hits* without repeats: the same check, message and line is one finding, kept where it first came.

    Two checks (or one check over two blocks naming the same recipient) may
    find the same thing; a reader is told it once.
    """
    seen: set[tuple[str, str, int]] = set()
    kept: list[Hit] = []
    for hit in hits:
        key = (hit.check_id, hit.message, hit.line)
        if key not in seen:
            seen.add(key)
            kept.append(hit)
    return kept


def unparsable(source: str, exc: Exception) -> LintResult:
    """The verdict for a message the parser or classifier choked on: a bug of ours, reported."""
    result = LintResult(source, Kind.OTHER)
    result.internal_errors.append(f"cannot parse: {type(exc).__name__}: {exc}")
    return result


def _dsn_hits(ndr: NDRMessage, result: LintResult, envelope: Envelope | None, wire: bool) -> list[Hit]:
    """Every check that applies to a DSN; a check that fails internally goes to ``internal_errors``."""
    runs: list[NDRCheck] = [*HEADER_CHECKS, *DSN_CHECKS]
    if envelope is not None:
        runs.append(lambda n: envelope_checks(n, envelope))
        runs.append(lambda n: returned_content_checks(n, envelope))
    if wire:
        runs.append(lambda n: wire_checks(n.raw))
    hits: list[Hit] = []
    for check in runs:
        try:
            hits.extend(check(ndr))
        except Exception as exc:  # noqa: BLE001
            result.internal_errors.append(f"{getattr(check, '__name__', 'check')}: {type(exc).__name__}: {exc}")
    return hits
