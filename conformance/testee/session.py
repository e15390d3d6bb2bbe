"""One SMTP session with the reference testee: aiosmtpd's ``SMTP`` with the commands a conforming MTA needs.

aiosmtpd 1.4.6 is a good SMTP engine but not a conforming MTA out of the box:
it answers 555 to unknown MAIL/RCPT parameters before any hook runs, upper-cases
parameters (ENVID and ORCPT must keep their case), limits commands to 512
octets (RFC 3461 needs 1036+), advertises neither DSN nor ENHANCEDSTATUSCODES,
and its own replies carry no enhanced codes.  ``TesteeSMTP`` therefore parses
MAIL and RCPT itself (params.py, param_policy.py), writes its own EHLO, and adds
enhanced codes in ``push`` (replies.py).  tests/test_testee.py holds each of
these behaviours.

What a session accepts it hands over at the end of data: the message enters the
delivery queue (queue.py) when the testee has routes, before the 250 is written.
"""

from __future__ import annotations

import asyncio
import collections
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aiosmtpd.smtp import SMTP, Envelope, Session

# The testee's own parameter code, not conformance/smtp/params.py: a reference MTA that shared
# the judge's parser would agree with its bugs and could never expose them.
from . import params as P
from . import replies
from .param_policy import MAIL_DSN_PARAMETERS, MAIL_PARAMETERS, RCPT_PARAMETERS, refusal
from .relay import Message

if TYPE_CHECKING:
    from .server import Testee

_PATH = re.compile(r"^<([^<>\s]*)>(.*)$")
_MAILBOX = re.compile(r"^[^@\s<>()\[\],;:\"\\]+@[A-Za-z0-9.-]+$")
#: commands may be this long (RFC 3461 needs 1036+ octets for MAIL and RCPT with DSN parameters)
COMMAND_SIZE_LIMIT = 4096
ParamPairs = list[tuple[str, str | None]]


@dataclass
class AcceptedEnvelope:
    """What the testee recorded of one MAIL transaction: the envelope as accepted (for tests)."""

    mail_from: str
    mail_params: ParamPairs
    rcpts: list[tuple[str, ParamPairs]] = field(default_factory=list)


class _Handler:
    """aiosmtpd's DATA hook: the session answers the end of data itself."""

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if isinstance(server, TesteeSMTP):
            return server.end_of_data(bytes(envelope.original_content or b""))
        return "250 2.0.0 Ok: queued as TESTEE"


class TesteeSMTP(SMTP):
    command_size_limit = COMMAND_SIZE_LIMIT
    line_length_limit = 8192

    def __init__(self, testee: Testee, **kwargs: Any) -> None:
        self.testee = testee
        self.config = testee.config
        self.faults = testee.config.faults
        super().__init__(_Handler(), **kwargs)
        # per session: aiosmtpd's class-level dict is shared by every instance
        self.command_size_limits = collections.defaultdict(lambda: COMMAND_SIZE_LIMIT)
        self._greeted = False
        self._helo_session = False
        self._refused = 0
        self._accepted = 0
        self._received: AcceptedEnvelope | None = None

    # -- connection limits ---------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        self.testee.connections += 1
        if self.testee.connections > self.config.max_connections:
            transport.write(b"421 4.7.0 Too many connections\r\n")  # type: ignore[attr-defined]
            transport.close()

    def connection_lost(self, error: Exception | None) -> None:
        self.testee.connections -= 1
        super().connection_lost(error)

    def _reset(self) -> None:
        """Forget the transaction (aiosmtpd's own reset, which it leaves unannotated)."""
        self._set_rset_state()  # type: ignore[no-untyped-call]

    # -- writing ---------------------------------------------------------------
    def _esc_on(self) -> bool:
        if "no-enhanced-codes" in self.faults:
            return False
        return not (self._helo_session and "no-enhanced-codes-after-helo" in self.faults)

    async def push(self, status: Any) -> None:
        """Every reply but the greeting, EHLO/HELO and 3xx gets an enhanced code."""
        text = status.decode("utf-8") if isinstance(status, bytes) else str(status)
        if not self._greeted:
            self._greeted = True
            if "bare-code" in self.faults:
                text = text[:3]
            await self._write(text.encode("utf-8") + b"\r\n")
            return
        await self._write(self._line(text))

    def _line(self, text: str) -> bytes:
        """One reply line with the enhanced code added (when on and missing), CRLF-terminated."""
        if self._esc_on():
            text = replies.with_enhanced_code(text)
        return text.encode("utf-8") + b"\r\n"

    async def _write(self, data: bytes) -> None:
        self._writer.write(data)
        await self._writer.drain()

    async def _reply(self, code: int, esc: str, lines: list[str]) -> None:
        """A reply of one or more lines, all with *code* and *esc* (unless enhanced codes are off)."""
        await self._write(replies.reply(code, esc if self._esc_on() else "", lines))

    # -- EHLO / HELO ---------------------------------------------------------
    def _capabilities(self) -> list[str]:
        caps = ["PIPELINING", f"SIZE {self.config.max_message_size}", "8BITMIME", "SMTPUTF8"]
        if "no-enhanced-codes" not in self.faults:
            caps.append("ENHANCEDSTATUSCODES")
        if "dsn-keyword-parameters" in self.faults:
            caps.append("DSN NOTIFY RET")
        elif not {"no-dsn", "dsn-params-without-dsn"} & self.faults:
            caps.append("DSN")
        if self.config.tls_context is not None and not self._tls_protocol:
            caps.append("STARTTLS")
        return [*caps, "HELP"]

    async def smtp_EHLO(self, hostname: str | None) -> None:
        if not hostname:
            await self.push("501 Syntax: EHLO hostname")
            return
        self._greet(hostname, extended=True)
        await self._write(replies.reply(250, "", [self.config.hostname, *self._capabilities()]))

    async def smtp_HELO(self, hostname: str | None) -> None:
        if not hostname:
            await self.push("501 Syntax: HELO hostname")
            return
        self._greet(hostname, extended=False)
        await self._write(replies.reply(250, "", [self.config.hostname]))

    def _greet(self, hostname: str, extended: bool) -> None:
        self._reset()
        self.session.extended_smtp = extended
        self.session.host_name = hostname
        self._helo_session = not extended

    # -- MAIL --------------------------------------------------------------------
    async def smtp_MAIL(self, arg: str | None) -> None:
        if not self.session.host_name:
            await self.push("503 5.5.1 Error: send HELO/EHLO first")
            return
        if self.envelope.mail_from is not None:
            await self.push("503 5.5.1 Error: nested MAIL command")
            return
        arg = arg or ""
        if arg[:5].upper() != "FROM:":
            await self.push("501 5.5.4 Syntax: MAIL FROM:<address>")
            return
        match = _PATH.match(arg[5:].lstrip())
        if not match or (match.group(1) and not _MAILBOX.match(match.group(1))):
            await self.push("501 5.1.7 Bad sender address syntax")
            return
        plist = P.split_params(match.group(2))
        status = self._mail_refusal(plist)
        if status:
            await self.push(status)
            return
        self.envelope.mail_from = match.group(1)
        self.envelope.mail_options = [p.raw for p in plist]
        self._received = AcceptedEnvelope(match.group(1), [(p.name, p.value) for p in plist])
        self.testee.envelopes.append(self._received)
        await self.push("250 2.1.0 Ok")

    def _mail_refusal(self, plist: list[P.Param]) -> str | None:
        """The reply refusing MAIL's parameters, None when they are acceptable."""
        if not self.session.extended_smtp:
            return "555 5.5.4 parameters need EHLO" if plist else None
        return refusal(plist, MAIL_PARAMETERS | MAIL_DSN_PARAMETERS, self.faults, self.config.max_message_size)

    # -- RCPT --------------------------------------------------------------------
    async def smtp_RCPT(self, arg: str | None) -> None:
        if not self.session.host_name:
            await self.push("503 5.5.1 Error: send HELO/EHLO first")
            return
        arg = arg or ""
        if arg[:3].upper() != "TO:":
            await self.push("501 5.5.4 Syntax: RCPT TO:<address>")
            return
        match = _PATH.match(arg[3:].lstrip())
        if not match or not _MAILBOX.match(match.group(1)):
            await self.push("501 5.1.3 Bad recipient address syntax")
            return
        address = match.group(1)
        if self.envelope.mail_from is None:
            if self._known(address) and "rcpt-without-mail-accepted" in self.faults:
                await self._rcpt_reply(250, "2.1.5", ["Ok"])
                return
            await self._rcpt_reply(503, "5.5.1", ["Error: need MAIL command"])
            return
        plist = P.split_params(match.group(2))
        allowed = RCPT_PARAMETERS if self.session.extended_smtp else frozenset()
        status = refusal(plist, allowed, self.faults, self.config.max_message_size)
        if status:
            self._refused += 1
            await self._rcpt_raw(status)
            return
        await self._recipient(address, plist)

    def _is_local(self, address: str) -> bool:
        return address.rpartition("@")[2].lower() == self.config.local_domain.lower()

    def _known(self, address: str) -> bool:
        return self._is_local(address) and address.rpartition("@")[0].lower() in self.config.users

    async def _recipient(self, address: str, plist: list[P.Param]) -> None:
        """Accept or refuse a recipient whose RCPT was well-formed, in a transaction."""
        local, _, domain = address.rpartition("@")
        notify = next((p.value for p in plist if p.name == "NOTIFY"), None)
        if self._is_local(address) and not self._known(address):
            if notify and notify.upper() == "NEVER" and "dsn-notify-never-accepts-unknown" in self.faults:
                await self._accept(address, plist)
                return
            await self._refuse_unknown(address)
            return
        routed = domain.lower() in self.config.routes
        if not self._is_local(address) and not routed and "open-relay" not in self.faults:
            await self._refuse(550, "5.7.1", [f"<{address}>: Relay access denied"])
            return
        limit = 50 if "low-recipient-limit" in self.faults else self.config.max_recipients
        if "recipient-limit-552" in self.faults and self._accepted >= 100:
            await self._refuse(552, "5.5.3", ["Too many recipients"])
            return
        if self._accepted >= limit:
            await self._refuse(452, "4.5.3", ["Error: too many recipients"])
            return
        if self._known(address) and local.lower() == "alice" and "forwarding-disclosure" in self.faults:
            self._accepted += 1
            self.envelope.rcpt_tos.append(address)
            await self._rcpt_reply(251, "2.1.5", ["User not local; will forward to <alice@elsewhere.test>"])
            return
        await self._accept(address, plist)

    async def _accept(self, address: str, plist: list[P.Param]) -> None:
        self._accepted += 1
        self.envelope.rcpt_tos.append(address)
        if self._received is not None:
            self._received.rcpts.append((address, [(p.name, p.value) for p in plist]))
        await self._rcpt_reply(250, "2.1.5", ["Ok"])

    async def _rcpt_reply(self, code: int, esc: str, lines: list[str]) -> None:
        if "missing-enhanced-codes" in self.faults:
            esc = ""
        await self._reply(code, esc, lines)

    async def _rcpt_raw(self, status: str) -> None:
        if "missing-enhanced-codes" in self.faults:
            await self._write(replies.without_enhanced_code(status).encode() + b"\r\n")
            return
        await self.push(status)

    async def _dropped_after_errors(self) -> bool:
        """Under drop-after-errors, after three refusals: say 421 and close (True)."""
        if "drop-after-errors" in self.faults and self._refused >= 3:
            await self._write(b"421 4.7.0 Too many errors\r\n")
            self.transport.close()
            return True
        return False

    async def _refuse(self, code: int, esc: str, lines: list[str]) -> None:
        """Refuse a recipient (counting refusals for drop-after-errors)."""
        if await self._dropped_after_errors():
            return
        self._refused += 1
        await self._rcpt_reply(code, esc, lines)

    async def _refuse_unknown(self, address: str) -> None:
        """An unknown local user: refused in-session, unless a fault accepts it or does worse."""
        faults = self.faults
        if "accept-unknown-recipients" in faults or "refuse-unknown-after-data" in faults:
            await self._accept(address, [])
            return
        if "disconnect-on-unknown" in faults:
            self.transport.close()
            return
        if await self._dropped_after_errors():
            return
        self._refused += 1
        if "tempfail-unknown-recipients" in faults:
            await self._rcpt_reply(450, "4.1.1", [f"<{address}>: Recipient address rejected: try again later"])
            return
        enhanced = "missing-enhanced-codes" not in faults and self._esc_on()
        data = replies.unknown_user_refusal(address, faults, enhanced)
        if "drip" in faults:
            for byte in data:
                self._writer.write(bytes([byte]))
                await self._writer.drain()
                await asyncio.sleep(0.2)  # the fault under test: a target that drips
            return
        await self._write(data)

    # -- DATA ----------------------------------------------------------------------
    async def smtp_DATA(self, arg: str | None) -> None:
        if self.envelope.mail_from is None:
            await self.push("503 5.5.1 Error: need MAIL command")
            return
        if not self.envelope.rcpt_tos:
            if "data-without-recipients" not in self.faults:
                await self.push("554 5.5.1 Error: no valid recipients")
                return
            self.envelope.rcpt_tos.append("nobody-accepted@invalid")
        await super().smtp_DATA(arg)
        self._received = None
        self._accepted = 0

    def _unknown_local(self, rcpts: list[tuple[str, ParamPairs]]) -> list[str]:
        return [address for address, _ in rcpts if self._is_local(address) and not self._known(address)]

    def end_of_data(self, content: bytes) -> str:
        """The reply to the end of data; a message answered 250 is queued for relaying."""
        received = self._received
        if len(content) > self.config.max_message_size:
            if "bounce-after-data-refusal" in self.faults:
                self.queue_message(content)
            return "552 5.3.4 Message size exceeds fixed maximum message size"
        unknown = self._unknown_local(received.rcpts) if received is not None else []
        if unknown and "refuse-unknown-after-data" in self.faults:
            return f"550 5.1.1 <{unknown[0]}>: Recipient address rejected: no such user here"
        self.queue_message(content)
        return "250 2.0.0 Ok: queued as TESTEE"

    def queue_message(self, content: bytes) -> None:
        """Before the reply to the end of data: queue the message (relay what is routed, bounce what fails).

        Called on the event loop before the reply is written, so the testee is
        busy (``wait_idle``) before the client can read the 250.  Without routes
        nothing is queued: the message is dropped.
        """
        received = self._received
        if received is None or not self.config.routes:
            return
        message = Message(received.mail_from, list(received.mail_params), list(received.rcpts), content)
        unknown = set(self._unknown_local(received.rcpts))
        # accept-then-bounce: unknown local users accepted in-session fail at the first attempt (the backscatter case)
        self.testee.queue.submit(message, [(a, p) for a, p in received.rcpts if a in unknown])

    # -- the rest ----------------------------------------------------------------
    async def smtp_RSET(self, arg: str | None) -> None:
        self._reset()
        self._received = None
        self._accepted = 0
        if "missing-reply" in self.faults:
            return
        if "garbage-reply" in self.faults:
            await self._write(b"OK\r\n")
            return
        if "extra-reply" in self.faults:
            # the surplus reply in the same write as the real one: the client sees it at once, every run
            await self._write(self._line("250 2.0.0 Ok") + self._line("250 2.0.0 Extra unsolicited reply"))
            return
        await self.push("250 2.0.0 Ok")

    async def smtp_NOOP(self, arg: str | None) -> None:
        await self.push("250 2.0.0 Ok")

    async def smtp_VRFY(self, arg: str | None) -> None:
        await self.push("252 2.0.0 Cannot VRFY user")

    async def smtp_QUIT(self, arg: str | None) -> None:
        await self.push("221 2.0.0 Bye")
        self._handler_coroutine.cancel()
        self.transport.close()
