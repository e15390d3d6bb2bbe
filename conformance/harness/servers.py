"""The harness's own SMTP servers: a scripted next hop and a bounce sink.

The target relays mail for the relay domains to the *next hop*, which answers
each recipient as its address says (``ok.T@`` 250, ``rej-rcpt.T@`` 550 5.1.1 at
RCPT, ``rej-data.T@`` 550 after DATA, ``tmp.T@`` 451), so no process has to tell
the server what a case wants.  NDRs for the sender domain land in the *sink*.

EHLO comes before any recipient, so one port cannot advertise DSN for some cases
and not others: the harness listens on two ports, one advertising DSN (the sink
and the DSN-capable next hop), one not (the next hop of the plain relay domain).

aiosmtpd 1.4.6 answers 555 to DSN parameters before any hook runs, upper-cases
parameters and limits commands to 512 octets; ``HarnessSMTP`` parses MAIL and
RCPT itself, with the neutral parser of conformance/smtp/params.py (the judge
reads the recorded words with it too), and records every parameter word
exactly as sent.  The servers never
relay, refuse recipients outside the test domains, cap message size and
connections, and bind loopback by default.
"""

from __future__ import annotations

import collections
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aiosmtpd.smtp import SMTP, Envelope, Session

from ..serving import BoundController
from ..smtp.params import DSN_PARAMS, param_names, split_path
from .mailbox import Mailbox, Recipient, Transaction

if TYPE_CHECKING:
    # typing.Self is Python 3.11+; only the type checker reads this import
    from typing_extensions import Self

#: commands may be this long (RFC 3461 needs 1036+ octets for MAIL and RCPT with DSN parameters)
COMMAND_SIZE_LIMIT = 4096


@dataclass
class HarnessConfig:
    host: str = "127.0.0.1"
    dsn_port: int = 0  #: 0 picks a free port
    plain_port: int = 0
    #: where the port without DSN listens (--mta-harness-plain-listen's host); None: on *host*
    plain_host: str | None = None
    hostname: str = "harness.mta-conformance.test"
    sender_domain: str = "sender.test"
    relay_domain: str = "relay.test"
    plain_relay_domain: str = "plain-relay.test"
    max_message_size: int = 10 * 1024 * 1024
    max_connections: int = 100
    spool: Path | None = None


def verb_of(address: str) -> str:
    """The scripting verb of a next-hop address: the local part up to its first dot."""
    local = address.rsplit("@", 1)[0]
    return local.split(".", 1)[0].lower()


def _size_refusal(params: list[str], limit: int) -> str | None:
    """The reply to a MAIL whose SIZE= the harness will not take, or None (RFC 1870 §6.1).

    A declared size above the advertised limit is refused at MAIL with 552, so
    the client need not send the message; a SIZE that is not a number is 501.
    """
    for word in params:
        name, _, value = word.partition("=")
        if name.upper() != "SIZE":
            continue
        if not value.isdigit() or len(value) > 20:
            return "501 5.5.4 SIZE takes a number of octets"
        if int(value) > limit:
            return f"552 5.3.4 Message size exceeds fixed maximum message size ({limit} octets)"
    return None


def _dsn_refused(dsn: bool, params: list[str]) -> bool:
    """Whether a server without DSN must refuse these parameter words (they contain a DSN parameter)."""
    return not dsn and not param_names(params).isdisjoint(DSN_PARAMS)


class HarnessSMTP(SMTP):
    command_size_limit = COMMAND_SIZE_LIMIT
    line_length_limit = 8192

    def __init__(self, harness: Harness, port: int, dsn: bool, **kwargs: Any) -> None:
        self.harness = harness
        self.config = harness.config
        self.listen_port = port
        self.dsn = dsn
        super().__init__(_DataHandler(self), **kwargs)
        # per session: aiosmtpd's class-level dict is shared by every instance
        self.command_size_limits = collections.defaultdict(lambda: COMMAND_SIZE_LIMIT)
        self.tx: Transaction | None = None
        self.helo = ""
        self.lines: list[str] = []

    # -- bookkeeping -----------------------------------------------------------
    def connection_made(self, transport: Any) -> None:
        super().connection_made(transport)
        self.harness.connections += 1
        if self.harness.connections > self.config.max_connections:
            transport.write(b"421 4.7.0 Too many connections\r\n")
            transport.close()

    def connection_lost(self, error: Exception | None) -> None:
        self.harness.connections -= 1
        self._finish()
        super().connection_lost(error)

    async def push(self, status: Any) -> None:
        text = status.decode() if isinstance(status, bytes) else str(status)
        self.lines.append(f"S: {text}")
        await super().push(status)

    def reset(self) -> None:
        """Forget the transaction (aiosmtpd's own reset, which it leaves unannotated)."""
        self._set_rset_state()  # type: ignore[no-untyped-call]

    def _client(self, verb: str, arg: str | None) -> None:
        self.lines.append(f"C: {verb}{' ' + arg if arg else ''}")

    def _finish(self) -> None:
        if self.tx is not None:
            self.tx.transcript = list(self.lines)
            self.harness.mailbox.add(self.tx)
            self.tx = None

    def _role(self, address: str) -> str:
        domain = address.rsplit("@", 1)[-1].lower()
        if domain == self.config.sender_domain.lower():
            return "sink"
        if domain == (self.config.relay_domain if self.dsn else self.config.plain_relay_domain).lower():
            return "next-hop"
        return "refused"

    # -- commands -----------------------------------------------------------------
    async def smtp_EHLO(self, hostname: str | None) -> None:
        self._client("EHLO", hostname)
        if not hostname:
            await self.push("501 5.5.4 Syntax: EHLO hostname")
            return
        self._finish()
        self.reset()
        self.session.extended_smtp = True
        self.session.host_name = hostname
        self.helo = hostname
        caps = [self.config.hostname, "PIPELINING", f"SIZE {self.config.max_message_size}", "8BITMIME",
                "ENHANCEDSTATUSCODES"]
        if self.dsn:
            caps.append("DSN")
        caps.append("HELP")
        for i, line in enumerate(caps):
            await self.push(f"250{'-' if i < len(caps) - 1 else ' '}{line}")

    async def smtp_HELO(self, hostname: str | None) -> None:
        self._client("HELO", hostname)
        self._finish()
        self.reset()
        self.session.host_name = hostname or ""
        self.helo = hostname or ""
        await self.push(f"250 {self.config.hostname}")

    async def smtp_MAIL(self, arg: str | None) -> None:
        self._client("MAIL", arg)
        if self.tx is not None and self.envelope.mail_from is not None:
            await self.push("503 5.5.1 Error: nested MAIL command")
            return
        parsed = split_path(arg or "", "FROM")
        if parsed is None:
            await self.push("501 5.5.4 Syntax: MAIL FROM:<address>")
            return
        mail_from, params = parsed
        self._finish()
        self.tx = Transaction(Mailbox.new_id(), "refused", self.listen_port, self.dsn,
                              peer=str(self.session.peer), helo=self.helo, mail_from=mail_from,
                              mail_params=params, mail_arg=arg or "")
        if _dsn_refused(self.dsn, params):
            await self.push("555 5.5.4 DSN parameters are not supported here")
            return  # recorded: a target that sends them to a non-DSN server is judged on this
        size_refusal = _size_refusal(params, self.config.max_message_size)
        if size_refusal:
            await self.push(size_refusal)
            return
        self.envelope.mail_from = mail_from
        await self.push("250 2.1.0 Ok")

    async def smtp_RCPT(self, arg: str | None) -> None:
        self._client("RCPT", arg)
        if self.tx is None or self.envelope.mail_from is None:
            await self.push("503 5.5.1 Error: need MAIL command")
            return
        parsed = split_path(arg or "", "TO")
        if parsed is None:
            await self.push("501 5.5.4 Syntax: RCPT TO:<address>")
            return
        address, params = parsed
        recipient = Recipient(address, params)
        self.tx.recipients.append(recipient)
        reply = self._rcpt_reply(address, params)
        recipient.reply = reply
        if reply.startswith("2"):
            self.envelope.rcpt_tos.append(address)
        await self.push(reply)

    def _rcpt_reply(self, address: str, params: list[str]) -> str:
        role = self._role(address)
        assert self.tx is not None
        if role == "refused":
            return f"550 5.7.1 <{address}>: relay access denied (a test harness)"
        if self.tx.role == "refused":
            self.tx.role = role
        if _dsn_refused(self.dsn, params):
            return "555 5.5.4 DSN parameters are not supported here"
        if role == "sink":
            return "250 2.1.5 Ok (sink)"
        verb = verb_of(address)
        if verb == "rej-rcpt":
            return f"550 5.1.1 <{address}>: Recipient address rejected: no such user (scripted)"
        if verb == "tmp":
            return f"451 4.3.0 <{address}>: temporary failure (scripted)"
        return "250 2.1.5 Ok"

    async def smtp_RSET(self, arg: str | None) -> None:
        self._client("RSET", arg)
        self._finish()
        await super().smtp_RSET(arg)

    async def smtp_QUIT(self, arg: str | None) -> None:
        self._client("QUIT", arg)
        await super().smtp_QUIT(arg)

    async def smtp_DATA(self, arg: str | None) -> None:
        self._client("DATA", arg)
        await super().smtp_DATA(arg)


class _DataHandler:
    """The end of DATA: record the bytes, answer for the whole transaction."""

    def __init__(self, server: HarnessSMTP) -> None:
        self.server = server

    async def handle_DATA(self, smtp: SMTP, session: Session, envelope: Envelope) -> str:
        tx = self.server.tx
        data = envelope.original_content or b""
        if tx is None:
            return "503 5.5.1 Error: no transaction"
        tx.data = bytes(data)
        if any(verb_of(r.address) == "rej-data" for r in tx.accepted) and tx.role == "next-hop":
            reply = "550 5.7.1 Message refused after DATA (scripted)"
        else:
            reply = f"250 2.0.0 Ok: captured as {tx.id}"
        tx.data_reply = reply
        self.server.lines.append(f"S: {reply}")
        self.server._finish()
        self.server.reset()
        return reply


class _Listener(BoundController):
    def __init__(self, harness: Harness, host: str, port: int, dsn: bool) -> None:
        self.harness = harness
        self.dsn = dsn
        cfg = harness.config
        super().__init__(None, hostname=host, port=port, ready_timeout=10.0, server_hostname=cfg.hostname)

    def factory(self) -> SMTP:
        cfg = self.harness.config
        return HarnessSMTP(self.harness, self.port, self.dsn, hostname=cfg.hostname,
                           ident="mta-conformance harness", data_size_limit=cfg.max_message_size,
                           enable_SMTPUTF8=True, timeout=60)


@dataclass
class Harness:
    """Both listeners and their mailbox; a context manager."""

    config: HarnessConfig = field(default_factory=HarnessConfig)
    mailbox: Mailbox = field(init=False)
    connections: int = 0

    def __post_init__(self) -> None:
        self.mailbox = Mailbox(self.config.spool)
        self._listeners: list[_Listener] = []

    @property
    def dsn_port(self) -> int:
        return self._listeners[0].port

    @property
    def plain_port(self) -> int:
        return self._listeners[1].port

    @property
    def running(self) -> bool:
        """Both ports listen."""
        return len(self._listeners) == 2

    @property
    def plain_host(self) -> str:
        """Where the port without DSN listens: its own host when one was given, else the main one."""
        return self.config.plain_host or self.config.host

    def start(self) -> None:
        """Bind both ports (port 0: the kernel picks one; ``dsn_port`` and ``plain_port`` then say which)."""
        cfg = self.config
        for host, port, dsn in ((cfg.host, cfg.dsn_port, True), (self.plain_host, cfg.plain_port, False)):
            listener = _Listener(self, host, port, dsn)
            listener.start()  # returns when the port answers (aiosmtpd's own ready check)
            self._listeners.append(listener)

    def stop(self) -> None:
        for listener in self._listeners:
            listener.stop()
        self._listeners.clear()

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
