"""The testee's DSNs: which results owe one, writing it (RFC 3464, RFC 6522) and sending it.

One DSN per delivery round for the recipients that owe one (RFC 3461 §5.2.6:
"failed" unless NOTIFY lacks FAILURE, "delayed" when NOTIFY is absent or has
DELAY, "relayed" always), to the original reverse-path, with a null
reverse-path of its own; never for a message whose reverse-path was null (a
plain notice to the postmaster instead, when configured).  Faults change
exactly one of these behaviours each (see faults.py).
"""

from __future__ import annotations

import re
import smtplib
import time
import uuid
from email.utils import formatdate, getaddresses

# The testee's own parameter code, not conformance/smtp/params.py: a reference MTA that shared
# the judge's parser would agree with its bugs and could never expose them.
from .params import param_value, xtext_decode
from .relay import Connect, DeliveryResult, Message, connect

Routes = dict[str, tuple[str, int]]


def reportable(message: Message, results: list[DeliveryResult], faults: frozenset[str]) -> list[DeliveryResult]:
    """The results a DSN is owed for (RFC 3461 §5.2.6)."""
    out = []
    for r in results:
        notify = (param_value(r.params, "NOTIFY") or "").upper()
        if r.action == "failed":
            if notify and "FAILURE" not in notify and "notify-never-ignored" not in faults:
                continue
            out.append(r)
        elif r.action == "relayed" or (
                r.action == "delayed"
                and (not notify or "DELAY" in notify or "delayed-dsn-ignores-notify" in faults)):
            out.append(r)
    if "partial-failure-no-ndr" in faults and len(out) < len(message.rcpts) and any(
            r.action == "failed" for r in out):
        return []
    return out


def _per_message(message: Message, hostname: str, faults: frozenset[str]) -> list[str]:
    """The DSN's per-message fields (RFC 3464 §2.2)."""
    fields = [f"Reporting-MTA: dns; {hostname}"]
    envid = param_value(message.mail_params, "ENVID")
    if envid is not None and "envid-not-echoed" not in faults:
        value = envid if "envid-not-decoded" in faults else xtext_decode(envid)
        fields.insert(0, f"Original-Envelope-Id: {value}")
    fields.append(f"Arrival-Date: {formatdate(message.received)}")
    return fields


def _per_recipient(r: DeliveryResult, faults: frozenset[str]) -> str:
    """One recipient's block of per-recipient fields (RFC 3464 §2.3)."""
    block = []
    orcpt = param_value(r.params, "ORCPT")
    if orcpt and "orcpt-not-reported" not in faults:
        kind, _, value = orcpt.partition(";")
        block.append(f"Original-Recipient: {kind};{xtext_decode(value)}")
    final = r.address.lower() if "final-recipient-lowercased" in faults else r.address
    block.append(f"Final-Recipient: rfc822; {final}")
    block.append("Action: failure" if "ndr-invalid-action" in faults else f"Action: {r.action}")
    if "ndr-missing-status" not in faults:
        block.append(f"Status: {r.status}")
    bare = "ndr-without-remote-mta" in faults
    if r.remote and not bare:
        block.append(f"Remote-MTA: dns; [{r.remote}]")
    if r.diagnostic and r.diagnostic[:3].isdigit() and not bare:
        block.append(f"Diagnostic-Code: smtp; {r.diagnostic}")
    if r.action == "delayed" and r.retry_until:
        block.append(f"Will-Retry-Until: {formatdate(r.retry_until)}")
    return "\r\n".join(block)


def _returned(message: Message, failed: bool, faults: frozenset[str]) -> bytes:
    """The third part: the original message, or its header only (RET=HDRS, or a DSN without failures)."""
    ret = (param_value(message.mail_params, "RET") or "").upper()
    if "ret-ignored" in faults:
        ret = "FULL" if ret == "HDRS" else "HDRS"
    header_end = message.content.find(b"\r\n\r\n")
    original_headers = message.content[: header_end + 2] if header_end >= 0 else message.content
    if ret == "HDRS" or (not failed and "success-dsn-full-content" not in faults):
        return b"Content-Type: text/rfc822-headers\r\n\r\n" + original_headers
    return b"Content-Type: message/rfc822\r\n\r\n" + message.content


def _head(hostname: str, to: str, subject: str, boundary: str, faults: frozenset[str]) -> str:
    """The DSN's own header."""
    report_type = "mixed" if "ndr-multipart-mixed" in faults else "report; report-type=delivery-status"
    return "\r\n".join([
        f"Date: {formatdate(time.time() - (3600 if 'ndr-stale-date' in faults else 0))}",
        f"From: Mail Delivery System <MAILER-DAEMON@{hostname}>",
        f"To: <{to}>",
        f"Subject: {subject}",
        f"Message-ID: <{uuid.uuid4().hex}@{hostname}>",
        "Auto-Submitted: auto-replied",
        "MIME-Version: 1.0",
        f'Content-Type: multipart/{report_type};\r\n boundary="{boundary}"',
    ])


def build_dsn(message: Message, results: list[DeliveryResult], hostname: str, faults: frozenset[str],
              to: str) -> bytes:
    """An RFC 3464 DSN in an RFC 6522 multipart/report."""
    boundary = f"{uuid.uuid4().hex}/{hostname}"
    failed = any(r.action == "failed" for r in results)
    delayed = any(r.action == "delayed" for r in results)
    subject = ("Undelivered Mail Returned to Sender" if failed else "Delayed Mail (still being retried)" if delayed
               else "Successful Mail Delivery Report")
    human = [f"This is the mail system at host {hostname}.", ""]
    human += [f"<{r.address}>: {r.action}: {r.diagnostic or r.status}" + (f" ({r.note})" if r.note else "")
              for r in results]
    parts = [
        "Content-Type: text/plain; charset=us-ascii\r\n\r\n" + "\r\n".join(human) + "\r\n",
        "Content-Type: message/delivery-status\r\n\r\n" + "\r\n".join(_per_message(message, hostname, faults))
        + "\r\n\r\n" + "\r\n\r\n".join(_per_recipient(r, faults) for r in results) + "\r\n",
    ]
    body = "".join(f"--{boundary}\r\n{p}\r\n" for p in parts).encode() + f"--{boundary}\r\n".encode() \
        + _returned(message, failed, faults) + f"\r\n--{boundary}--\r\n".encode()
    return _head(hostname, to, subject, boundary, faults).encode() + b"\r\n\r\n" + body


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


def send_ndr(message: Message, results: list[DeliveryResult], routes: Routes, hostname: str,
             faults: frozenset[str], postmaster: str | None = None, connect: Connect = connect) -> None:
    """Write and send the DSN (or two, under the fault) to the reverse-path.

    A failure of a null-sender message gets no DSN; with *postmaster* set, a plain
    notice goes there instead (RFC 3461 §5.2.6(b) allows telling the postmaster).
    """
    owed = reportable(message, results, faults)
    if owed and "ndr-names-all-recipients" in faults:
        named = {r.address for r in owed}
        owed += [DeliveryResult(a, p, "failed", "5.0.0", "") for a, p in message.rcpts if a not in named]
    to = ndr_recipient(message, faults)
    if owed and not to and postmaster:
        _send(connect, routes, hostname, "", [postmaster], _postmaster_notice(message, len(owed), hostname,
                                                                              postmaster))
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
        envid = param_value(message.mail_params, "ENVID")
        mail_opts = ["RET=HDRS"] + ([f"ENVID={envid}"] if envid else [])
        rcpt_opts = ["NOTIFY=FAILURE"]
    for _ in range(2 if "two-ndrs" in faults else 1):
        _send(connect, routes, hostname, sender, recipients, data, mail_opts, rcpt_opts)


def _postmaster_notice(message: Message, failed: int, hostname: str, postmaster: str) -> bytes:
    """The plain notice about a null-sender message's failures, with the message's header."""
    return (f"From: <MAILER-DAEMON@{hostname}>\r\nTo: <{postmaster}>\r\n"
            f"Subject: undeliverable mail with a null sender\r\nAuto-Submitted: auto-replied\r\n\r\n"
            f"{failed} recipient(s) failed for a message with a null reverse-path:\r\n\r\n".encode()
            + message.content[: message.content.find(b"\r\n\r\n") + 2])


def _send(connect: Connect, routes: Routes, hostname: str, sender: str, recipients: list[str],
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
