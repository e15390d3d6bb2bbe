"""The NDR linter engine: bytes in, classification and findings out.

Classification comes first: only DSNs get DSN findings; a bounce that is not a
DSN gets the single finding MPR-001 (error under anti-backscatter, which wants
machine-readable NDRs, or from a target that advertised DSN; warning under
strict-rfc, where RFC 5321 says SHOULD); feedback reports, read receipts,
auto-replies and ordinary mail get none.  A delivery-status part inside a
top-level multipart/mixed is judged field by field, but the message is no DSN
(RFC 3464 §2: a DSN's top-level type is multipart/report), and its verdict says
so; a report nested in a forwarded message is one still (RFC 6522 §1).
An input whose first non-empty line is neither a header field nor a "From "
line is "not a message" and gets none either.
The engine never raises on any input: a check that fails internally is
recorded in ``internal_errors`` (a bug of ours, reported, never a crash).
Such an input, or one read only in part (multiparts nested too deep, a
time budget spent), is never passed as fine: its verdict says it "could not be
fully judged", and ``lint`` exits non-zero for it.
"""

from __future__ import annotations

import time
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
    #: what the verdict's words need added: why the input was not judged ("too large",
    #: "not a message", "not an mbox"), or why a message with a delivery-status part is no DSN
    detail: str = ""
    #: why part of the input was not judged (nesting too deep, the time budget spent): sentences
    incomplete: list[str] = field(default_factory=list)

    @property
    def fully_judged(self) -> bool:
        """Was every check run on every part read?  False after an internal error or a part left unread."""
        return not self.internal_errors and not self.incomplete

    @property
    def verdict(self) -> str:
        kind = f"{VERDICTS[self.kind]}: {self.detail}" if self.detail else VERDICTS[self.kind]
        if self.fully_judged:
            return kind
        why = list(self.incomplete)
        if self.internal_errors:
            why.append(f"the linter failed inside ({len(self.internal_errors)} internal error(s): "
                       f"{self.internal_errors[0]})")
        return f"could not be fully judged: {'; '.join(why)}; judged so far as {kind}"

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
    dsn_advertised: bool | None = None,
    budget_s: float | None = None,
) -> LintResult:
    """Lint one message given as bytes: parse it, then :func:`lint_message`.

    *envelope* enables the S+ctx checks; *wire* says *raw* are the bytes as
    transmitted (captured by the harness), which enables the C checks;
    *dsn_advertised* says whether the target advertised DSN (None: unknown,
    then the envelope's ``dsn_advertised`` decides): with True any NDR that is
    not a top-level multipart/report is an MPR-001 error (RFC 3461 §6.2), with
    False the envelope's DSN parameters (ORCPT, NOTIFY, RET, ENVID) are not held
    against the NDR, since the target never offered them.
    """
    if not looks_like_message(raw):
        return LintResult(source, Kind.NOT_A_MESSAGE, detail=not_a_message_reason(raw))
    try:
        ndr = load(raw)
    except Exception as exc:  # noqa: BLE001 - never a traceback for a garbage NDR
        return unparsable(source, exc)
    return lint_message(ndr, profile=profile, source=source, envelope=envelope, wire=wire,
                        dsn_advertised=dsn_advertised, budget_s=budget_s)


def mpr_001_condition(profile: Profile, dsn_advertised: bool | None, *, nested: bool = False) -> str:
    """The MPR-001 condition key for an NDR that is not a top-level multipart/report.

    "dsn-expected" (an error) when the target advertised DSN, for RFC 3461
    §6.2 then wants a DSN, or under anti-backscatter, the profile that wants
    machine-readable NDRs; "otherwise" (a warning: RFC 5321 §3.6.3 says SHOULD)
    for the rest, and always for a report *nested* inside another part (a
    forwarded report, which RFC 6522 §1 allows).  The live judge and the linter
    both ask this one function, so they cannot disagree.
    """
    if nested:
        return "otherwise"
    return "dsn-expected" if dsn_advertised or profile is Profile.ANTI_BACKSCATTER else "otherwise"


def lint_message(
    ndr: NDRMessage,
    *,
    profile: Profile = Profile.ANTI_BACKSCATTER,
    source: str = "-",
    envelope: Envelope | None = None,
    wire: bool = False,
    dsn_advertised: bool | None = None,
    where: Location | None = None,
    budget_s: float | None = None,
) -> LintResult:
    """Lint a message already parsed (``message.load``), so a caller that parsed it does not parse it again.

    The options are :func:`lint_bytes`'s; *where* is the base location of every
    finding: with ``Location(ndr=1)`` a finding on line 12 is "NDR 1, line 12".
    *budget_s* bounds the wall-clock seconds spent here (a live run lints every
    NDR a target sends): once spent, no further check starts, and the result
    says "linting stopped after N s" and is not fully judged.
    """
    started = time.monotonic()
    if not looks_like_message(ndr.raw):
        return LintResult(source, Kind.NOT_A_MESSAGE, detail=not_a_message_reason(ndr.raw))
    try:
        kind = classify(ndr)
    except Exception as exc:  # noqa: BLE001 - never a traceback for a garbage NDR
        return unparsable(source, exc)
    advertised = dsn_advertised if dsn_advertised is not None else (
        envelope.dsn_advertised if envelope is not None else None)
    shown, detail = not_a_report(ndr, kind)
    result = LintResult(source, shown, detail=detail, incomplete=list(ndr.unread))
    if kind.is_dsn:
        clock = _Budget(started, budget_s)
        hits = _dsn_hits(ndr, result, envelope, wire, dsn_params=advertised is not False, clock=clock)
    elif kind in (Kind.BOUNCE, Kind.DELAY_NOTICE):
        hits = [Hit("MPR-001", f"this is {VERDICTS[kind]}: no multipart/report with a "
                    "machine-readable delivery-status part (RFC 3464 §2)", 1)]
    else:
        hits = []
    condition = mpr_001_condition(profile, advertised, nested=ndr.status_nested)
    for hit in capped(distinct(hits)):
        line = Location(line=hit.line or None)
        result.findings.append(finding(hit.check_id, shortened(hit.message), profile=profile,
                                       condition=condition if hit.check_id == "MPR-001" else hit.condition,
                                       where=line.within(where) if where is not None else line))
    result.findings.sort(key=lambda f: f.where.line or 0)
    return result


#: what a delivery-status part in a top-level multipart other than multipart/report reports, as a verdict
_NOT_A_REPORT = {Kind.DSN_FAILURE: Kind.BOUNCE, Kind.DSN_DELAY: Kind.DELAY_NOTICE, Kind.DSN_SUCCESS: Kind.OTHER}


def not_a_report(ndr: NDRMessage, kind: Kind) -> tuple[Kind, str]:
    """The verdict's kind and detail: a DSN kind only for a multipart/report, top-level or nested.

    RFC 3464 §2 defines a DSN as a message whose top-level type is
    multipart/report: a multipart/mixed with a delivery-status part among its
    own parts is a bounce (or a delay or success notice) that is not a DSN, and
    its verdict must not call it one.  A report nested in a forwarded message
    (RFC 6522 §1) keeps its kind.
    """
    if not kind.is_dsn or ndr.status_nested or ndr.content_type == "multipart/report" or ndr.status is None:
        return kind, ""
    what = "a success notice that is not an RFC 3464 DSN; " if kind is Kind.DSN_SUCCESS else ""
    return _NOT_A_REPORT[kind], (f"{what}the top-level type is {ndr.content_type}, which holds a "
                                 "message/delivery-status part, but a DSN is a top-level multipart/report "
                                 "(RFC 3464 §2)")


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


@dataclass
class _Budget:
    """The wall-clock seconds lint_message may still spend (None: no limit)."""

    started: float
    seconds: float | None

    def spent(self) -> float | None:
        """The seconds spent so far if the budget is used up, else None."""
        if self.seconds is None:
            return None
        elapsed = time.monotonic() - self.started
        return elapsed if elapsed > self.seconds else None


#: the longest finding message kept whole: longer ones quote a hostile value, whose middle is left out
MESSAGE_LIMIT = 600


def shortened(message: str) -> str:
    """*message* with the middle of an overlong quote left out, its start and its explanation at the end kept."""
    if len(message) <= MESSAGE_LIMIT:
        return message
    left_out = len(message) - 500
    return f"{message[:300]}... [{left_out} characters left out] ...{message[-200:]}"


#: findings of one check kept per message: a fault written 100,000 times is reported a hundred times and counted
PER_CHECK_LIMIT = 100


def capped(hits: list[Hit]) -> list[Hit]:
    """*hits* with at most PER_CHECK_LIMIT of each check, and for a check with more, one hit counting the rest.

    Making a finding costs more than finding it: a message that repeats one
    fault on every line must not cost seconds, and nobody reads the
    hundred-and-first copy.
    """
    if len(hits) <= PER_CHECK_LIMIT:
        return hits
    seen: dict[str, int] = {}
    kept: list[Hit] = []
    first_left: dict[str, Hit] = {}
    for hit in hits:
        seen[hit.check_id] = seen.get(hit.check_id, 0) + 1
        if seen[hit.check_id] <= PER_CHECK_LIMIT:
            kept.append(hit)
        else:
            first_left.setdefault(hit.check_id, hit)
    for check_id, hit in first_left.items():
        kept.append(Hit(check_id, f"{seen[check_id] - PER_CHECK_LIMIT} more findings of this check from here "
                    f"on are not listed (the first {PER_CHECK_LIMIT} are)", hit.line, hit.condition))
    return kept


def unparsable(source: str, exc: Exception) -> LintResult:
    """The verdict for a message the parser or classifier choked on: a bug of ours, reported, never "fine"."""
    result = LintResult(source, Kind.OTHER)
    result.internal_errors.append(f"cannot parse: {type(exc).__name__}: {exc}")
    return result


def _dsn_hits(ndr: NDRMessage, result: LintResult, envelope: Envelope | None, wire: bool, *,
              dsn_params: bool = True, clock: _Budget | None = None) -> list[Hit]:
    """Every check that applies to a DSN; a check that fails internally goes to ``internal_errors``.

    Without *dsn_params* (the target did not advertise DSN) the checks against
    ORCPT, NOTIFY, RET and ENVID do not run.  Once *clock*'s budget is spent,
    the checks left are not started, and ``incomplete`` says how many.
    """
    runs: list[NDRCheck] = [*HEADER_CHECKS, *DSN_CHECKS]
    if envelope is not None:
        runs.append(lambda n: envelope_checks(n, envelope, dsn_params=dsn_params))
        runs.append(lambda n: returned_content_checks(n, envelope, dsn_params=dsn_params))
    if wire:
        runs.append(lambda n: wire_checks(n.raw))
    hits: list[Hit] = []
    for index, check in enumerate(runs):
        elapsed = clock.spent() if clock is not None else None
        if clock is not None and elapsed is not None:
            result.incomplete.append(f"linting stopped after {elapsed:.1f} s (the budget is {clock.seconds:g} s): "
                                     f"{len(runs) - index} of {len(runs)} checks did not run")
            break
        try:
            hits.extend(check(ndr))
        except Exception as exc:  # noqa: BLE001
            result.internal_errors.append(f"{getattr(check, '__name__', 'check')}: {type(exc).__name__}: {exc}")
    return hits
