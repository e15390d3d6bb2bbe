"""The testee's relaying: each routed recipient to its domain's next hop (RFC 5321 §6.1, RFC 3461 §5.2).

After the testee has said 250 to a message for a routed domain, the delivery
queue (queue.py) relays it to the next hop of that domain, passing DSN
parameters on only when the next hop advertises DSN (RFC 3461 §5.2.1; faults
can drop them or pass them to a next hop without DSN).  What happened to each
recipient is a ``DeliveryResult``: a 5yz "failed", a 4yz (or no next hop
answering) "delayed" (deferred: the queue retries it), a message relayed to a
next hop without DSN that asked for SUCCESS "relayed" (RFC 3461 §5.2.2).
dsn.py writes the DSNs those results owe.  Recipients in no routed domain are
not relayed anywhere.
"""

from __future__ import annotations

import re
import smtplib
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field

# The testee's own parameter code, not conformance/smtp/params.py: a reference MTA that shared
# the judge's parser would agree with its bugs and could never expose them.
from .params import DSN_MAIL_PARAMETERS, DSN_RCPT_PARAMETERS, param_value

#: seconds for each SMTP exchange with a next hop or the sink
SMTP_TIMEOUT = 30.0
ParamPairs = list[tuple[str, str | None]]
Recipients = list[tuple[str, ParamPairs]]
#: opens an SMTP connection (after its 220) to (host, port); the queue passes one that it can abort
Connect = Callable[[str, int], AbstractContextManager[smtplib.SMTP]]


def connect(host: str, port: int) -> smtplib.SMTP:
    return smtplib.SMTP(host, port, timeout=SMTP_TIMEOUT)


@dataclass
class DeliveryResult:
    """What one delivery attempt did for one recipient: the stuff of a DSN's per-recipient block."""

    address: str
    params: ParamPairs
    action: str  #: failed, relayed, delivered, delayed (deferred: still queued)
    status: str
    diagnostic: str = ""
    remote: str = ""
    note: str = ""  #: said in the human-readable part (why a deferred recipient failed)
    retry_until: float = 0.0  #: for "delayed": when the queue gives up (Will-Retry-Until), 0 for none


@dataclass
class Message:
    """An accepted message waiting for delivery."""

    mail_from: str
    mail_params: ParamPairs
    rcpts: Recipients
    content: bytes
    received: float = field(default_factory=time.time)


def relay(message: Message, routes: dict[str, tuple[str, int]], hostname: str,
          faults: frozenset[str], rcpts: Recipients | None = None,
          connect: Connect = connect) -> list[DeliveryResult]:
    """Deliver to each routed domain's next hop; return what happened per recipient.

    *rcpts* are the recipients to try (default: all of the message's).  A 4yz, or
    a next hop that cannot be reached or goes away, gives a "delayed" result: the
    recipient is deferred, and the queue retries it.  A recipient delivered
    without a DSN owed has no result.
    """
    by_route: dict[tuple[str, int], Recipients] = {}
    for address, params in message.rcpts if rcpts is None else rcpts:
        route = routes.get(address.rsplit("@", 1)[-1].lower())
        if route is not None:
            by_route.setdefault(route, []).append((address, params))
    results: list[DeliveryResult] = []
    for (host, port), here in by_route.items():
        results += _relay_to(host, port, message, here, hostname, faults, connect)
    return results


def _relay_to(host: str, port: int, message: Message, rcpts: Recipients, hostname: str,
              faults: frozenset[str], connect: Connect) -> list[DeliveryResult]:
    """One SMTP transaction with one next hop for its *rcpts*."""
    results: list[DeliveryResult] = []
    judged: set[str] = set()  #: recipients this next hop gave a final answer or a 4yz for
    try:
        with connect(host, port) as client:
            client.ehlo(hostname)
            dsn = client.has_extn("dsn")
            pass_on = (dsn and "dsn-params-dropped" not in faults) or (not dsn and "dsn-params-to-plain-hop" in faults)
            client.mail(message.mail_from, _options(message.mail_params, DSN_MAIL_PARAMETERS, pass_on))
            accepted = []
            for address, params in rcpts:
                code, reply = client.rcpt(address, _options(params, DSN_RCPT_PARAMETERS, pass_on))
                if code // 100 == 2:
                    accepted.append((address, params))
                else:  # 4yz: deferred, the queue retries it; 5yz: failed
                    results.append(_refused(address, params, code, reply, host))
                    judged.add(address)
            if accepted:
                results += _data(client, host, message, accepted, dsn, faults)
                judged |= {address for address, _ in accepted}
    except (OSError, smtplib.SMTPException) as exc:
        # the next hop could not be reached or went away: what it did not judge is deferred
        results += [DeliveryResult(address, params, "delayed", "4.4.1", f"connection failed: {exc}", host)
                    for address, params in rcpts if address not in judged]
    return results


def _options(params: ParamPairs, names: tuple[str, ...], pass_on: bool) -> list[str]:
    """The DSN parameters among *params* to send on, as words (none unless *pass_on*)."""
    return [f"{k}={v}" for k, v in params if pass_on and k in names]


def _refused(address: str, params: ParamPairs, code: int, reply: bytes, host: str) -> DeliveryResult:
    """A recipient the next hop answered 4yz ("delayed") or 5yz ("failed")."""
    text = f"{code} {reply.decode(errors='replace')}"
    return DeliveryResult(address, params, "delayed" if code // 100 == 4 else "failed", _status(code, reply),
                          text, host)


def _data(client: smtplib.SMTP, host: str, message: Message, accepted: Recipients, dsn: bool,
          faults: frozenset[str]) -> list[DeliveryResult]:
    """Send the message to the recipients the next hop accepted; the results its answer gives them."""
    try:
        code, reply = client.data(message.content)
    except smtplib.SMTPDataError as exc:  # DATA itself refused (no 354)
        error = exc.smtp_error
        code, reply = exc.smtp_code, error if isinstance(error, bytes) else error.encode()
    if code // 100 != 2:
        return [_refused(address, params, code, reply, host) for address, params in accepted]
    results = []
    for address, params in accepted:
        notify = (param_value(params, "NOTIFY") or "").upper()
        wanted = "SUCCESS" in notify or "relayed-dsn-always" in faults
        if wanted and not dsn and "no-relayed-dsn" not in faults:
            results.append(DeliveryResult(address, params, "relayed", "2.0.0", "", host))
    return results


def _status(code: int, reply: bytes) -> str:
    """The reply's enhanced status code, or the class's x.0.0 when it has none."""
    match = re.match(rb"([245]\.\d{1,3}\.\d{1,3})", reply)
    return match.group(1).decode() if match else f"{code // 100}.0.0"
