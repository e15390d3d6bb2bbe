"""One case's SMTP dialogue: send each step, read and judge its reply.

The dialogue proves what the target *said*.  It records findings (through the
registry), preconditions that failed, and why it ended early; the verdict is
:mod:`conformance.run.result`'s, and what the target *did* afterwards is judged
from what reached the harness (:mod:`conformance.run.captured`).
"""

from __future__ import annotations

import dataclasses
import re
import secrets
import time

from ..findings import Finding, Location
from ..progress import Progress
from ..smtp.client import (
    ConnectionClosed,
    ReplyTimeout,
    ReplyTooLong,
    SMTPClientError,
    SMTPConnection,
    TargetUnreachable,
    TLSFailed,
)
from ..smtp.reply import Reply
from ..smtp.rules import ReplyContext, check_reply, unsolicited_finding
from ..suite import placeholders
from ..suite.model import Case, Step
from ..suite.requirements import size_limit
from ..target import StartTLS, TargetSettings
from .collector import FindingCollector
from .expectations import needs_final_answer, unmet
from .message import message_bytes
from .result import CaseResult, decide
from .sent import SentCase, SentEnvelope
from .session import SessionRefused, parse_ehlo, start_tls

#: what :func:`new_token` makes, as a pattern (the run's end recognises its own mail by it)
TOKEN_PATTERN = r"t[0-9a-f]{10}"


def new_token() -> str:
    """A token unique to one case run: it goes into addresses and Message-IDs."""
    return "t" + secrets.token_hex(5)


class Stop(Exception):
    """Ends a dialogue early (the reason is already recorded)."""


class Dialogue:
    """The state of one case's session."""

    def __init__(self, settings: TargetSettings, case: Case, capabilities: dict[str, str],
                 progress: Progress) -> None:
        self.settings = settings
        self.case = case
        self.progress = progress
        self.token = new_token()
        self.values: dict[str, str | None] = placeholders.values(settings, self.token)
        self.log = FindingCollector(settings.profile)
        self.errors: list[str] = []
        self.inconclusive = ""
        self.skipped = ""
        #: the dialogue ended at an 'otherwise: pass' precondition: nothing after it applies
        self.passed_early = ""
        self.conn = SMTPConnection(settings.host or "", settings.port, settings.timeout)
        self.capabilities = dict(capabilities)
        self.helo_session = False
        self.ended = False  #: the session is over (closed, or DATA abandoned)
        #: SMTP-RPL-007 for a reply no command asked for: when set, it is the case's only finding
        self.surplus: Finding | None = None
        self.talked_at = time.monotonic()
        self.started = time.time()  #: when the case began, for the times of what reached the harness
        #: what the target accepted from us: the original envelope NDRs are judged against
        self.envelope = SentEnvelope()

    def render(self, template: str, n: int = 1) -> str:
        return placeholders.render(template, self.values, n, self.token)

    @property
    def undisturbed(self) -> bool:
        """The dialogue ran to its end: what reached the harness can be judged."""
        return not (self.errors or self.inconclusive or self.skipped or self.passed_early or self.surplus)

    # -- the session ------------------------------------------------------------
    def talk(self) -> None:
        """The SMTP dialogue; after it, what arrives at the harness can be judged."""
        try:
            self.conn.connect()
            for index, step in enumerate(self.case.steps, start=1):
                for n in range(1, step.repeat + 1):
                    if not self.ended:
                        self.do_step(index, step, n)
            self.ended = True
        except Stop:
            pass
        except ReplyTooLong as exc:  # a reply read outside a step's own (STARTTLS and its EHLO)
            self.too_long(exc, "")
        except TargetUnreachable as exc:
            self.errors.append(str(exc))
        except SMTPClientError as exc:  # anything not handled per step
            self.errors.append(f"session error: {exc}")
        finally:
            self.say_goodbye()
            self.talked_at = time.monotonic()

    def sent(self) -> SentCase:
        """What the judges of captured mail need from this dialogue."""
        return SentCase(self.case, self.token, self.settings, self.capabilities, self.envelope, self.values,
                        self.conn.transcript, self.talked_at)

    def do_step(self, index: int, step: Step, n: int) -> None:
        command, shown = "GREETING", "the greeting"
        if step.send is not None:
            sent = self.send_command(index, step, n)
            if sent is None:
                return
            command, shown = sent
        if step.data:
            command, shown = "DATA-END", "the end of data"
            self.send_message(index, step)
        where = Location(step=index, case_line=step.line,
                         detail=f"reply to {shown}" + (f" (#{n})" if step.repeat > 1 else ""))
        reply = self.read_reply(index, step, where, shown)
        if reply is not None:
            self.after_reply(step, n, command, reply, where)

    def send_command(self, index: int, step: Step, n: int) -> tuple[str, str] | None:
        """Send the step's command line; (command verb, how to show it), or None when the session is over."""
        conn = self.conn
        assert step.send is not None
        line = self.render(step.send, n)
        pending = conn.unsolicited()
        if pending:
            self.surplus_reply(pending, Location(step=index, case_line=step.line,
                                                 detail=f"before we sent {line[:60]!r}"))
        if conn.closed_by_peer:
            self.fail_closed(index, step, "before we could send " + repr(step.send))
            return None
        command = line.split(" ", 1)[0].split(":", 1)[0].upper()
        self.envelope.sent(command, line)
        shown = line if len(line) <= 80 else line[:77] + "..."
        try:
            conn.send_line(line)
        except ConnectionClosed:
            self.fail_closed(index, step, f"while sending {shown!r}")
            return None
        return command, shown

    def read_reply(self, index: int, step: Step, where: Location, shown: str) -> Reply | None:
        """The target's reply, bounded by the timeout; None when the target closed (already recorded)."""
        timeout = self.settings.timeout
        try:
            with self.progress.waiting(f"the target's reply to {shown} (case {self.case.id})", timeout):
                return self.conn.read_reply()
        except ReplyTimeout as exc:
            what = "an incomplete reply" if exc.partial else "no reply"
            self.log.add("SMTP-RPL-007", f"{what} to {shown} within {timeout:g} s"
                         + (f" (got {exc.partial.one_line()!r})" if exc.partial else ""), where=where)
            self.ended = True
            raise Stop from None
        except ConnectionClosed as exc:
            self.fail_closed(index, step, f"instead of answering {shown}", partial=exc.partial)
            return None
        except ReplyTooLong as exc:
            self.too_long(exc, where)
            raise Stop from None

    def too_long(self, exc: ReplyTooLong, where: Location | str) -> None:
        """A reply past the client's caps: never a reply, and the session is over (the client closed it).

        A line past the line cap is over RFC 5321's 512 octets for certain
        (SMTP-RPL-004); what the case tests was then not judged, so it is
        inconclusive unless the finding fails it.  A reply with no end within the
        caps is a command without a reply (SMTP-RPL-007): the lines after any cut
        would be misread as the replies to later commands, so nothing after it is judged.
        """
        self.ended = True
        if exc.cap == "line":
            self.log.add("SMTP-RPL-004", str(exc), where=where)
            self.inconclusive = f"inconclusive: {where or 'the session'}: a reply could not be read; the rest of " \
                                "the case was not judged"
        else:
            self.log.add("SMTP-RPL-007", f"no complete reply: {exc}", where=where)

    def check_reply(self, command: str, reply: Reply, where: Location) -> None:
        """The reply rules every reply must meet, whatever the case is about."""
        ctx = ReplyContext(command=command, profile=self.settings.profile,
                           esc_advertised="ENHANCEDSTATUSCODES" in self.capabilities,
                           extensions=frozenset(k.split("=", 1)[0].upper() for k in self.capabilities),
                           helo_session=self.helo_session, where=where)
        self.log.extend(check_reply(reply, ctx))

    def after_reply(self, step: Step, n: int, command: str, reply: Reply, where: Location) -> None:
        if command == "QUIT":
            self.check_after_quit(reply, where)
        self.check_reply(command, reply, where)
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
        self.judge(step, reply, where)
        self.capture(step, reply)
        if command == "DATA" and reply.code == 354:
            self.conn.transcript.note("354 received: closing the connection without sending a message "
                                      "(these cases never complete a DATA)")
            self.conn.close()
            self.ended = True
            return
        if command == "EHLO" and reply.code == 250 and self.settings.starttls is not StartTLS.OFF \
                and not self.conn.tls_active and step.send is not None:
            self.negotiate_tls(self.render(step.send, n), where)
        if step.starttls and reply.code == 220:
            try:
                self.conn.start_tls(self.settings.host)
            except TLSFailed as exc:
                self.errors.append(f"{where}: {exc}")
                raise Stop from None

    def capture(self, step: Step, reply: Reply) -> None:
        """Keep parts of the reply the case names (``capture:``) for later steps' templates."""
        for name, part in step.captures:
            if part == "code":
                self.values[name] = "" if reply.code is None else str(reply.code)
            elif part == "enhanced":
                self.values[name] = reply.enhanced or ""
            else:
                self.values[name] = reply.text

    def negotiate_tls(self, ehlo_line: str, where: Location) -> None:
        try:
            self.capabilities = start_tls(self.conn, self.settings, ehlo_line, self.capabilities,
                                          on_reply=lambda command, reply: self.check_reply(command, reply, where))
        except SessionRefused as exc:
            self.errors.append(str(exc))
            raise Stop from None

    # -- DATA -------------------------------------------------------------------
    def send_message(self, index: int, step: Step) -> None:
        """DATA, and on 354 the generated message (a 'size: over-limit' one over the SIZE limit)."""
        conn = self.conn
        conn.send_line("DATA")
        where = Location(step=index, case_line=step.line, detail="reply to DATA")
        try:
            reply = conn.read_reply()
        except (ReplyTimeout, ConnectionClosed) as exc:
            self.log.add("SMTP-RPL-007", f"no reply to DATA: {exc}", where=where)
            self.ended = True
            raise Stop from None
        except ReplyTooLong as exc:
            self.too_long(exc, where)
            raise Stop from None
        self.check_reply("DATA", reply, where)
        if reply.code != 354:
            self.errors.append(f"{where}: precondition failed: DATA was answered {reply.one_line()!r}, not 354")
            raise Stop
        padding = 0
        if step.data_size == "over-limit":
            # 5 % more than the limit: a server that stores lines with LF only counts 1/78 fewer octets
            limit = size_limit(self.capabilities) or 0
            padding = limit * 21 // 20 + 4096
            conn.transcript.note(f"sending a message of about {padding} octets: over the SIZE limit the target "
                                 f"advertised ({limit})")
        conn.send_raw(message_bytes(self.case.id, self.token, step, self.envelope, self.render, padding))
        self.envelope.data_sent = True

    # -- judging a step -----------------------------------------------------------
    def judge(self, step: Step, reply: Reply, where: Location) -> None:
        failed = [(exp, reason) for exp in step.expectations
                  if (reason := unmet(exp, reply, self.render)) is not None]
        if not failed:
            return
        if reply.klass == 4 and needs_final_answer(step.expectations) and not step.tempfail_is_finding:
            self.inconclusive = (f"inconclusive: {where}: the target answered {reply.one_line()!r}, a temporary "
                                 f"failure, where a final answer was needed (greylisting or a transient error)")
            self.ended = True
            raise Stop
        for exp, reason in failed:
            text = f"{exp.why}: {reason}" if exp.why else reason
            if exp.skip_if_unmet:
                self.skipped = f"precondition not met at {where}: {text}"
                self.ended = True
                raise Stop
            if exp.pass_if_unmet:
                self.passed_early = f"ended at {where}: {text}; what the rest of the case tests cannot arise"
                self.conn.transcript.note(self.passed_early)
                self.ended = True
                raise Stop
            if exp.check:
                self.log.add(exp.check, text, where=where, condition=exp.condition)
            else:
                self.errors.append(f"{where}: precondition failed: {text}")
        if any(exp.check is None for exp, _ in failed):
            raise Stop

    def fail_closed(self, index: int, step: Step, what: str, partial: Reply | None = None) -> None:
        where = Location(step=index, case_line=step.line)
        self.ended = True
        if step.disconnect_allowed:
            self.record_disconnect(step, where, f"the target closed the connection {what}")
            return
        got = f" (after {partial.one_line()!r})" if partial else ""
        self.log.add("SMTP-RPL-007", f"the target closed the connection {what}{got}", where=where)
        raise Stop

    def record_disconnect(self, step: Step, where: Location, message: str) -> None:
        self.log.add(step.disconnect_check or "SMTP-REJ-013", message, where=where)

    # -- replies no command asked for --------------------------------------------------
    def check_after_quit(self, reply: Reply, where: Location) -> None:
        """At QUIT the target answers 221 and closes: any other reply, before or after the 221, is surplus.

        Reading up to the close (bounded by the timeout) needs no grace period:
        the target's own close ends the read.
        """
        conn = self.conn
        extra = b"" if conn.closed_by_peer else conn.drain_until_close(min(5.0, self.settings.timeout))
        if reply.code != 221 and re.search(rb"(?m)^221[ -]", extra):
            self.surplus_reply(reply.raw + extra, dataclasses.replace(
                where, detail=f"{where.detail}: a reply came before the 221"))
        elif extra:
            self.surplus_reply(extra, dataclasses.replace(where, detail=f"{where.detail}: after the 221"))

    def surplus_reply(self, data: bytes, where: Location) -> None:
        """More replies than commands: the dialogue is out of step, so no later verdict can stand.

        A reply read for one command may have been meant for the one before (a RCPT
        judged on MAIL's late 250 would become a false SMTP-REJ-001), so the case
        ends here and fails with SMTP-RPL-007 alone.
        """
        self.surplus = unsolicited_finding(data, self.settings.profile, where)
        self.conn.transcript.note("more replies than commands: the dialogue is out of step and ends here; "
                                  "the case is judged on SMTP-RPL-007 alone")
        self.ended = True
        raise Stop

    def say_goodbye(self) -> None:
        conn = self.conn
        if conn.connected and not self.ended:
            try:
                conn.send_line("QUIT")
                conn.read_reply(timeout=min(5.0, self.settings.timeout))
            except SMTPClientError:
                pass
        conn.close()

    # -- the result ---------------------------------------------------------------
    def result(self) -> CaseResult:
        findings, errors = self.log.findings, self.errors
        reason = self.inconclusive or self.skipped or self.passed_early
        withdrawn = self.surplus is not None
        if self.surplus is not None:
            # every step verdict is withdrawn: which reply answered which command is unknown
            findings, errors, reason = [self.surplus], [], ""
        outcome = decide(findings, errors, strict=self.settings.strict, skipped=bool(self.skipped) and not withdrawn,
                         inconclusive=bool(self.inconclusive) and not withdrawn)
        return CaseResult(
            case_id=self.case.id, outcome=outcome, findings=findings, errors=errors, reason=reason,
            transcript=self.conn.transcript.render(), token=self.token,
            captured={k: v for k, v in self.values.items() if v is not None}, started=self.started,
        )

