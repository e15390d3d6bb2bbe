"""Route control: proof, once per run and per route, that the target routes the test domains to the harness.

An after-acceptance case that waits for an NDR which never comes proves
nothing if the target could not reach the harness at all; so before such a
verdict a control message proves each route the case needs, each in a session
of its own: ``ok.*`` at the relay domain reaches the harness's next hop, the
same at the plain relay domain reaches its plain port, and a ``rej-rcpt.*``
recipient at the relay domain (refused by the next hop) bounces to the sink.

A route ends in one of three states.  *Proven*: the control arrived.
*Unprovable*: nothing could provoke it (the target refused the control
in-session, e.g. ``554 5.7.1 Relay access denied``, or a setting it needs is
missing); the cases that need it cannot be tested.  *Failed*: the target
accepted the control and it never arrived, a broken route; the cases that need
it fail with the control's message.  One route's refusal says nothing of the
others.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass

from ..smtp.client import SMTPClientError, SMTPConnection
from ..target import ROUTES, TargetSettings
from .session import SessionRefused, open_session
from .waiting import WatchedMailbox


class RouteState(enum.Enum):
    PROVEN = "proven"
    UNPROVABLE = "unprovable"  #: nothing could provoke it: the cases that need it could not test
    FAILED = "failed"  #: accepted, never arrived: the cases that need it fail


@dataclass(frozen=True)
class RouteProof:
    """What the control of one route showed; *message* says why it is not proven, quoting the target."""

    state: RouteState
    message: str = ""


PROVEN = RouteProof(RouteState.PROVEN)
#: route -> its proof
RouteStatus = dict[str, RouteProof]


@dataclass(frozen=True)
class Control:
    """One route's control message: who sends it to whom, and where it must arrive."""

    route: str
    sender: str
    recipient: str
    awaited: str  #: the address that must arrive at the harness
    role: str  #: the harness role it arrives at ("next-hop" or "sink")
    advice: str  #: what to configure when the target refuses the control
    label: str  #: what the control is for, in words ("relay.test", "bounces to sender.test")


def listen(address: tuple[str, int] | None) -> str:
    """A harness listen address as HOST:PORT (or a placeholder when it is not set)."""
    return f"{address[0]}:{address[1]}" if address else "(no --mta-harness-listen)"


class RouteControl:
    """Sends each route's control message and waits for it at the harness; keeps every proof for the run."""

    def __init__(self, settings: TargetSettings, mailbox: WatchedMailbox | None, token: str) -> None:
        self.settings = settings
        self.mailbox = mailbox
        self.token = "ctrl-" + token
        self.proofs: RouteStatus = {}
        self.transcripts: list[str] = []

    @property
    def transcript(self) -> str:
        """Every control session of the run so far, each headed by a note naming its route."""
        return "\n".join(self.transcripts)

    def prove(self, routes: Iterable[str]) -> RouteStatus:
        """The proofs of *routes*; each route is controlled at most once per run.

        Every new control is sent before the first wait, so the waits overlap.
        """
        wanted = [r for r in dict.fromkeys(routes) if r in ROUTES]
        sent: list[Control] = []
        for route in wanted:
            if route in self.proofs:
                continue
            control, missing = self.control(route)
            if control is None:
                self.proofs[route] = RouteProof(RouteState.UNPROVABLE, missing)
                continue
            refusal = self.send(control)
            if refusal:
                self.proofs[route] = RouteProof(RouteState.UNPROVABLE, refusal)
            else:
                sent.append(control)
        for control in sent:
            self.proofs[control.route] = self.arrival(control)
        return {r: self.proofs[r] for r in wanted}

    # -- what each route sends ------------------------------------------------------
    def control(self, route: str) -> tuple[Control | None, str]:
        """The control message of *route*, or None and why it cannot be provoked."""
        s, token = self.settings, self.token
        if self.mailbox is None:
            return None, "no harness runs to receive the route control (set --mta-harness-listen)"
        domain = s.sender_domain or s.sender.rsplit("@", 1)[-1]
        sender = f"{token}.{route.split('_')[0]}@{domain}"
        if route == "bounce_route":
            if not (s.relay_domain and s.sender_domain):
                return None, ("the bounce route can only be provoked through the relay domain, a recipient the "
                              "harness's next hop refuses; give --mta-relay-domain and --mta-sender-domain")
            return Control(route, sender, f"rej-rcpt.{token}@{s.relay_domain}", sender, "sink", (
                f"route {s.relay_domain} and {s.sender_domain} to the harness at {listen(s.harness_listen)} and "
                f"allow relaying to {s.relay_domain} from this client, see --mta-relay-domain and "
                f"--mta-sender-domain"), f"bounces to {s.sender_domain}"), ""
        plain = route == "plain_relay_route"
        relay = s.plain_relay_domain if plain else s.relay_domain
        option = "--mta-plain-relay-domain" if plain else "--mta-relay-domain"
        if not relay:
            return None, f"{option} is not set, so nothing can be relayed to the harness"
        where = listen(s.harness_plain_listen if plain else s.harness_listen)
        recipient = f"ok.{token}@{relay}"
        return Control(route, sender, recipient, recipient, "next-hop", (
            f"route {relay} to the harness{' port without DSN' if plain else ''} at {where} and allow relaying to "
            f"it from this client, see {option}"), relay), ""

    # -- the session ----------------------------------------------------------------
    def send(self, control: Control) -> str | None:
        """One session with one transaction: why the target refused it in-session, or None when it was accepted."""
        s = self.settings
        conn = SMTPConnection(s.host or "", s.port, s.timeout)
        conn.transcript.note(f"route control for {control.route}: a message to {control.recipient}")
        domain = control.label
        try:
            open_session(conn, s, f"the route control for {domain}")
            refusal = self.transaction(conn, control)
            if refusal is None:
                conn.send_line("QUIT")
                conn.read_reply()
        except SessionRefused as exc:
            refusal = f"the route control for {domain} could not run: {exc}"
        except SMTPClientError as exc:
            refusal = f"the route control session for {domain} failed: {exc}"
        finally:
            conn.close()
            self.transcripts.append(conn.transcript.render())
        return refusal

    def transaction(self, conn: SMTPConnection, control: Control) -> str | None:
        domain = control.label
        for line, want in ((f"MAIL FROM:<{control.sender}>", 2), (f"RCPT TO:<{control.recipient}>", 2),
                           ("DATA", 354)):
            conn.send_line(line)
            reply = conn.read_reply()
            if not (reply.code == want or reply.klass == want):
                return (f"the target refused the route control for {domain} in-session ({reply.one_line()!r} to "
                        f"{line}): {control.advice}")
        conn.send_raw(f"Subject: mta-conformance route control {self.token}\r\nMessage-ID: <{self.token}."
                      f"{control.route}@mta-conformance.test>\r\n\r\nroute control\r\n.\r\n".encode())
        reply = conn.read_reply()
        if reply.klass != 2:
            return (f"the target refused the route control message for {domain} at the end of data "
                    f"({reply.one_line()!r}): {control.advice}")
        return None

    # -- the arrival ----------------------------------------------------------------
    def arrival(self, control: Control) -> RouteProof:
        """Proven when the control reached the harness in time; failed (a broken route) when not."""
        s, wait = self.settings, self.settings.ndr_timeout
        assert self.mailbox is not None  # control() gives no Control without one
        address = control.awaited.lower()
        if self.mailbox.wait_for(lambda tx: tx.role == control.role and any(
                r.address.lower() == address and r.reply.startswith("2") for r in tx.recipients), wait):
            return PROVEN
        if control.route == "bounce_route":
            message = (f"the target accepted a message to {control.recipient}, which the harness's next hop "
                       f"refuses, but no bounce for {control.sender} reached the sink within {wait:g} s: route "
                       f"{s.sender_domain} to {listen(s.harness_listen)}")
        elif control.route == "plain_relay_route":
            message = (f"the target accepted a message to {control.recipient}, but it did not reach the "
                       f"harness's plain port within {wait:g} s: route {s.plain_relay_domain} to "
                       f"{listen(s.harness_plain_listen)}")
        else:
            message = (f"the target accepted a message to {control.recipient}, but it did not reach the harness's "
                       f"next hop within {wait:g} s: route {s.relay_domain} to {listen(s.harness_listen)}")
        return RouteProof(RouteState.FAILED, message)
