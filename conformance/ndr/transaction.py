"""Checks on the SMTP transaction that carried an NDR (catalogue mode C: captured).

An NDR is judged twice: its bytes by the linter (lint.py), and the envelope it
travelled in, which the bytes do not show: RFC 3461 §6.2 wants the null
reverse-path, only the original sender as recipient, no RET or reused ENVID and
no NOTIFY other than NEVER, and RFC 5322 §3.6.1 a Date that says when the NDR
was written.  The envelope is plain data here, so the same checks serve the live
harness (what it just captured) and ``mta-conformance lint --transaction`` (what
it spooled to disk earlier).
"""

from __future__ import annotations

from dataclasses import dataclass

from ..checks.registry import finding
from ..findings import Finding, Location, Profile
from ..smtp.params import param
from .dates import parse_date
from .envelope import Envelope
from .message import NDRMessage

#: an NDR Date further than this from its arrival does not reflect generation time (NDR-HDR-003)
DATE_SKEW = 300.0


@dataclass(frozen=True)
class ReceivedRecipient:
    """One RCPT of the NDR's transaction: the address and its parameter words as received."""

    address: str
    params: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class ReceivedEnvelope:
    """The SMTP envelope an NDR arrived in, as the receiving server saw it."""

    #: the reverse-path without brackets; "" for the null path
    reverse_path: str
    #: when the transaction ended (seconds since the epoch): the moment the Date is held against
    arrived: float
    #: MAIL's parameter words exactly as sent
    mail_params: tuple[str, ...] = ()
    recipients: tuple[ReceivedRecipient, ...] = ()


def envelope_findings(received: ReceivedEnvelope, *, profile: Profile, where: Location,
                      original: Envelope | None = None) -> list[Finding]:
    """NDR-ENV-001, -003, -004, -007; with the *original* envelope also NDR-ENV-002 and -005."""
    out: list[Finding] = []

    def add(check_id: str, message: str, condition: str | None = None) -> None:
        out.append(finding(check_id, message, profile=profile, condition=condition, where=where))

    if received.reverse_path != "":
        add("NDR-ENV-001", f"the NDR was sent with MAIL FROM:<{received.reverse_path}>, not the null path <>")
    if original is not None:
        sender = original.reverse_path.lower()
        others = [r.address for r in received.recipients if r.address.lower() != sender]
        if others:
            add("NDR-ENV-002", f"the NDR went to {others}, not only the original reverse-path <{sender}>")
    if len(received.recipients) > 1:
        add("NDR-ENV-007", f"the NDR transaction has {len(received.recipients)} recipients")
    if param(list(received.mail_params), "RET") is not None:
        add("NDR-ENV-003", "the NDR's MAIL carries a RET parameter")
    envid = param(list(received.mail_params), "ENVID")
    if original is not None and envid is not None and original.envid is not None and envid == original.envid:
        add("NDR-ENV-005", f"the NDR's MAIL reuses the original message's ENVID={envid}")
    for r in received.recipients:
        notify = param(list(r.params), "NOTIFY")
        if notify is not None and notify.upper() != "NEVER":
            add("NDR-ENV-004", f"the NDR's RCPT carries NOTIFY={notify}; only NOTIFY=NEVER is allowed",
                "other-value")
    return out


def date_findings(ndr: NDRMessage, arrived: float, *, profile: Profile, where: Location) -> list[Finding]:
    """NDR-HDR-003: the Date reflects when the NDR was written (within DATE_SKEW of its *arrived* time).

    A missing or invalid Date is left to NDR-HDR-001 and -002, which the linter reports.
    """
    date = ndr.header("Date")
    if not date:
        return []
    parsed = parse_date(date[0].value)  # bounded: a Date of 100,000 "(" once took the parser 20 s
    try:
        when = parsed.timestamp() if parsed is not None else None
    except (ValueError, OverflowError):
        return []
    if when is None:
        return []
    skew = when - arrived
    if abs(skew) <= DATE_SKEW:
        return []
    return [finding("NDR-HDR-003", f"the NDR's Date is {abs(skew):.0f} s {'after' if skew > 0 else 'before'} "
                    f"its arrival: it does not reflect when the NDR was generated", profile=profile,
                    where=Location(line=date[0].line).within(where))]


def transaction_findings(received: ReceivedEnvelope, ndr: NDRMessage | None, *, profile: Profile,
                         where: Location | None = None, original: Envelope | None = None) -> list[Finding]:
    """Every check of the NDR's transaction: its envelope and, when there is a message, its Date.

    *where* is the base location (``Location(ndr=1)`` for a case's first NDR);
    without *original* the checks that compare with the original transaction
    (NDR-ENV-002, -005) are not run.
    """
    base = where or Location()
    out = envelope_findings(received, profile=profile, where=base, original=original)
    if ndr is not None:
        out.extend(date_findings(ndr, received.arrived, profile=profile, where=base))
    return out
