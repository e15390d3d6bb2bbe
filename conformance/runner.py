"""Run one case's SMTP dialogue against the target and judge it.

The runner is independent of pytest: it turns a :class:`Case` into a
:class:`CaseResult` (outcome, findings, transcript).  The plugin wraps it in
pytest items; the after-acceptance work will reuse ``run`` for the sending half
of a case and judge captured NDRs separately, which is why a result keeps the
token and the values captured during the dialogue.

Verdict rules, in order:

* a precondition (an expectation without a check id) that fails -> failed;
* a 4yz reply where the step needed a final answer -> inconclusive
  (greylisting and friends are not a verdict);
* otherwise the worst finding decides: error -> failed; warning -> failed only
  under ``--mta-strict``; info never fails.
"""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .checks.registry import finding
from .findings import Finding, Outcome, Severity
from .smtp.client import (
    ConnectionClosed,
    ReplyTimeout,
    ReplyTooLarge,
    SMTPClientError,
    SMTPConnection,
    TargetUnreachable,
    TLSFailed,
)
from .progress import SILENT, Progress
from .smtp.reply import Reply
from .smtp.rules import ReplyContext, check_reply, unsolicited_finding
from .suite.model import Case, Expectation, Step
from .target import ROUTES, StartTLS, TargetSettings, route_gap

if TYPE_CHECKING:
    from .harness.mailbox import Mailbox, Transaction
    from .ndr.envelope import Envelope
    from .smtp.transcript import Transcript

_PLACEHOLDER = re.compile(r"\{([a-z_][a-z0-9_]*)(?::([0-9]+))?\}")
FOREIGN_DOMAIN = "example.net"
#: option that provides each placeholder, for skip reasons
_PLACEHOLDER_OPTION = {
    "bounce_sender": "--mta-sender-domain",
    "sender_domain": "--mta-sender-domain",
    "relay_domain": "--mta-relay-domain",
    "plain_relay_domain": "--mta-plain-relay-domain",
    "known_recipient": "--mta-known-recipient",
    "local_domain": "--mta-local-domain (or --mta-known-recipient)",
    "unknown_local": "--mta-local-domain (or --mta-known-recipient)",
}


def new_token() -> str:
    """A token unique to one case run: it goes into addresses and Message-IDs."""
    return "t" + secrets.token_hex(5)


def parse_ehlo(reply: Reply) -> dict[str, str]:
    """EHLO keywords (upper-case) -> their parameters; the first line is the domain."""
    caps: dict[str, str] = {}
    for line in reply.lines[1:]:
        words = line.text.strip().split(None, 1)
        if words:
            caps[words[0].upper()] = words[1] if len(words) > 1 else ""
    return caps


#: the largest SIZE limit a 'size: over-limit' case will exceed (bigger limits skip the case)
MAX_OVER_LIMIT = 64 * 1024 * 1024


def size_limit(capabilities: dict[str, str]) -> int | None:
    """The fixed SIZE limit advertised in EHLO (RFC 1870), or None when there is none."""
    if "SIZE" not in capabilities:
        return None
    words = capabilities["SIZE"].split()
    if not words or not words[0].isdigit() or int(words[0]) == 0:
        return None
    return int(words[0])


@dataclass
class CaseResult:
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

    def summary(self) -> str:
        """The failure message: what failed, with check ids and RFC sections."""
        lines = list(self.errors)
        for f in self.findings:
            lines.append(f.render())
        if self.reason:
            lines.append(self.reason)
        return "\n".join(lines)

    def failing_findings(self, strict: bool) -> list[Finding]:
        floor = Severity.WARNING if strict else Severity.ERROR
        return [f for f in self.findings if f.severity >= floor]


@dataclass
class ProbeResult:
    """What one session at the start of a run learned about the target."""

    error: str | None = None
    capabilities: dict[str, str] = field(default_factory=dict)
    greeting: str = ""
    transcript: str = ""
    control_reply: str = ""


_PATH_ARG = re.compile(r"^\s*(?:FROM|TO):\s*<([^<>]*)>(.*)$", re.IGNORECASE)


@dataclass
class SentEnvelope:
    """The transaction as the target accepted it from us (for judging its NDRs)."""

    mail_from: str | None = None
    mail_params: list[str] = field(default_factory=list)
    rcpts: list[tuple[str, list[str], int | None]] = field(default_factory=list)
    data_sent: bool = False
    data_code: int | None = None
    _pending: tuple[str, str, list[str]] | None = None

    def sent(self, command: str, line: str) -> None:
        if command in ("MAIL", "RCPT"):
            match = _PATH_ARG.match(line.split(" ", 1)[1] if " " in line else "")
            self._pending = (command, match.group(1), match.group(2).split()) if match else None
        elif command in ("RSET", "EHLO", "HELO"):
            self.mail_from, self.mail_params, self.rcpts, self._pending = None, [], [], None

    def replied(self, command: str, code: int | None) -> None:
        pending, self._pending = self._pending, None
        if command == "DATA-END":
            self.data_code = code
        if pending is None or pending[0] != command:
            return
        if command == "MAIL" and code is not None and code // 100 == 2:
            self.mail_from, self.mail_params = pending[1], pending[2]
        elif command == "RCPT":
            self.rcpts.append((pending[1], pending[2], code))

    def accepted(self) -> list[tuple[str, list[str], int | None]]:
        return [r for r in self.rcpts if r[2] is not None and r[2] // 100 == 2]

    def for_lint(self) -> "Envelope":
        """The envelope the NDR linter judges S+ctx rows against."""
        from .captured import param
        from .ndr.envelope import Envelope, Recipient

        return Envelope(
            reverse_path=self.mail_from or "",
            recipients=tuple(Recipient(a, param(p, "ORCPT"), param(p, "NOTIFY")) for a, p, _ in self.accepted()),
            envid=param(self.mail_params, "ENVID"),
            ret=param(self.mail_params, "RET"),
        )


class WatchedMailbox:
    """A mailbox whose waits are shown as progress (the quiet period, an NDR's deadline)."""

    def __init__(self, mailbox: "Mailbox", progress: Progress, subject: str) -> None:
        self.mailbox = mailbox
        self.progress = progress
        self.subject = subject

    def wait_for(self, predicate: "Callable[[Transaction], bool]", timeout: float, count: int = 1,
                 settle: bool = False) -> "list[Transaction]":
        what = (f"the quiet period of {self.subject}" if settle else f"what {self.subject} sends to the harness")
        with self.progress.waiting(what, timeout):
            return self.mailbox.wait_for(predicate, timeout, count=count, settle=settle)

    def __getattr__(self, name: str) -> object:
        return getattr(self.mailbox, name)


class _Stop(Exception):
    """Ends a dialogue early (the reason is already recorded)."""


class CaseRunner:
    """Runs cases against one target; probes it once per process.

    *mailbox* gives the harness's captured transactions, for cases that judge
    what arrives after the dialogue (it starts the harness on first use).
    """

    def __init__(self, settings: TargetSettings, mailbox: "Callable[[], Mailbox] | None" = None) -> None:
        self.settings = settings
        self._probe: ProbeResult | None = None
        self.mailbox = mailbox
        #: route -> None when proven, else why not (filled once, on first need)
        self._routes: dict[str, str | None] = {}
        self.route_transcript = ""
        self._prepared: dict[str, tuple[_Dialogue, float]] = {}
        #: shows what the run waits for (the plugin sets a terminal one; silent elsewhere)
        self.progress: Progress = SILENT

    # -- the probe ----------------------------------------------------------
    @property
    def probed(self) -> ProbeResult | None:
        """The probe's result if it has run (reports must not start a probe)."""
        return self._probe

    def probe(self) -> ProbeResult:
        if self._probe is None:
            s = self.settings
            with self.progress.waiting(f"the probe session with {s.host}:{s.port}", 7 * s.timeout):
                self._probe = self._run_probe()
        return self._probe

    def _run_probe(self) -> ProbeResult:
        s = self.settings
        assert s.host
        conn = SMTPConnection(s.host, s.port, s.timeout)
        result = ProbeResult()
        try:
            conn.connect()
            greeting = conn.read_reply()
            result.greeting = greeting.one_line()
            if greeting.code != 220:
                result.error = f"the target's greeting is not 220: {greeting.one_line()!r}"
                return result
            conn.send_line(f"EHLO {s.helo}")
            ehlo = conn.read_reply()
            if ehlo.code != 250:
                result.error = f"the target refused EHLO {s.helo}: {ehlo.one_line()!r}"
                return result
            result.capabilities = parse_ehlo(ehlo)
            if s.starttls is not StartTLS.OFF and "STARTTLS" in result.capabilities:
                conn.send_line("STARTTLS")
                reply = conn.read_reply()
                if reply.code != 220:
                    result.error = f"STARTTLS was advertised but refused: {reply.one_line()!r}"
                    return result
                conn.start_tls(s.host)
                conn.send_line(f"EHLO {s.helo}")
                ehlo = conn.read_reply()
                result.capabilities = parse_ehlo(ehlo)
            elif s.starttls is StartTLS.REQUIRED:
                result.error = "--mta-starttls=required, but the target does not advertise STARTTLS"
                return result
            if s.control_recipient:
                conn.send_line(f"MAIL FROM:<{s.sender}>")
                mail = conn.read_reply()
                if mail.klass != 2:
                    result.error = (f"control probe: the target refused the probe sender <{s.sender}>: "
                                    f"{mail.one_line()!r}; in-session verdicts would be void (set --mta-sender)")
                    return result
                conn.send_line(f"RCPT TO:<{s.control_recipient}>")
                rcpt = conn.read_reply()
                result.control_reply = rcpt.one_line()
                if rcpt.klass != 2:
                    if s.known_recipient:
                        result.error = (f"control probe: the target refused the known recipient "
                                        f"<{s.known_recipient}>: {rcpt.one_line()!r}; a target that refuses a "
                                        f"valid recipient makes every in-session verdict void")
                    else:
                        result.error = (f"control probe: the target refused <{s.control_recipient}>: "
                                        f"{rcpt.one_line()!r}; postmaster must be accepted (RFC 5321 §4.5.1), so "
                                        f"in-session verdicts would be void (give --mta-known-recipient)")
                    return result
            conn.send_line("QUIT")
            conn.read_reply()
        except SMTPClientError as exc:
            result.error = f"probe of {s.host}:{s.port} failed: {exc}"
        finally:
            conn.close()
            result.transcript = conn.transcript.render()
        return result

    # -- one case -----------------------------------------------------------
    def requirement_gap(self, case: Case) -> str | None:
        """Why *case* cannot run against this target, or None."""
        s = self.settings
        probe = self.probe()
        for req in case.requires:
            if req == "known_recipient" and not s.known_recipient and case.delivers:
                return ("requires --mta-known-recipient: this case delivers a message to it (postmaster stands "
                        "in for the control probe only; test mail never goes to a postmaster)")
            if req == "known_recipient" and not s.control_recipient:
                return "requires --mta-known-recipient (an address the target accepts, the control probe)"
            if req == "local_domain" and not s.local_domain:
                return "requires --mta-local-domain (or --mta-known-recipient)"
            if req == "slow" and not s.delay_timeout:
                return ("an opt-in slow case (it waits for the target's delay warning): set --mta-delay-timeout "
                        "SECONDS, longer than the target's delay-warning time, to run it")
            if req in ROUTES:
                options = route_gap(s, req)
                if options:
                    return f"requires the {req.replace('_', ' ')}: set {options}"
            if req.startswith("!"):
                if req[1:] in probe.capabilities:
                    return f"for targets without {req[1:]}; the target advertises {req[1:]} in its EHLO reply"
            elif req.isupper() and req not in probe.capabilities:
                return f"requires EHLO capability {req}, which the target does not advertise"
        if any(step.data_size == "over-limit" for step in case.steps):
            limit = size_limit(probe.capabilities)
            if limit is None:
                return "sends a message over the target's SIZE limit, but the target advertises no SIZE limit"
            if limit > MAX_OVER_LIMIT:
                return (f"sends a message over the target's SIZE limit, but that limit ({limit} octets) is above "
                        f"the {MAX_OVER_LIMIT // 1048576} MiB this suite sends")
        values = self._placeholder_values("t")
        for step in case.steps:
            for name, _ in _PLACEHOLDER.findall(step.send or ""):
                if name in values and values[name] is None:
                    return f"requires {_PLACEHOLDER_OPTION.get(name, name)}"
        if s.starttls is StartTLS.REQUIRED and any(
            (step.send or "").upper().startswith("HELO ") for step in case.steps
        ):
            return "opens with HELO, which cannot negotiate STARTTLS (--mta-starttls=required)"
        return None

    def _placeholder_values(self, token: str) -> dict[str, str | None]:
        s = self.settings
        return {
            "helo": s.helo,
            "sender": s.sender.replace("{token}", token),
            "token": token,
            "local_domain": s.local_domain,
            "known_recipient": s.control_recipient,
            "unknown_local": f"no-such-user-{token}@{s.local_domain}" if s.local_domain else None,
            "foreign_domain": FOREIGN_DOMAIN,
            "foreign_recipient": f"relay-probe-{token}@{FOREIGN_DOMAIN}",
            "sender_domain": s.sender_domain,
            "bounce_sender": f"{token}@{s.sender_domain}" if s.sender_domain else None,
            "relay_domain": s.relay_domain,
            "plain_relay_domain": s.plain_relay_domain,
        }

    def harness_error(self, case: Case) -> str | None:
        """Why the harness a case needs cannot run (it could not listen), or None.

        The one place that asks: every case that uses the harness passes here before
        its route control and its dialogue, so those need not ask again.
        """
        if not any(r in ROUTES for r in case.requires) and not case.waits:
            return None
        try:
            if self.mailbox is not None:
                self.mailbox()
        except RuntimeError as exc:
            return str(exc)
        return None

    def route_errors(self, case: Case) -> list[str]:
        """Prove the routes *case* needs (once per run); the reasons of those that failed."""
        needed = [r for r in case.requires if r in ROUTES]
        if needed and not self._routes:
            self._routes = self._prove_routes()
        return [f"route control failed: {self._routes[r]}" for r in needed if self._routes.get(r)]

    def _prove_routes(self) -> dict[str, str | None]:
        """One control transaction: ok.* must reach the next hop, rej-rcpt.* must bounce to the sink."""
        s = self.settings
        results: dict[str, str | None] = dict.fromkeys(ROUTES)
        mailbox = self.mailbox() if self.mailbox else None  # harness_error has already proved it listens
        if mailbox is None:
            return dict.fromkeys(ROUTES, "no harness runs")
        mailbox = WatchedMailbox(mailbox, self.progress, "the route control")  # type: ignore[assignment]
        token = "ctrl-" + new_token()
        sender = f"{token}@{s.sender_domain}" if s.sender_domain else f"{token}@invalid"
        # two transactions: the deliveries, then the bounce on its own, so a target that mishandles
        # partial failures (SMTP-REJ-008, judged by its case) does not pass for one with broken routes
        delivered = [f"ok.{token}@{d}" for d in (s.relay_domain, s.plain_relay_domain) if d]
        bounced = [f"rej-rcpt.{token}@{s.relay_domain}"] if s.relay_domain else []
        conn = SMTPConnection(s.host or "", s.port, s.timeout)
        try:
            conn.connect()
            reply = conn.read_reply()
            if reply.code != 220:
                return dict.fromkeys(ROUTES, f"the target greeted the route control with {reply.one_line()!r}")
            for number, rcpts in enumerate(r for r in (delivered, bounced) if r):
                steps = ([(f"EHLO {s.helo}", 250)] if number == 0 else []) + [(f"MAIL FROM:<{sender}>", 2)] + \
                    [(f"RCPT TO:<{r}>", 2) for r in rcpts] + [("DATA", 354)]
                for line, want in steps:
                    conn.send_line(line)
                    reply = conn.read_reply()
                    if not (reply.code == want or reply.klass == want):
                        return dict.fromkeys(ROUTES, f"the target answered {reply.one_line()!r} to "
                                                     f"{line} in the route control")
                conn.send_raw(f"Subject: mta-conformance route control {token}\r\nMessage-ID: <{token}.{number}@"
                              f"mta-conformance.test>\r\n\r\nroute control\r\n.\r\n".encode())
                reply = conn.read_reply()
                if reply.klass != 2:
                    return dict.fromkeys(ROUTES, f"the route control message was refused: {reply.one_line()!r}")
            conn.send_line("QUIT")
            conn.read_reply()
        except SMTPClientError as exc:
            return dict.fromkeys(ROUTES, f"route control session failed: {exc}")
        finally:
            conn.close()
            self.route_transcript = conn.transcript.render()
        wait = s.ndr_timeout

        def arrived(address: str, role: str) -> bool:
            return bool(mailbox.wait_for(lambda tx: tx.role == role and any(
                r.address.lower() == address.lower() and r.reply.startswith("2") for r in tx.recipients), wait))

        if s.relay_domain and not arrived(f"ok.{token}@{s.relay_domain}", "next-hop"):
            results["relay_route"] = (f"a message to ok.{token}@{s.relay_domain} did not reach the harness's next hop "
                                      f"within {wait:g} s: route {s.relay_domain} to {s.harness_listen}")
        if s.plain_relay_domain and not arrived(f"ok.{token}@{s.plain_relay_domain}", "next-hop"):
            results["plain_relay_route"] = (f"a message to ok.{token}@{s.plain_relay_domain} did not reach the "
                                            f"harness's plain port within {wait:g} s")
        if not arrived(sender, "sink"):
            results["bounce_route"] = (f"no bounce for rej-rcpt.{token}@{s.relay_domain} reached the sink for "
                                       f"{sender} within {wait:g} s: route {s.sender_domain} to {s.harness_listen}")
        return results

    def prepare(self, cases: list[Case]) -> None:
        """Hold the dialogues of all cases that wait for NDRs now, so their waits overlap.

        Each such case is then judged by ``run`` against deadlines counted from
        its own dialogue, and the whole set takes little more than its slowest case.
        """
        for case in cases:
            if not case.waits or case.id in self._prepared or self.probe().error:
                continue
            if self.requirement_gap(case) or self.harness_error(case) or self.route_errors(case):
                continue
            dialogue = _Dialogue(self, case)
            dialogue.talk()
            self._prepared[case.id] = (dialogue, time.monotonic())

    def run(self, case: Case) -> CaseResult:
        started = time.monotonic()
        prepared = self._prepared.pop(case.id, None)
        if prepared is not None:
            dialogue, _ = prepared
            result = dialogue.verdict()
            result.duration = time.monotonic() - started
            return result
        probe = self.probe()
        if probe.error:
            return CaseResult(case.id, Outcome.COULD_NOT_TEST, reason=f"could not test: {probe.error}",
                              transcript=probe.transcript)
        gap = self.requirement_gap(case)
        if gap:
            return CaseResult(case.id, Outcome.SKIPPED, reason=gap)
        harness_error = self.harness_error(case)
        if harness_error:
            return CaseResult(case.id, Outcome.COULD_NOT_TEST, reason=f"could not test: {harness_error}")
        broken = self.route_errors(case)
        if broken:
            return CaseResult(case.id, Outcome.FAILED, errors=broken, transcript=self.route_transcript)
        dialogue = _Dialogue(self, case)
        result = dialogue.run()
        result.duration = time.monotonic() - started
        return result


class _Dialogue:
    """The state of one case's session."""

    def __init__(self, runner: CaseRunner, case: Case) -> None:
        self.runner = runner
        self.settings = runner.settings
        self.case = case
        self.token = new_token()
        self.values: dict[str, str | None] = runner._placeholder_values(self.token)
        self.findings: list[Finding] = []
        self.errors: list[str] = []
        self.inconclusive: str = ""
        self.skipped: str = ""
        #: the dialogue ended at an 'otherwise: pass' precondition: nothing after it applies
        self.passed_early: str = ""
        self.conn = SMTPConnection(self.settings.host or "", self.settings.port, self.settings.timeout)
        self.capabilities = dict(runner.probe().capabilities)
        self.helo_session = False
        self.ended = False  #: the session is over (closed, or DATA abandoned)
        #: SMTP-RPL-007 for a reply no command asked for: when set, it is the case's only finding
        self.surplus: Finding | None = None
        self.talked_at = time.monotonic()
        #: what the target accepted from us: the original envelope NDRs are judged against
        self.envelope = SentEnvelope()

    # -- helpers --------------------------------------------------------------
    def render(self, template: str, n: int) -> str:
        def replace(match: re.Match[str]) -> str:
            name, size = match.group(1), match.group(2)
            if name == "n":
                return str(n)
            if name == "fill":
                width = int(size or 0)
                return (self.token + "x" * width)[:width]
            value = self.values.get(name)
            return "" if value is None else value

        return _PLACEHOLDER.sub(replace, template)

    def add(self, check_id: str, message: str, where: str, condition: str | None = None) -> None:
        self.keep(finding(check_id, message, profile=self.settings.profile, condition=condition, where=where))

    def keep(self, f: Finding) -> None:
        """Record a finding once (a repeated step would otherwise report it N times)."""
        if all((f.check_id, f.message) != (g.check_id, g.message) for g in self.findings):
            self.findings.append(f)

    # -- the dialogue ---------------------------------------------------------
    def run(self) -> CaseResult:
        self.talk()
        return self.verdict()

    def talk(self) -> None:
        """The SMTP dialogue; after it, what arrives at the harness can be judged."""
        try:
            self.conn.connect()
            for index, step in enumerate(self.case.steps, start=1):
                for n in range(1, step.repeat + 1):
                    if self.ended:
                        break
                    self.do_step(index, step, n)
                if self.ended:
                    break
            else:
                self.finish()
        except _Stop:
            pass
        except TargetUnreachable as exc:
            self.errors.append(str(exc))
        except SMTPClientError as exc:  # anything not handled per step
            self.errors.append(f"session error: {exc}")
        finally:
            self.say_goodbye()
            self.talked_at = time.monotonic()

    def verdict(self) -> CaseResult:
        """Judge what reached the harness (if the case expects NDRs), then the whole case."""
        if self.case.waits and not (self.errors or self.inconclusive or self.skipped or self.passed_early
                                    or self.surplus):
            self.judge_captured()
        return self.result()

    def remaining(self, seconds: float) -> float:
        """Time left of *seconds* counted from the end of this case's dialogue.

        Cases that were sent together wait together: a quiet period that began
        while other cases were being judged is not waited for again.
        """
        return max(0.0, self.talked_at + seconds - time.monotonic())

    # -- after the dialogue: what reached the harness ---------------------------
    @property
    def transcript(self) -> "Transcript":
        return self.conn.transcript

    def judge_captured(self) -> None:
        """Wait for and judge the NDRs and relayed copies the case expects (see captured.py)."""
        from .captured import CaptureJudge

        mailbox = self.runner.mailbox() if self.runner.mailbox else None  # proved by harness_error
        if mailbox is None:
            self.errors.append("this case judges what reaches the harness, but no harness runs "
                               "(set --mta-harness-listen)")
            return
        judge = CaptureJudge(self, WatchedMailbox(mailbox, self.runner.progress, self.case.id))
        if self.case.relayed is not None:
            judge.judge_relayed(self.case.relayed)
        if self.case.ndr is not None:
            slow = "slow" in self.case.requires
            judge.judge_ndrs(self.case.ndr, within=self.settings.delay_timeout if slow else None)

    def do_step(self, index: int, step: Step, n: int) -> None:
        conn = self.conn
        command = "GREETING"
        shown = "the greeting"
        if step.send is not None:
            pending = conn.unsolicited()
            if pending:
                self.surplus_reply(pending, f"before step {index} (line {step.line}), before we sent "
                                            f"{self.render(step.send, n)[:60]!r}")
            if conn.closed_by_peer:
                self.fail_closed(index, step, "before we could send " + repr(step.send))
                return
            line = self.render(step.send, n)
            command = line.split(" ", 1)[0].split(":", 1)[0].upper()
            self.envelope.sent(command, line)
            shown = line if len(line) <= 80 else line[:77] + "..."
            try:
                conn.send_line(line)
            except ConnectionClosed:
                self.fail_closed(index, step, f"while sending {shown!r}")
                return
        if step.data:
            command, shown = "DATA-END", "the end of data"
            if not self.send_message(index, step):
                return
        where = f"step {index}, line {step.line}: reply to {shown}" + (f" (#{n})" if step.repeat > 1 else "")
        try:
            with self.runner.progress.waiting(f"the target's reply to {shown} (case {self.case.id})",
                                              self.settings.timeout):
                reply = conn.read_reply()
        except ReplyTimeout as exc:
            what = "an incomplete reply" if exc.partial else "no reply"
            self.add("SMTP-RPL-007", f"{what} to {shown} within {self.settings.timeout:g} s"
                     + (f" (got {exc.partial.one_line()!r})" if exc.partial else ""), where=where)
            self.ended = True
            raise _Stop from None
        except ConnectionClosed as exc:
            self.fail_closed(index, step, f"instead of answering {shown}", partial=exc.partial)
            return
        except ReplyTooLarge as exc:
            self.errors.append(f"{where}: {exc}")
            raise _Stop from None
        ctx = ReplyContext(
            command=command,
            profile=self.settings.profile,
            esc_advertised="ENHANCEDSTATUSCODES" in self.capabilities,
            helo_session=self.helo_session,
            where=where,
        )
        if command == "QUIT":
            self.check_after_quit(reply, where)
        for f in check_reply(reply, ctx):
            self.keep(f)
        self.envelope.replied(command, reply.code)
        if command == "EHLO" and reply.code == 250:
            self.helo_session = False
            self.capabilities = parse_ehlo(reply)
        elif command == "HELO" and reply.code == 250:
            self.helo_session = True
        if reply.code == 421 and step.disconnect_allowed:
            self.record_disconnect(step, where, f"the target answered {reply.one_line()!r} and ends the session")
            self.ended = True
            return
        self.judge(step, reply, where, index)
        for name, part in step.captures:
            if part == "code":
                self.values[name] = "" if reply.code is None else str(reply.code)
            elif part == "enhanced":
                self.values[name] = reply.enhanced or ""
            else:
                self.values[name] = reply.text
        if command == "DATA" and reply.code == 354:
            conn.transcript.note("354 received: closing the connection without sending a message "
                                 "(these cases never complete a DATA)")
            conn.close()
            self.ended = True
            return
        if command == "EHLO" and reply.code == 250 and self.settings.starttls is not StartTLS.OFF \
                and not conn.tls_active and step.send is not None:
            self.negotiate_tls(self.render(step.send, n), where)
        if step.starttls and reply.code == 220:
            try:
                conn.start_tls(self.settings.host)
            except TLSFailed as exc:
                self.errors.append(f"{where}: {exc}")
                raise _Stop from None

    def send_message(self, index: int, step: Step) -> bool:
        """DATA, and on 354 the generated message; False when the dialogue cannot go on."""
        conn = self.conn
        conn.send_line("DATA")
        where = f"step {index}, line {step.line}: reply to DATA"
        try:
            reply = conn.read_reply()
        except (ReplyTimeout, ConnectionClosed) as exc:
            self.add("SMTP-RPL-007", f"no reply to DATA: {exc}", where=where)
            self.ended = True
            raise _Stop from None
        for f in check_reply(reply, ReplyContext("DATA", self.settings.profile,
                                                 "ENHANCEDSTATUSCODES" in self.capabilities, self.helo_session, where)):
            self.keep(f)
        if reply.code != 354:
            self.errors.append(f"{where}: precondition failed: DATA was answered {reply.one_line()!r}, not 354")
            raise _Stop
        padding = 0
        if step.data_size == "over-limit":
            # 5 % more than the limit: a server that stores lines with LF only counts 1/78 fewer octets
            padding = self.size_limit() * 21 // 20 + 4096
            conn.transcript.note(f"sending a message of about {padding} octets: over the SIZE limit the target "
                                 f"advertised ({self.size_limit()})")
        conn.send_raw(self.message_bytes(step, padding))
        self.envelope.data_sent = True
        return True

    def size_limit(self) -> int:
        """The SIZE the target advertised, for 'size: over-limit' (the gap check made sure there is one)."""
        return size_limit(self.capabilities) or 0

    def message_bytes(self, step: Step, padding: int = 0) -> bytes:
        """A small message carrying the token, dot-stuffed, ended by CRLF.CRLF; *padding* octets more of body."""
        token = self.token
        headers = [
            ("From", f"<{self.envelope.mail_from or 'nobody@invalid'}>"),
            ("To", ", ".join(f"<{a}>" for a, _, _ in self.envelope.accepted()) or "undisclosed-recipients:;"),
            ("Subject", f"mta-conformance {self.case.id} {token}"),
            ("Date", time.strftime("%a, %d %b %Y %H:%M:%S +0000", time.gmtime())),
            ("Message-ID", f"<{token}@mta-conformance.test>"),
            ("MIME-Version", "1.0"),
            ("Content-Type", "text/plain; charset=us-ascii"),
        ]
        for name, value in step.data_headers:
            headers = [h for h in headers if h[0].lower() != name.lower()] + [(name, self.render(value, 1))]
        body = self.render(step.data_body, 1) if step.data_body is not None else (
            f"This message was sent by mta-conformance case {self.case.id}.\nToken: {token}\n")
        lines = [f"{k}: {v}" for k, v in headers] + [""] + body.splitlines()
        if padding:
            filler = "x" * 76
            lines += [filler] * (padding // 78 + 1)
        stuffed = ["." + line if line.startswith(".") else line for line in lines]
        return ("\r\n".join(stuffed) + "\r\n.\r\n").encode("utf-8")

    def negotiate_tls(self, ehlo_line: str, where: str) -> None:
        if "STARTTLS" not in self.capabilities:
            if self.settings.starttls is StartTLS.REQUIRED:
                self.errors.append("--mta-starttls=required, but the target does not advertise STARTTLS")
                raise _Stop
            return
        conn = self.conn
        conn.send_line("STARTTLS")
        reply = conn.read_reply()
        for f in check_reply(reply, ReplyContext("STARTTLS", self.settings.profile,
                                                 "ENHANCEDSTATUSCODES" in self.capabilities, False, where)):
            self.keep(f)
        if reply.code != 220:
            self.errors.append(f"STARTTLS was advertised but answered {reply.one_line()!r}")
            raise _Stop
        try:
            conn.start_tls(self.settings.host)
        except TLSFailed as exc:
            self.errors.append(str(exc))
            raise _Stop from None
        conn.send_line(ehlo_line)
        ehlo = conn.read_reply()
        if ehlo.code != 250:
            self.errors.append(f"EHLO after STARTTLS was answered {ehlo.one_line()!r}")
            raise _Stop
        self.capabilities = parse_ehlo(ehlo)

    def judge(self, step: Step, reply: Reply, where: str, index: int) -> None:
        failed: list[tuple[Expectation, str]] = []
        for exp in step.expectations:
            reason = self.evaluate(exp, reply)
            if reason:
                failed.append((exp, reason))
        if not failed:
            return
        needs_final = not any(exp.codes and exp.allows_class(4) for exp in step.expectations)
        if reply.klass == 4 and needs_final and not step.tempfail_is_finding:
            self.inconclusive = (f"inconclusive: {where}: the target answered {reply.one_line()!r}, a temporary "
                                 f"failure, where a final answer was needed (greylisting or a transient error)")
            self.ended = True
            raise _Stop
        for exp, reason in failed:
            text = f"{exp.why}: {reason}" if exp.why else reason
            if exp.skip_if_unmet:
                self.skipped = f"precondition not met at {where}: {text}"
                self.ended = True
                raise _Stop
            if exp.pass_if_unmet:
                self.passed_early = f"ended at {where}: {text}; what the rest of the case tests cannot arise"
                self.conn.transcript.note(self.passed_early)
                self.ended = True
                raise _Stop
            if exp.check:
                self.add(exp.check, text, where=where, condition=exp.condition)
            else:
                self.errors.append(f"{where}: precondition failed: {text}")
        if any(exp.check is None for exp, _ in failed):
            raise _Stop

    def matches(self, spec: str, reply: Reply) -> bool:
        spec = self.render(spec, 1)
        if spec.endswith("xx"):
            return reply.klass is not None and str(reply.klass) == spec[0]
        return spec.isdigit() and reply.code == int(spec)

    def evaluate(self, exp: Expectation, reply: Reply) -> str | None:
        code = reply.code
        if exp.only_if is not None and not self.matches(exp.only_if, reply):
            return None
        if exp.codes:
            wanted = [self.render(c, 1) for c in exp.codes]
            if not any(self.matches(spec, reply) for spec in wanted):
                return f"expected {' or '.join(wanted)}, got {reply.one_line()!r}"
        if exp.not_codes and code in exp.not_codes:
            return f"got {reply.one_line()!r}"
        if exp.enhanced and reply.enhanced is not None and reply.enhanced != exp.enhanced:
            return f"expected enhanced code {exp.enhanced}, got {reply.enhanced} in {reply.one_line()!r}"
        if exp.text and not re.search(exp.text, reply.text, re.IGNORECASE):
            return f"reply text {reply.text!r} does not match /{exp.text}/"
        return None

    def fail_closed(self, index: int, step: Step, what: str, partial: Reply | None = None) -> None:
        where = f"step {index}, line {step.line}"
        self.ended = True
        if step.disconnect_allowed:
            self.record_disconnect(step, where, f"the target closed the connection {what}")
            return
        got = f" (after {partial.one_line()!r})" if partial else ""
        self.add("SMTP-RPL-007", f"the target closed the connection {what}{got}", where=where)
        raise _Stop

    def record_disconnect(self, step: Step, where: str, message: str) -> None:
        self.add(step.disconnect_check or "SMTP-REJ-013", message, where=where)

    def check_after_quit(self, reply: Reply, where: str) -> None:
        """At QUIT the target answers 221 and closes: any other reply, before or after the 221, is surplus.

        Reading up to the close (bounded by the timeout) needs no grace period:
        the target's own close ends the read.
        """
        extra = b"" if self.conn.closed_by_peer else self.conn.drain_until_close(min(5.0, self.settings.timeout))
        if reply.code != 221 and re.search(rb"(?m)^221[ -]", extra):
            self.surplus_reply(reply.raw + extra, f"{where}: a reply came before the 221")
        elif extra:
            self.surplus_reply(extra, f"{where}: after the 221")

    def surplus_reply(self, data: bytes, where: str) -> None:
        """More replies than commands: the dialogue is out of step, so no later verdict can stand.

        A reply read for one command may have been meant for the one before (a RCPT
        judged on MAIL's late 250 would become a false SMTP-REJ-001), so the case
        ends here and fails with SMTP-RPL-007 alone.
        """
        self.surplus = unsolicited_finding(data, self.settings.profile, where)
        self.conn.transcript.note("more replies than commands: the dialogue is out of step and ends here; "
                                  "the case is judged on SMTP-RPL-007 alone")
        self.ended = True
        raise _Stop

    def finish(self) -> None:
        self.ended = True

    def say_goodbye(self) -> None:
        conn = self.conn
        if conn.connected and not self.ended:
            try:
                conn.send_line("QUIT")
                conn.read_reply(timeout=min(5.0, self.settings.timeout))
            except SMTPClientError:
                pass
        conn.close()

    def result(self) -> CaseResult:
        if self.surplus is not None:
            # every step verdict is withdrawn: which reply answered which command is unknown
            self.findings, self.errors = [self.surplus], []
            self.inconclusive = self.skipped = self.passed_early = ""
        strict = self.settings.strict
        worst = max((f.severity for f in self.findings), default=None)
        if self.errors or worst is Severity.ERROR or (strict and worst is Severity.WARNING):
            outcome = Outcome.FAILED
        elif self.skipped:
            outcome = Outcome.SKIPPED
        elif self.inconclusive:
            outcome = Outcome.INCONCLUSIVE
        else:
            outcome = Outcome.PASSED
        return CaseResult(
            case_id=self.case.id,
            outcome=outcome,
            findings=self.findings,
            errors=self.errors,
            reason=self.inconclusive or self.skipped or self.passed_early,
            transcript=self.conn.transcript.render(),
            token=self.token,
            captured={k: v for k, v in self.values.items() if v is not None},
        )
