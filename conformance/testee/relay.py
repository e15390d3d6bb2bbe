"""The testee's relaying and NDR generation (RFC 5321 §6.1, RFC 3461 §5.2, RFC 3464).

After the testee has said 250 to a message for a routed domain, it relays it to
the next hop of that domain (passing DSN parameters on only when the next hop
advertises DSN), and writes one RFC 3464 DSN for the recipients that failed, to
the original reverse-path, with a null reverse-path of its own; never for a
message whose reverse-path was null, and never for NOTIFY without FAILURE.
A 4yz from the next hop (or no next hop answering) defers the recipient: the
delivery queue (queue.py) retries it, warns with a "delayed" DSN and fails it
when its queue lifetime is over.  Faults change exactly one of these
behaviours (see faults.py).
"""

from __future__ import annotations

import re
import smtplib
import time
import uuid
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from email.utils import formatdate, getaddresses

DSN_MAIL = ("RET", "ENVID")
DSN_RCPT = ("NOTIFY", "ORCPT")
#: seconds for each SMTP exchange with a next hop or the sink
SMTP_TIMEOUT = 30.0
Recipients = list[tuple[str, list[tuple[str, str | None]]]]
#: opens an SMTP connection (after its 220) to (host, port); the queue passes one that it can abort
Connect = Callable[[str, int], AbstractContextManager[smtplib.SMTP]]


def connect(host: str, port: int) -> smtplib.SMTP:
    return smtplib.SMTP(host, port, timeout=SMTP_TIMEOUT)


@dataclass
class Outcome:
    address: str
    params: list[tuple[str, str | None]]
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
    mail_params: list[tuple[str, str | None]]
    rcpts: list[tuple[str, list[tuple[str, str | None]]]]
    content: bytes
    received: float = field(default_factory=time.time)


def _param(params: list[tuple[str, str | None]], name: str) -> str | None:
    for key, value in params:
        if key.upper() == name:
            return value
    return None


def _xtext_decode(value: str) -> str:
    return re.sub(r"\+([0-9A-F]{2})", lambda m: chr(int(m.group(1), 16)), value)


def relay(message: Message, routes: dict[str, tuple[str, int]], hostname: str,
          faults: frozenset[str], rcpts: Recipients | None = None, connect: Connect = connect) -> list[Outcome]:
    """Deliver to each routed domain's next hop; return what happened per recipient.

    *rcpts* are the recipients to try (default: all of the message's).  A 4yz, or
    a next hop that cannot be reached or goes away, gives a "delayed" outcome: the
    recipient is deferred, and the queue retries it.  A recipient delivered
    without a DSN owed has no outcome.
    """
    outcomes: list[Outcome] = []
    by_route: dict[tuple[str, int], Recipients] = {}
    for address, params in message.rcpts if rcpts is None else rcpts:
        route = routes.get(address.rsplit("@", 1)[-1].lower())
        if route is not None:
            by_route.setdefault(route, []).append((address, params))
    for (host, port), rcpts_here in by_route.items():
        judged: set[str] = set()  #: recipients this next hop gave a final answer or a 4yz for

        def add(outcome: Outcome) -> None:
            judged.add(outcome.address)
            outcomes.append(outcome)

        try:
            with connect(host, port) as client:
                client.ehlo(hostname)
                dsn = client.has_extn("dsn")
                pass_on = (dsn and "dsn-params-dropped" not in faults) or (not dsn and "dsn-params-to-plain-hop" in faults)
                mail_opts = [f"{k}={v}" for k, v in message.mail_params if pass_on and k in DSN_MAIL]
                code, reply = client.mail(message.mail_from, mail_opts)
                accepted = []
                for address, params in rcpts_here:
                    opts = [f"{k}={v}" for k, v in params if pass_on and k in DSN_RCPT]
                    code, reply = client.rcpt(address, opts)
                    text = f"{code} {reply.decode(errors='replace')}"
                    if code // 100 == 2:
                        accepted.append((address, params))
                    else:  # 4yz: deferred, the queue retries it; 5yz: failed
                        add(Outcome(address, params, "delayed" if code // 100 == 4 else "failed", _status(code, reply),
                                    text, host))
                if accepted:
                    try:
                        code, reply = client.data(message.content)
                    except smtplib.SMTPDataError as exc:  # DATA itself refused (no 354)
                        error = exc.smtp_error
                        code, reply = exc.smtp_code, error if isinstance(error, bytes) else error.encode()
                    text = f"{code} {reply.decode(errors='replace')}"
                    for address, params in accepted:
                        judged.add(address)
                        if code // 100 == 2:
                            notify = (_param(params, "NOTIFY") or "").upper()
                            wanted = "SUCCESS" in notify or "relayed-dsn-always" in faults
                            if wanted and not dsn and "no-relayed-dsn" not in faults:
                                add(Outcome(address, params, "relayed", "2.0.0", "", host))
                        else:
                            add(Outcome(address, params, "delayed" if code // 100 == 4 else "failed",
                                        _status(code, reply), text, host))
        except (OSError, smtplib.SMTPException) as exc:
            # the next hop could not be reached or went away: what it did not judge is deferred
            for address, params in rcpts_here:
                if address not in judged:
                    outcomes.append(Outcome(address, params, "delayed", "4.4.1", f"connection failed: {exc}", host))
    return outcomes


def _status(code: int, reply: bytes) -> str:
    match = re.match(rb"([245]\.\d{1,3}\.\d{1,3})", reply)
    return match.group(1).decode() if match else f"{code // 100}.0.0"


def reportable(message: Message, outcomes: list[Outcome], faults: frozenset[str]) -> list[Outcome]:
    """The outcomes a DSN is owed for (RFC 3461 §5.2.6)."""
    out = []
    for o in outcomes:
        notify = (_param(o.params, "NOTIFY") or "").upper()
        if o.action == "failed":
            if notify and "FAILURE" not in notify and "notify-never-ignored" not in faults:
                continue
            out.append(o)
        elif o.action == "relayed":
            out.append(o)
        elif o.action == "delayed" and (not notify or "DELAY" in notify or "delayed-dsn-ignores-notify" in faults):
            out.append(o)
    if "partial-failure-no-ndr" in faults and len(out) < len(message.rcpts) and any(
            o.action == "failed" for o in out):
        return []
    return out


def build_dsn(message: Message, outcomes: list[Outcome], hostname: str, faults: frozenset[str],
              to: str) -> bytes:
    """An RFC 3464 DSN in an RFC 6522 multipart/report."""
    boundary = f"{uuid.uuid4().hex}/{hostname}"
    envid = _param(message.mail_params, "ENVID")
    ret = (_param(message.mail_params, "RET") or "").upper()
    if "ret-ignored" in faults:
        ret = "FULL" if ret == "HDRS" else "HDRS"
    failed = [o for o in outcomes if o.action == "failed"]
    delayed = any(o.action == "delayed" for o in outcomes)
    subject = ("Undelivered Mail Returned to Sender" if failed else "Delayed Mail (still being retried)" if delayed
               else "Successful Mail Delivery Report")
    human = [f"This is the mail system at host {hostname}.", ""]
    for o in outcomes:
        human.append(f"<{o.address}>: {o.action}: {o.diagnostic or o.status}" + (f" ({o.note})" if o.note else ""))
    per_message = [f"Reporting-MTA: dns; {hostname}"]
    if envid is not None and "envid-not-echoed" not in faults:
        value = envid if "envid-not-decoded" in faults else _xtext_decode(envid)
        per_message.insert(0, f"Original-Envelope-Id: {value}")
    per_message.append(f"Arrival-Date: {formatdate(message.received)}")
    blocks = []
    for o in outcomes:
        block = []
        orcpt = _param(o.params, "ORCPT")
        if orcpt and "orcpt-not-reported" not in faults:
            kind, _, value = orcpt.partition(";")
            block.append(f"Original-Recipient: {kind};{_xtext_decode(value)}")
        final = o.address.lower() if "final-recipient-lowercased" in faults else o.address
        block.append(f"Final-Recipient: rfc822; {final}")
        if "ndr-invalid-action" in faults:
            block.append("Action: failure")
        else:
            block.append(f"Action: {o.action}")
        if "ndr-missing-status" not in faults:
            block.append(f"Status: {o.status}")
        bare = "ndr-without-remote-mta" in faults
        if o.remote and not bare:
            block.append(f"Remote-MTA: dns; [{o.remote}]")
        if o.diagnostic and o.diagnostic[:3].isdigit() and not bare:
            block.append(f"Diagnostic-Code: smtp; {o.diagnostic}")
        if o.action == "delayed" and o.retry_until:
            block.append(f"Will-Retry-Until: {formatdate(o.retry_until)}")
        blocks.append("\r\n".join(block))
    header_end = message.content.find(b"\r\n\r\n")
    original_headers = message.content[: header_end + 2] if header_end >= 0 else message.content
    if ret == "HDRS" or (not failed and "success-dsn-full-content" not in faults):
        third = b"Content-Type: text/rfc822-headers\r\n\r\n" + original_headers
    else:
        third = b"Content-Type: message/rfc822\r\n\r\n" + message.content
    report_type = "mixed" if "ndr-multipart-mixed" in faults else "report; report-type=delivery-status"
    head = "\r\n".join([
        f"Date: {formatdate(time.time() - (3600 if 'ndr-stale-date' in faults else 0))}",
        f"From: Mail Delivery System <MAILER-DAEMON@{hostname}>",
        f"To: <{to}>",
        f"Subject: {subject}",
        f"Message-ID: <{uuid.uuid4().hex}@{hostname}>",
        "Auto-Submitted: auto-replied",
        "MIME-Version: 1.0",
        f'Content-Type: multipart/{report_type};\r\n boundary="{boundary}"',
    ])
    parts = [
        "Content-Type: text/plain; charset=us-ascii\r\n\r\n" + "\r\n".join(human) + "\r\n",
        "Content-Type: message/delivery-status\r\n\r\n" + "\r\n".join(per_message) + "\r\n\r\n"
        + "\r\n\r\n".join(blocks) + "\r\n",
    ]
    body = "".join(f"--{boundary}\r\n{p}\r\n" for p in parts).encode() + f"--{boundary}\r\n".encode() + third \
        + f"\r\n--{boundary}--\r\n".encode()
    return head.encode() + b"\r\n\r\n" + body


def ndr_recipient(message: Message, faults: frozenset[str]) -> str | None:
    """Where the NDR goes: the original reverse-path; never to a null one (unless a fault says so)."""
    if "ndr-to-header-address" in faults or (not message.mail_from and "ndr-to-null-sender" in faults):
        header_end = message.content.find(b"\r\n\r\n")
        head = message.content[:header_end].decode("utf-8", "replace")
        found = re.findall(r"(?im)^(?:reply-to|from):(.*)$", head)
        addresses = [a for _, a in getaddresses(found) if a]
        if addresses:
            return addresses[0]
    return message.mail_from or None


def send_ndr(message: Message, outcomes: list[Outcome], routes: dict[str, tuple[str, int]], hostname: str,
             faults: frozenset[str], postmaster: str | None = None, connect: Connect = connect) -> None:
    """Write and send the DSN (or two, under the fault) to the reverse-path.

    A failure of a null-sender message gets no DSN; with *postmaster* set, a plain
    notice goes there instead (RFC 3461 §5.2.6(b) allows telling the postmaster).
    """
    owed = reportable(message, outcomes, faults)
    if owed and "ndr-names-all-recipients" in faults:
        named = {o.address for o in owed}
        owed += [Outcome(a, p, "failed", "5.0.0", "") for a, p in message.rcpts if a not in named]
    to = ndr_recipient(message, faults)
    if owed and not to and postmaster:
        _send(connect, routes, hostname, "", [postmaster], f"From: <MAILER-DAEMON@{hostname}>\r\nTo: <{postmaster}>\r\n"
              f"Subject: undeliverable mail with a null sender\r\nAuto-Submitted: auto-replied\r\n\r\n"
              f"{len(owed)} recipient(s) failed for a message with a null reverse-path:\r\n\r\n".encode()
              + message.content[: message.content.find(b"\r\n\r\n") + 2])
        return
    if not owed or not to:
        return
    data = build_dsn(message, owed, hostname, faults, to)
    sender = f"MAILER-DAEMON@{hostname}" if "ndr-non-null-sender" in faults else ""
    recipients = [to]
    if "ndr-copy-to-postmaster" in faults:
        recipients.append("postmaster@" + to.rsplit("@", 1)[-1])
    mail_opts: list[str] = []
    rcpt_opts: list[str] = []
    if "ndr-dsn-params" in faults:
        envid = _param(message.mail_params, "ENVID")
        mail_opts = ["RET=HDRS"] + ([f"ENVID={envid}"] if envid else [])
        rcpt_opts = ["NOTIFY=FAILURE"]
    for _ in range(2 if "two-ndrs" in faults else 1):
        _send(connect, routes, hostname, sender, recipients, data, mail_opts, rcpt_opts)


def _send(connect: Connect, routes: dict[str, tuple[str, int]], hostname: str, sender: str, recipients: list[str],
          data: bytes, mail_opts: list[str] | None = None, rcpt_opts: list[str] | None = None) -> None:
    """Send one NDR and return once the next hop answered the end of data (or refused it: then it is dropped)."""
    route = routes.get(recipients[0].rsplit("@", 1)[-1].lower())
    if route is None:
        return
    try:
        with connect(route[0], route[1]) as client:
            client.ehlo(hostname)
            client.sendmail(sender, recipients, data, mail_opts or [], rcpt_opts or [])
    except (OSError, smtplib.SMTPException):
        return
