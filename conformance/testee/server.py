"""The reference testee: a well-behaved MTA on aiosmtpd, with named faults.

aiosmtpd 1.4.6 is a good SMTP engine but not a conforming MTA out of the box:
it answers 555 to unknown MAIL/RCPT parameters before any hook runs, upper-cases
parameters (ENVID and ORCPT must keep their case), limits commands to 512
octets (RFC 3461 needs 1036+), advertises neither DSN nor ENHANCEDSTATUSCODES,
and its own replies carry no enhanced codes.  ``TesteeSMTP`` therefore parses
MAIL and RCPT itself, writes its own EHLO, and adds enhanced codes in ``push``.
tests/test_testee.py holds each of these behaviours.

Without routes it never relays or delivers: accepted messages are discarded.
With routes (``TesteeConfig.routes``) an accepted message enters the delivery
queue (queue.py): relayed to its next hop, retried while deferred, reported in
DSNs to the sender's route.  ``Testee.wait_idle`` and ``Testee.on_idle`` say when
that queue has nothing running and nothing scheduled.
"""

from __future__ import annotations

import asyncio
import collections
import re
import signal
import ssl
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..serving import BoundController
from aiosmtpd.smtp import SMTP, Envelope, Session

from . import params as P
from . import relay as R
from .faults import validate
from .queue import DeliveryQueue

_ADDRESS = re.compile(r"^<([^<>\s]*)>(.*)$")
_MAILBOX = re.compile(r"^[^@\s<>()\[\],;:\"\\]+@[A-Za-z0-9.-]+$")
#: enhanced code added to aiosmtpd's own replies, by basic code
_DEFAULT_ESC = {221: "2.0.0", 250: "2.0.0", 252: "2.0.0", 220: "2.0.0", 421: "4.7.0", 450: "4.0.0",
                451: "4.3.0", 452: "4.3.1", 500: "5.5.2", 501: "5.5.4", 502: "5.5.1", 503: "5.5.1",
                504: "5.5.4", 530: "5.7.0", 550: "5.0.0", 552: "5.3.4", 554: "5.3.0", 555: "5.5.4"}
_HAS_ESC = re.compile(r"^\d{3}[ -][245]\.\d{1,3}\.\d{1,3}( |$)")


@dataclass
class TesteeConfig:
    __test__ = False  # not a pytest test class, despite the name
    host: str = "127.0.0.1"
    port: int = 0  #: 0 picks a free port
    hostname: str = "testee.local.test"
    local_domain: str = "local.test"
    users: frozenset[str] = frozenset({"alice", "postmaster"})
    faults: frozenset[str] = frozenset()
    max_recipients: int = 1000
    max_message_size: int = 10 * 1024 * 1024
    max_connections: int = 50
    tls_context: ssl.SSLContext | None = None
    #: domain -> (host, port): relay domains (to a next hop) and sender domains (where NDRs go)
    routes: dict[str, tuple[str, int]] = field(default_factory=dict)
    #: where a failure of a null-sender message is reported (a plain notice, not a DSN); None: nowhere
    postmaster_notices: str | None = None
    # The delivery queue's timers, in seconds, counted from the message's acceptance (see queue.py),
    # chosen for a demo on one machine.  A slow case's --mta-delay-timeout must fall between
    # delay_warning and queue_lifetime (the embedded run and the matrix wait 3 s), and the
    # lifetime must also outlast the longest wait judged before the slow pair when all cases
    # are sent at once (--mta-ndr-timeout: 10 s in the embedded run), or a case judged late
    # would see the "failed" DSN too.
    #: a recipient still deferred this long gets one "delayed" DSN (if NOTIFY allows);
    #: none when it is not below queue_lifetime
    delay_warning: float = 1.0
    #: deferred recipients are tried again this often
    retry_interval: float = 1.0
    #: still deferred this long, a recipient fails: a "failed" DSN with its last 4yz reply (if NOTIFY allows)
    queue_lifetime: float = 15.0

    def __post_init__(self) -> None:
        self.faults = validate(frozenset(self.faults))
        if self.delay_warning < 0 or self.retry_interval <= 0 or self.queue_lifetime <= 0:
            raise ValueError(f"the queue timers: delay_warning must be 0 or more, retry_interval and "
                             f"queue_lifetime more than 0 (delay_warning={self.delay_warning:g}, "
                             f"retry_interval={self.retry_interval:g}, queue_lifetime={self.queue_lifetime:g})")


@dataclass
class Transaction:
    """What the testee recorded of one MAIL transaction (for tests)."""

    mail_from: str
    mail_params: list[tuple[str, str | None]]
    rcpts: list[tuple[str, list[tuple[str, str | None]]]] = field(default_factory=list)


class _Handler:
    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if isinstance(server, TesteeSMTP):
            return server.end_of_data(bytes(envelope.original_content or b""))
        return "250 2.0.0 Ok: queued as TESTEE"


class TesteeSMTP(SMTP):
    command_size_limit = 4096
    command_size_limits: dict[str, int] = collections.defaultdict(lambda: 4096)
    line_length_limit = 8192

    def __init__(self, testee: "Testee", **kwargs: Any) -> None:
        self.testee = testee
        self.config = testee.config
        self.faults = testee.config.faults
        super().__init__(_Handler(), **kwargs)
        self._greeted = False
        self._helo_session = False
        self._refused = 0
        self._accepted = 0
        self._tx: Transaction | None = None

    # -- connection limits ---------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        self.testee._connections += 1
        if self.testee._connections > self.config.max_connections:
            transport.write(b"421 4.7.0 Too many connections\r\n")  # type: ignore[attr-defined]
            transport.close()

    def connection_lost(self, error: Exception | None) -> None:
        self.testee._connections -= 1
        super().connection_lost(error)

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
        code = int(text[:3]) if text[:3].isdigit() else 0
        if code and code // 100 in (2, 4, 5) and self._esc_on() and not _HAS_ESC.match(text):
            esc = _DEFAULT_ESC.get(code, f"{code // 100}.0.0")
            text = f"{text[:4]}{esc} {text[4:]}" if len(text) > 4 else f"{text[:3]} {esc}"
        return text.encode("utf-8") + b"\r\n"

    async def _write(self, data: bytes) -> None:
        self._writer.write(data)
        await self._writer.drain()

    async def _reply(self, code: int, esc: str, lines: list[str], raw: bool = False) -> None:
        """A reply of one or more lines, all with *code* and *esc* (unless off)."""
        out = []
        for i, line in enumerate(lines):
            sep = "-" if i < len(lines) - 1 else " "
            prefix = f"{esc} " if esc and self._esc_on() else ""
            out.append(f"{code}{sep}{prefix}{line}")
        await self._write("".join(f"{o}\r\n" for o in out).encode("utf-8"))

    # -- EHLO / HELO ---------------------------------------------------------
    def _capabilities(self) -> list[str]:
        caps = ["PIPELINING", f"SIZE {self.config.max_message_size}", "8BITMIME", "SMTPUTF8"]
        if "no-enhanced-codes" not in self.faults:
            caps.append("ENHANCEDSTATUSCODES")
        if "dsn-keyword-parameters" in self.faults:
            caps.append("DSN NOTIFY RET")
        elif not self._dsn_hidden():
            caps.append("DSN")
        if self.config.tls_context is not None and not self._tls_protocol:
            caps.append("STARTTLS")
        return caps + ["HELP"]

    def _dsn_hidden(self) -> bool:
        return bool({"no-dsn", "dsn-params-without-dsn"} & self.faults)

    async def smtp_EHLO(self, hostname: str | None) -> None:
        if not hostname:
            await self.push("501 Syntax: EHLO hostname")
            return
        self._set_rset_state()
        self.session.extended_smtp = True
        self.session.host_name = hostname
        self._helo_session = False
        lines = [self.config.hostname] + self._capabilities()
        await self._write("".join(f"250{'-' if i < len(lines) - 1 else ' '}{line}\r\n"
                                  for i, line in enumerate(lines)).encode())

    async def smtp_HELO(self, hostname: str | None) -> None:
        if not hostname:
            await self.push("501 Syntax: HELO hostname")
            return
        self._set_rset_state()
        self.session.extended_smtp = False
        self.session.host_name = hostname
        self._helo_session = True
        await self._write(f"250 {self.config.hostname}\r\n".encode())

    # -- parameters ----------------------------------------------------------
    def _dsn_param_status(self, param: P.Param) -> str | None:
        """None when acceptable, else a full reply for a refused DSN parameter."""
        if "dsn-params-refused" in self.faults or ("no-dsn" in self.faults):
            return f"555 5.5.4 {param.name} parameter not supported"
        if "dsn-invalid-accepted" in self.faults:
            return None
        cs = "dsn-keywords-case-sensitive" in self.faults
        short = "dsn-short-limits" in self.faults
        error = {
            "RET": lambda v: P.ret_error(v, cs),
            "ENVID": lambda v: P.envid_error(v, 64 if short else 100),
            "NOTIFY": lambda v: P.notify_error(v, cs),
            "ORCPT": lambda v: P.orcpt_error(v, 256 if short else 500),
        }[param.name](param.value)
        return f"501 5.5.4 {error}" if error else None

    def _check_params(self, plist: list[P.Param], allowed: set[str]) -> str | None:
        seen: set[str] = set()
        for param in plist:
            if param.name in seen and not (param.name in P.DSN_PARAMETERS and "dsn-duplicates-accepted" in self.faults):
                return f"501 5.5.4 {param.name} parameter given twice"
            seen.add(param.name)
            if param.name not in allowed:
                return f"555 5.5.4 {param.name} parameter not recognized"
            if param.name in P.DSN_PARAMETERS:
                status = self._dsn_param_status(param)
                if status:
                    return status
            elif param.name == "SIZE":
                if not (param.value or "").isdigit():
                    return "501 5.5.4 SIZE needs a number"
                if int(param.value or 0) > self.config.max_message_size:
                    return "552 5.3.4 Message size exceeds fixed limit"
            elif param.name == "BODY":
                if (param.value or "").upper() not in ("7BIT", "8BITMIME"):
                    return "501 5.5.4 BODY is 7BIT or 8BITMIME"
                if (param.value or "").upper() == "8BITMIME" and "8bitmime-refused" in self.faults:
                    return "502 5.5.1 Not implemented"
            elif param.name == "SMTPUTF8":
                if param.value is not None:
                    return "501 5.5.4 SMTPUTF8 takes no value"
                if "smtputf8-refused" in self.faults:
                    return "500 5.5.1 Not implemented"
        return None

    # -- MAIL / RCPT ------------------------------------------------------------
    async def smtp_MAIL(self, arg: str | None) -> None:
        if not self.session.host_name:
            await self.push("503 5.5.1 Error: send HELO/EHLO first")
            return
        if self.envelope.mail_from is not None:
            await self.push("503 5.5.1 Error: nested MAIL command")
            return
        arg = arg or ""
        if not arg[:5].upper() == "FROM:":
            await self.push("501 5.5.4 Syntax: MAIL FROM:<address>")
            return
        match = _ADDRESS.match(arg[5:].lstrip())
        if not match or (match.group(1) and not _MAILBOX.match(match.group(1))):
            await self.push("501 5.1.7 Bad sender address syntax")
            return
        plist = P.split_params(match.group(2))
        allowed = {"SIZE", "BODY", "SMTPUTF8"}
        if self.session.extended_smtp:
            allowed |= {"RET", "ENVID"}
        status = self._check_params(plist, allowed) if self.session.extended_smtp or plist else None
        if plist and not self.session.extended_smtp:
            status = "555 5.5.4 parameters need EHLO"
        if status:
            await self.push(status)
            return
        self.envelope.mail_from = match.group(1)
        self.envelope.mail_options = [p.raw for p in plist]
        self._tx = Transaction(match.group(1), [(p.name, p.value) for p in plist])
        self.testee.transactions.append(self._tx)
        await self.push("250 2.1.0 Ok")

    async def smtp_RCPT(self, arg: str | None) -> None:
        if not self.session.host_name:
            await self.push("503 5.5.1 Error: send HELO/EHLO first")
            return
        arg = arg or ""
        if not arg[:3].upper() == "TO:":
            await self.push("501 5.5.4 Syntax: RCPT TO:<address>")
            return
        match = _ADDRESS.match(arg[3:].lstrip())
        if not match or not _MAILBOX.match(match.group(1)):
            await self.push("501 5.1.3 Bad recipient address syntax")
            return
        address = match.group(1)
        local, _, domain = address.rpartition("@")
        is_local = domain.lower() == self.config.local_domain.lower()
        known = is_local and local.lower() in self.config.users
        if self.envelope.mail_from is None:
            if known and "rcpt-without-mail-accepted" in self.faults:
                await self._rcpt_reply(250, "2.1.5", ["Ok"])
                return
            await self._rcpt_reply(503, "5.5.1", ["Error: need MAIL command"])
            return
        plist = P.split_params(match.group(2))
        allowed = {"NOTIFY", "ORCPT"} if self.session.extended_smtp else set()
        status = self._check_params(plist, allowed)
        if status:
            self._refused += 1
            await self._rcpt_raw(status)
            return
        notify = next((p.value for p in plist if p.name == "NOTIFY"), None)
        if is_local and not known:
            if notify and notify.upper() == "NEVER" and "dsn-notify-never-accepts-unknown" in self.faults:
                await self._accept(address, plist)
                return
            await self._refuse_unknown(address)
            return
        routed = domain.lower() in self.config.routes
        if not is_local and not routed and "open-relay" not in self.faults:
            await self._refuse(550, "5.7.1", [f"<{address}>: Relay access denied"])
            return
        limit = 50 if "low-recipient-limit" in self.faults else self.config.max_recipients
        if "recipient-limit-552" in self.faults and self._accepted >= 100:
            await self._refuse(552, "5.5.3", ["Too many recipients"])
            return
        if self._accepted >= limit:
            await self._refuse(452, "4.5.3", ["Error: too many recipients"])
            return
        if known and local.lower() == "alice" and "forwarding-disclosure" in self.faults:
            self._accepted += 1
            self.envelope.rcpt_tos.append(address)
            await self._rcpt_reply(251, "2.1.5", ["User not local; will forward to <alice@elsewhere.test>"])
            return
        await self._accept(address, plist)

    async def _accept(self, address: str, plist: list[P.Param]) -> None:
        self._accepted += 1
        self.envelope.rcpt_tos.append(address)
        if self._tx is not None:
            self._tx.rcpts.append((address, [(p.name, p.value) for p in plist]))
        await self._rcpt_reply(250, "2.1.5", ["Ok"])

    def _unknown_local(self, rcpts: list[tuple[str, list[tuple[str, str | None]]]]) -> list[str]:
        local = self.config.local_domain.lower()
        return [a for a, _ in rcpts if a.rsplit("@", 1)[-1].lower() == local
                and a.rsplit("@", 1)[0].lower() not in self.config.users]

    def end_of_data(self, content: bytes) -> str:
        """The reply to the end of data; a message answered 250 is queued for relaying."""
        tx = self._tx
        if len(content) > self.config.max_message_size:
            if "bounce-after-data-refusal" in self.faults:
                self.queue_message(content)
            return "552 5.3.4 Message size exceeds fixed maximum message size"
        unknown = self._unknown_local(tx.rcpts) if tx is not None else []
        if unknown and "refuse-unknown-after-data" in self.faults:
            return f"550 5.1.1 <{unknown[0]}>: Recipient address rejected: no such user here"
        self.queue_message(content)
        return "250 2.0.0 Ok: queued as TESTEE"

    def queue_message(self, content: bytes) -> None:
        """Before the reply to the end of data: queue the message (relay what is routed, bounce what fails).

        Called on the event loop before the reply is written, so the testee is
        busy (``wait_idle``) before the client can read the 250.
        """
        tx = self._tx
        if tx is None or not self.config.routes:
            return
        message = R.Message(tx.mail_from, list(tx.mail_params), list(tx.rcpts), content)
        unknown = set(self._unknown_local(tx.rcpts))
        # accept-then-bounce: unknown local users accepted in-session fail at the first attempt (the backscatter case)
        self.testee.queue.submit(message, [(a, p) for a, p in tx.rcpts if a in unknown])

    async def _rcpt_reply(self, code: int, esc: str, lines: list[str]) -> None:
        if "missing-enhanced-codes" in self.faults:
            esc = ""
        await self._reply(code, esc, lines)

    async def _rcpt_raw(self, status: str) -> None:
        if "missing-enhanced-codes" in self.faults:
            status = status[:4] + status[4:].split(" ", 1)[-1]
            await self._write(status.encode() + b"\r\n")
            return
        await self.push(status)

    async def _refuse(self, code: int, esc: str, lines: list[str]) -> None:
        """Refuse a recipient (counting refusals for drop-after-errors)."""
        if "drop-after-errors" in self.faults and self._refused >= 3:
            await self._write(b"421 4.7.0 Too many errors\r\n")
            self.transport.close()
            return
        self._refused += 1
        await self._rcpt_reply(code, esc, lines)

    async def _refuse_unknown(self, address: str) -> None:
        faults = self.faults
        if "accept-unknown-recipients" in faults or "refuse-unknown-after-data" in faults:
            await self._accept(address, [])
            return
        if "disconnect-on-unknown" in faults:
            self.transport.close()
            return
        if "drop-after-errors" in faults and self._refused >= 3:
            await self._write(b"421 4.7.0 Too many errors\r\n")
            self.transport.close()
            return
        self._refused += 1
        if "tempfail-unknown-recipients" in faults:
            await self._rcpt_reply(450, "4.1.1", [f"<{address}>: Recipient address rejected: try again later"])
            return
        code1 = code2 = 553 if "wrong-code-unknown-user" in faults else 559 if "unregistered-reply-code" in faults else 550
        if "malformed-multiline" in faults:
            code2 = 551
        esc1 = esc2 = ("5.0.0" if "generic-enhanced-code" in faults else "5.1.99" if "unregistered-enhanced-code" in faults
                       else "4.1.1" if "enhanced-class-mismatch" in faults
                       else "5.01.1" if "invalid-enhanced-syntax" in faults else "5.1.1")
        if "enhanced-code-varies" in faults:
            esc2 = "5.1.0"
        if "missing-enhanced-codes" in faults or not self._esc_on():
            esc1 = esc2 = ""
        text1 = f"<{address}>: Recipient address rejected: " + (
            "Empfänger unbekannt" if "non-ascii-reply" in faults else "no such user here")
        text2 = "Refused in-session so no bounce is ever sent"
        line1 = f"{code1}-{esc1 + ' ' if esc1 else ''}{text1}"
        if "long-reply-line" in faults:
            line1 += " " + "x" * (598 - len(line1.encode()) - 1)
        line2 = f"{code2} {esc2 + ' ' if esc2 else ''}{text2}"
        eol = "\n" if "bare-lf" in faults else "\r\n"
        data = f"{line1}{eol}{line2}{eol}".encode("utf-8")
        if "drip" in faults:
            for byte in data:
                self._writer.write(bytes([byte]))
                await self._writer.drain()
                await asyncio.sleep(0.2)  # the fault under test: a target that drips
            return
        await self._write(data)

    # -- the rest ----------------------------------------------------------------
    async def smtp_RSET(self, arg: str | None) -> None:
        self._set_rset_state()
        self._tx = None
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
        self._tx = None
        self._accepted = 0


class _TesteeController(BoundController):
    """Binds before it serves (conformance/serving.py): a busy port is an OSError at once; port 0 lets the
    kernel choose."""

    def __init__(self, testee: "Testee") -> None:
        self.testee = testee
        cfg = testee.config
        super().__init__(_Handler(), hostname=cfg.host, port=cfg.port, ready_timeout=10.0,
                         server_hostname=cfg.hostname)

    def factory(self) -> SMTP:
        cfg = self.testee.config
        return TesteeSMTP(self.testee, hostname=cfg.hostname, ident="mta-conformance reference testee",
                          data_size_limit=2 * cfg.max_message_size,  # hard cap; the SIZE limit is judged at end of data
                          enable_SMTPUTF8=True, timeout=60,
                          tls_context=cfg.tls_context)


class Testee:
    """Runs the testee in a background thread; a context manager.

    Idle API (for harnesses that wait for "nothing more can come"):

    * ``wait_idle(timeout)`` returns True as soon as the delivery queue is empty:
      no delivery attempt or NDR running, nothing scheduled (no deferred
      recipient waiting for its retry, delay warning or expiry); False when
      *timeout* seconds pass first.  ``wait_idle(0)`` only looks.  SMTP sessions
      in progress do not count; a message counts from before its 250 to the end
      of data is written until its NDRs were accepted by the next hop.
    * ``on_idle(callback)`` calls ``callback()`` each time the testee goes from
      busy to idle (also when ``stop`` discards queued work).  It is called from
      the testee's threads (the delivery worker that finished the last piece of
      work, or the thread calling ``stop``) with no lock held, possibly from two
      threads at once: keep it short and thread-safe; exceptions are logged and
      dropped.  It returns a function that unregisters the callback.
    """

    __test__ = False

    def __init__(self, config: TesteeConfig | None = None) -> None:
        self.config = config or TesteeConfig()
        self.transactions: list[Transaction] = []
        self.queue = DeliveryQueue(self.config)
        self._connections = 0
        self._controller: _TesteeController | None = None
        self.host = self.config.host
        self.port = self.config.port

    def start(self) -> None:
        """Listen and serve; OSError at once when (host, port) cannot be bound."""
        self.queue.open()
        controller = _TesteeController(self)
        controller.start()  # binds (port 0: the kernel picks) and returns once the server answers
        self.port = controller.port
        self._controller = controller

    def wait_idle(self, timeout: float) -> bool:
        """True as soon as nothing runs and nothing is scheduled; False after *timeout* seconds."""
        return self.queue.wait_idle(timeout)

    def on_idle(self, callback: Callable[[], None]) -> Callable[[], None]:
        """Call *callback* (no arguments) at each busy-to-idle transition; returns an unregister function."""
        return self.queue.on_idle(callback)

    def stop(self) -> None:
        """Stop listening, discard the queue (timers cancelled, connections aborted); returns within seconds."""
        if self._controller is not None:
            self._controller.stop()
            self._controller = None
        self.queue.close()

    def __enter__(self) -> "Testee":
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def serve_forever(config: TesteeConfig) -> None:
    """Run until SIGINT/SIGTERM (the CLI's ``testee`` command); OSError at once when it cannot listen."""
    testee = Testee(config)
    testee.start()
    serve_started(testee)


def serve_started(testee: Testee) -> None:
    """Serve a started testee until SIGINT/SIGTERM, then stop it."""
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    try:
        print(f"testee listening on {testee.host}:{testee.port} "
              f"(faults: {', '.join(sorted(testee.config.faults)) or 'none'})", flush=True)
        stop.wait()
    finally:
        testee.stop()
