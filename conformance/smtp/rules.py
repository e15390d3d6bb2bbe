"""Reply rules checked on every reply the client reads.

RFC 5321 §4.2 (reply syntax), §2.3.8 (CRLF), §4.5.3.1.5 (line length) and
RFC 2034 / RFC 3463 (enhanced codes) apply to each reply whatever the case is
about, so the runner passes every reply through :func:`check_reply`; a case
that probes unknown recipients also fails when its refusal is malformed.
Missing, duplicated and unsolicited replies (SMTP-RPL-007) are seen by the
runner, which knows what it asked; see :func:`unsolicited_finding`.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..checks.registry import finding
from ..findings import Finding, Location, Profile
from . import enhanced
from .codes import RCPT_SEQUENCE, is_registered, out_of_context
from .reply import ENHANCED_LIKE, Reply

#: replies RFC 2034 exempts from carrying an enhanced code
_ESC_EXEMPT_COMMANDS = frozenset({"GREETING", "EHLO", "HELO", "LHLO"})
#: RFC 5321 §4.3.2: these may answer any command
_ANY_COMMAND_CODES = frozenset({421, 500, 501, 502})


@dataclass(frozen=True)
class ReplyContext:
    """What the reply answered and what the session negotiated."""

    command: str  #: GREETING, EHLO, HELO, MAIL, RCPT, DATA, DATA-END, RSET, QUIT, ...
    profile: Profile
    esc_advertised: bool = False
    helo_session: bool = False  #: the session said HELO, not EHLO
    where: Location | str = ""
    #: the EHLO keywords the target offered (upper case); None when unknown (an extension's code is then not judged)
    extensions: frozenset[str] | None = None


def check_reply(reply: Reply, ctx: ReplyContext) -> list[Finding]:
    """All reply-rule findings for one reply (empty when it is well formed)."""
    out: list[Finding] = []

    def add(check_id: str, message: str, condition: str | None = None) -> None:
        out.append(finding(check_id, message, profile=ctx.profile, condition=condition, where=ctx.where))

    _syntax_rules(reply, add)
    code = reply.code
    if code is not None:
        _code_rules(reply, code, ctx, add)
        _enhanced_rules(reply, code, ctx, add)
    return out


def _syntax_rules(reply: Reply, add) -> None:  # type: ignore[no-untyped-def]
    codes_seen: set[str] = set()
    for index, line in enumerate(reply.lines, start=1):
        body = line.body
        label = f"line {index} {body[:60]!r}" if len(reply.lines) > 1 else repr(body[:60])
        code = line.code
        # SMTP-RPL-001: three digits, first 2-5, second 0-5
        if code is None:
            add("SMTP-RPL-001", f"reply {label} does not start with a three-digit code")
        elif code[0] not in "2345" or code[1] not in "012345":
            add("SMTP-RPL-001", f"reply code {code} is outside the RFC 5321 grammar (first digit 2-5, second 0-5)")
        if code is not None:
            codes_seen.add(code)
            sep = line.separator
            is_last = index == len(reply.lines)
            # SMTP-RPL-002: "-" on all lines but the last, SP (or nothing) on the last
            if not is_last and sep != b"-":
                add("SMTP-RPL-002", f"multiline reply {label}: a line before the last must be code '-' text")
            if is_last and sep not in (b" ", b""):
                add("SMTP-RPL-002", f"reply {label}: the code must be followed by SP or end the line (got {sep!r})")
            # SMTP-RPL-003: text after the code
            if sep == b"" or (sep == b" " and not line.text_bytes.strip()):
                add("SMTP-RPL-003", f"reply {label} is a bare code without explanatory text")
        # SMTP-RPL-004: 512 octets including CRLF
        if len(line.body) + 2 > 512:
            add("SMTP-RPL-004", f"reply line {index} is {len(line.body) + 2} octets including CRLF (limit 512)")
        # SMTP-RPL-005: CRLF only
        if line.terminator != b"\r\n":
            what = "a bare LF" if line.terminator == b"\n" else "no line terminator"
            add("SMTP-RPL-005", f"reply line {index} ends with {what}, not CRLF")
        if b"\r" in body:
            add("SMTP-RPL-005", f"reply line {index} contains a bare CR")
        # SMTP-RPL-006: TAB, SP and printable US-ASCII
        bad = sorted({b for b in line.text_bytes if not (b == 9 or 32 <= b <= 126) and b != 13})
        if bad:
            shown = ", ".join(f"0x{b:02x}" for b in bad[:5])
            add("SMTP-RPL-006", f"reply line {index} text has octets outside printable US-ASCII ({shown})")
    if len(codes_seen) > 1:
        add("SMTP-RPL-002", f"multiline reply mixes codes {', '.join(sorted(codes_seen))}; "
            f"all lines must carry the same code")


def _code_rules(reply: Reply, code: int, ctx: ReplyContext, add) -> None:  # type: ignore[no-untyped-def]
    if not is_registered(code):
        add("SMTP-RPL-008", f"reply code {code} is not defined by RFC 5321 or a negotiated extension")
    elif (outside := out_of_context(code, ctx.command, ctx.extensions)) is not None:
        add("SMTP-RPL-008", f"{outside}: the code is not defined in this context (RFC 5321 §4.2.2: only codes of "
            f"RFC 5321 or of a negotiated extension)")
    if ctx.command == "RCPT" and code not in RCPT_SEQUENCE and code not in _ANY_COMMAND_CODES:
        add("SMTP-RPL-009", f"RCPT was answered {code}, outside the RFC 5321 §4.3.2 reply sequence")
    if ctx.command == "RCPT" and code in (251, 551):
        add("SMTP-REJ-014", f"RCPT reply {code} discloses a forwarding address: {reply.one_line()}")


def _enhanced_rules(reply: Reply, code: int, ctx: ReplyContext, add) -> None:  # type: ignore[no-untyped-def]
    klass = code // 100
    candidate = reply.enhanced_candidate
    exempt = ctx.command in _ESC_EXEMPT_COMMANDS or klass == 3
    if candidate is not None and not exempt:
        problem = enhanced.syntax_error(candidate)
        if problem:
            add("ESC-001", f"enhanced status code {problem}")
    # ESC-002 / ESC-005: presence
    if ctx.esc_advertised and not exempt and klass in (2, 4, 5):
        first = reply.lines[0].text_bytes
        has_code = ENHANCED_LIKE.match(first) is not None and first[len(candidate or ""):][:1] in (b" ", b"\t")
        if not has_code:
            if ctx.helo_session:
                add("ESC-005", f"after HELO the {code} reply carries no enhanced status code: {reply.one_line()!r}")
            else:
                add("ESC-002", f"ENHANCEDSTATUSCODES was advertised but the {code} reply to {ctx.command} "
                    f"does not begin with an enhanced code: {reply.one_line()!r}")
    if klass == 3 and candidate is not None and ctx.esc_advertised:
        add("ESC-002", f"a 3xx reply must not carry an enhanced code: {reply.one_line()!r}")
    if candidate is None or exempt or enhanced.syntax_error(candidate):
        return
    # ESC-003: class agrees with the reply's first digit
    if int(candidate[0]) != klass:
        add("ESC-003", f"enhanced code {candidate} has class {candidate[0]} but the reply code is {code}")
    # ESC-004: the same enhanced code on every line
    if len(reply.lines) > 1:
        per_line = {
            (m.group(0).decode("ascii") if (m := ENHANCED_LIKE.match(line.text_bytes)) else "(none)")
            for line in reply.lines
        }
        if len(per_line) > 1:
            add("ESC-004", f"the lines of one multiline reply carry different enhanced codes: "
                f"{', '.join(sorted(per_line))}")
    row = enhanced.lookup(candidate)
    detail = candidate.split(".", 1)[1]
    # ESC-006: registered
    if row is None:
        add("ESC-006", f"enhanced code {candidate} is not in the IANA registry",
            condition=_condition("ESC-006", "unregistered"))
        return
    if row.deprecated:
        add("ESC-006", f"enhanced code {candidate} is registered only as deprecated ({row.title})",
            condition=_condition("ESC-006", "deprecated"))
    # ESC-008: permanence hints
    if klass == 4 and detail in enhanced.PERMANENT_ONLY:
        add("ESC-008", f"X.{detail} ({row.title}) is only useful as a permanent failure, but was sent with class 4")
    if klass == 5 and detail in enhanced.TRANSIENT_ONLY:
        add("ESC-008", f"X.{detail} ({row.title}) is meant as a transient condition, but was sent with class 5")
    # ESC-009: associated basic code
    if row.associated and not row.any_basic and code not in row.associated:
        assoc = ", ".join(str(c) for c in row.associated)
        add("ESC-009", f"basic code {code} is not one IANA associates with X.{detail} ({assoc})")


def _condition(check_id: str, wanted: str) -> str | None:
    """The registry's condition key for *check_id* that contains *wanted*, if any."""
    from ..checks.registry import REGISTRY

    for key in REGISTRY[check_id].condition_keys():
        if wanted in key:
            return key
    return None


def unsolicited_finding(data: bytes, profile: Profile, where: Location | str) -> Finding:
    """SMTP-RPL-007: bytes arrived that no command asked for."""
    shown = data[:120].decode("utf-8", errors="replace")
    return finding(
        "SMTP-RPL-007",
        f"the target sent {len(data)} octets no command asked for: {shown!r}",
        profile=profile,
        where=where,
    )
