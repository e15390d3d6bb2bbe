"""The probe: one session at the start of a run that decides whether the target can be tested.

It learns the greeting and the EHLO capabilities (after STARTTLS, as the
settings ask) and sends the control RCPT: a target that refuses a valid
recipient would make every in-session verdict void, so the run is then
"could not test", never "non-conformant".
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..smtp.client import SMTPClientError, SMTPConnection
from ..target import TargetSettings
from .session import SessionRefused, open_session


@dataclass
class ProbeResult:
    """What one session at the start of a run learned about the target."""

    error: str | None = None
    capabilities: dict[str, str] = field(default_factory=dict)
    greeting: str = ""
    transcript: str = ""
    control_reply: str = ""


def run_probe(settings: TargetSettings) -> ProbeResult:
    """Probe the target once: greeting, EHLO, STARTTLS, the control RCPT, QUIT."""
    conn = SMTPConnection(settings.host or "", settings.port, settings.timeout)
    result = ProbeResult()
    try:
        opened = open_session(conn, settings, "the probe")
        result.greeting, result.capabilities = opened.greeting.one_line(), opened.capabilities
        if settings.control_recipient:
            result.error = _control_rcpt(conn, settings, result)
        if result.error is None:
            conn.send_line("QUIT")
            conn.read_reply()
    except SessionRefused as exc:
        result.error = str(exc)
    except SMTPClientError as exc:
        result.error = f"probe of {settings.host}:{settings.port} failed: {exc}"
    finally:
        conn.close()
        result.transcript = conn.transcript.render()
    return result


def _control_rcpt(conn: SMTPConnection, settings: TargetSettings, result: ProbeResult) -> str | None:
    """MAIL from the probe sender, RCPT to the control recipient; why the run cannot judge, or None."""
    conn.send_line(f"MAIL FROM:<{settings.sender}>")
    mail = conn.read_reply()
    if mail.klass != 2:
        return (f"control probe: the target refused the probe sender <{settings.sender}>: "
                f"{mail.one_line()!r}; in-session verdicts would be void (set --mta-sender)")
    conn.send_line(f"RCPT TO:<{settings.control_recipient}>")
    rcpt = conn.read_reply()
    result.control_reply = rcpt.one_line()
    if rcpt.klass == 2:
        return None
    if settings.known_recipient:
        return (f"control probe: the target refused the known recipient <{settings.known_recipient}>: "
                f"{rcpt.one_line()!r}; a target that refuses a valid recipient makes every in-session "
                f"verdict void")
    return (f"control probe: the target refused <{settings.control_recipient}>: {rcpt.one_line()!r}; postmaster "
            f"must be accepted (RFC 5321 §4.5.1), so in-session verdicts would be void "
            f"(give --mta-known-recipient)")
