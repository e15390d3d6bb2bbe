"""Route control: proof, once per run, that the target routes the test domains to the harness.

An after-acceptance case that waits for an NDR which never comes proves
nothing if the target could not reach the harness at all; so before the first
such case one control transaction checks that ``ok.*`` recipients reach the
next hop and that a ``rej-rcpt.*`` recipient bounces to the sink.  A broken
route fails the cases that need it with the control's own message.
"""

from __future__ import annotations

from ..smtp.client import SMTPClientError, SMTPConnection
from ..target import ROUTES, TargetSettings
from .session import SessionRefused, open_session
from .waiting import WatchedMailbox

#: route -> None when proven, else why not
RouteStatus = dict[str, "str | None"]


class RouteControl:
    """Sends the control messages and waits for them at the harness."""

    def __init__(self, settings: TargetSettings, mailbox: WatchedMailbox, token: str) -> None:
        self.settings = settings
        self.mailbox = mailbox
        self.token = "ctrl-" + token
        self.transcript = ""
        domain = settings.sender_domain or "invalid"
        self.sender = f"{self.token}@{domain}"

    def prove(self) -> RouteStatus:
        failure = self.send()
        if failure:
            return dict.fromkeys(ROUTES, failure)
        return self.arrivals()

    def send(self) -> str | None:
        """Two transactions: the deliveries, then the bounce on its own; why they failed, or None.

        Apart, so that a target that mishandles partial failures (SMTP-REJ-008,
        judged by its case) does not pass for one with broken routes.
        """
        s = self.settings
        delivered = [f"ok.{self.token}@{d}" for d in (s.relay_domain, s.plain_relay_domain) if d]
        bounced = [f"rej-rcpt.{self.token}@{s.relay_domain}"] if s.relay_domain else []
        conn = SMTPConnection(s.host or "", s.port, s.timeout)
        try:
            open_session(conn, s, "the route control")
            for number, rcpts in enumerate(r for r in (delivered, bounced) if r):
                failure = self.transaction(conn, number, rcpts)
                if failure:
                    return failure
            conn.send_line("QUIT")
            conn.read_reply()
        except SessionRefused as exc:
            return str(exc)
        except SMTPClientError as exc:
            return f"route control session failed: {exc}"
        finally:
            conn.close()
            self.transcript = conn.transcript.render()
        return None

    def transaction(self, conn: SMTPConnection, number: int, rcpts: list[str]) -> str | None:
        steps = [(f"MAIL FROM:<{self.sender}>", 2)] + [(f"RCPT TO:<{r}>", 2) for r in rcpts] + [("DATA", 354)]
        for line, want in steps:
            conn.send_line(line)
            reply = conn.read_reply()
            if not (reply.code == want or reply.klass == want):
                return f"the target answered {reply.one_line()!r} to {line} in the route control"
        conn.send_raw(f"Subject: mta-conformance route control {self.token}\r\nMessage-ID: <{self.token}.{number}@"
                      f"mta-conformance.test>\r\n\r\nroute control\r\n.\r\n".encode())
        reply = conn.read_reply()
        if reply.klass != 2:
            return f"the route control message was refused: {reply.one_line()!r}"
        return None

    def arrived(self, address: str, role: str) -> bool:
        return bool(self.mailbox.wait_for(lambda tx: tx.role == role and any(
            r.address.lower() == address.lower() and r.reply.startswith("2") for r in tx.recipients),
            self.settings.ndr_timeout))

    def arrivals(self) -> RouteStatus:
        s, token, wait = self.settings, self.token, self.settings.ndr_timeout
        results: RouteStatus = dict.fromkeys(ROUTES)
        if s.relay_domain and not self.arrived(f"ok.{token}@{s.relay_domain}", "next-hop"):
            results["relay_route"] = (f"a message to ok.{token}@{s.relay_domain} did not reach the harness's "
                                      f"next hop within {wait:g} s: route {s.relay_domain} to {s.harness_listen}")
        if s.plain_relay_domain and not self.arrived(f"ok.{token}@{s.plain_relay_domain}", "next-hop"):
            results["plain_relay_route"] = (f"a message to ok.{token}@{s.plain_relay_domain} did not reach the "
                                            f"harness's plain port within {wait:g} s")
        if not self.arrived(self.sender, "sink"):
            results["bounce_route"] = (f"no bounce for rej-rcpt.{token}@{s.relay_domain} reached the sink for "
                                       f"{self.sender} within {wait:g} s: route {s.sender_domain} to "
                                       f"{s.harness_listen}")
        return results
