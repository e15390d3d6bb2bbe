"""Opening an SMTP session with the target: connect, greeting, EHLO, STARTTLS.

Written once, for the probe, the route control and a case's own STARTTLS, so
that every session the run opens is opened the same way.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ..smtp.client import SMTPConnection, TLSFailed
from ..smtp.reply import Reply
from ..target import StartTLS, TargetSettings


class SessionRefused(Exception):
    """The target would not open the session (greeting, EHLO or STARTTLS); the message says how."""


def parse_ehlo(reply: Reply) -> dict[str, str]:
    """EHLO keywords (upper-case) -> their parameters; the first line is the domain."""
    caps: dict[str, str] = {}
    for line in reply.lines[1:]:
        words = line.text.strip().split(None, 1)
        if words:
            caps[words[0].upper()] = words[1] if len(words) > 1 else ""
    return caps


@dataclass
class OpenedSession:
    """What opening a session learned: the greeting and the capabilities in force (after STARTTLS)."""

    greeting: Reply
    capabilities: dict[str, str]


def open_session(conn: SMTPConnection, settings: TargetSettings, purpose: str) -> OpenedSession:
    """Connect *conn*, read the greeting, EHLO, and STARTTLS when the settings ask for it.

    Raises SessionRefused (words naming *purpose*, e.g. "the probe") or the
    client's SMTPClientError; the caller owns *conn* and closes it either way.
    """
    conn.connect()
    greeting = conn.read_reply()
    if greeting.code != 220:
        raise SessionRefused(f"the target's greeting to {purpose} is not 220: {greeting.one_line()!r}")
    ehlo_line = f"EHLO {settings.helo}"
    conn.send_line(ehlo_line)
    ehlo = conn.read_reply()
    if ehlo.code != 250:
        raise SessionRefused(f"the target refused {ehlo_line} in {purpose}: {ehlo.one_line()!r}")
    capabilities = parse_ehlo(ehlo)
    if settings.starttls is not StartTLS.OFF:
        capabilities = start_tls(conn, settings, ehlo_line, capabilities)
    return OpenedSession(greeting, capabilities)


def start_tls(conn: SMTPConnection, settings: TargetSettings, ehlo_line: str, capabilities: dict[str, str],
              on_reply: Callable[[str, Reply], None] | None = None) -> dict[str, str]:
    """STARTTLS, the handshake and EHLO again, as RFC 3207 §4.2 requires; the new capabilities.

    A target that does not advertise STARTTLS keeps its capabilities, unless
    --mta-starttls=required.  *on_reply* sees the STARTTLS reply (a case judges
    it by the reply rules).
    """
    if "STARTTLS" not in capabilities:
        if settings.starttls is StartTLS.REQUIRED:
            raise SessionRefused("--mta-starttls=required, but the target does not advertise STARTTLS")
        return capabilities
    conn.send_line("STARTTLS")
    reply = conn.read_reply()
    if on_reply is not None:
        on_reply("STARTTLS", reply)
    if reply.code != 220:
        raise SessionRefused(f"STARTTLS was advertised but answered {reply.one_line()!r}")
    try:
        conn.start_tls(settings.host)
    except TLSFailed as exc:
        raise SessionRefused(str(exc)) from None
    conn.send_line(ehlo_line)
    ehlo = conn.read_reply()
    if ehlo.code != 250:
        raise SessionRefused(f"{ehlo_line} after STARTTLS was answered {ehlo.one_line()!r}")
    return parse_ehlo(ehlo)
