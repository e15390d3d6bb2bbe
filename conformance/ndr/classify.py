"""What kind of message is this? Classification comes before any DSN check.

Only DSNs get DSN findings.  A bounce that is not a DSN (qmail's text, old Exim
text, multipart/mixed without a delivery-status part) gets the one finding
MPR-001.  Feedback reports, read receipts, auto-replies and ordinary mail are
not NDRs: no findings at all.
"""

from __future__ import annotations

import enum
import re

from .message import NDRMessage


class Kind(str, enum.Enum):
    DSN_FAILURE = "dsn"
    DSN_DELAY = "delay-dsn"
    DSN_SUCCESS = "success-dsn"
    BOUNCE = "non-dsn-bounce"
    DELAY_NOTICE = "non-dsn-delay"
    ARF = "feedback-report"
    MDN = "mdn"
    AUTOREPLY = "auto-reply"
    OTHER = "not-a-bounce"

    @property
    def is_dsn(self) -> bool:
        return self in (Kind.DSN_FAILURE, Kind.DSN_DELAY, Kind.DSN_SUCCESS)

    @property
    def is_ndr(self) -> bool:
        return self.is_dsn or self in (Kind.BOUNCE, Kind.DELAY_NOTICE)


VERDICTS = {
    Kind.DSN_FAILURE: "RFC 3464 DSN reporting a failure",
    Kind.DSN_DELAY: "RFC 3464 DSN reporting a delay",
    Kind.DSN_SUCCESS: "RFC 3464 DSN reporting success (delivered, relayed or expanded)",
    Kind.BOUNCE: "a bounce that is not an RFC 3464 DSN",
    Kind.DELAY_NOTICE: "a delay notice that is not an RFC 3464 DSN",
    Kind.ARF: "an ARF feedback report, not an NDR",
    Kind.MDN: "a disposition notification (read receipt), not an NDR",
    Kind.AUTOREPLY: "an automatic reply (vacation, out of office), not an NDR",
    Kind.OTHER: "not a bounce",
}

_BOUNCE_SUBJECT = re.compile(
    r"undeliver|undelivered|returned mail|return(ed)? to sender|delivery (status notification|failure|has failed)"
    r"|failure notice|delivery failed|mail delivery failed|could not be delivered|non-?delivery|nondeliverable"
    r"|failed mail|mail system error|rejected|bounce|unable to deliver|permanent error|delivery problem",
    re.IGNORECASE)
_DELAY_SUBJECT = re.compile(r"delay|not (yet )?been delivered|still (being )?(tried|retried)|warning: message",
                            re.IGNORECASE)
_AUTOREPLY_SUBJECT = re.compile(r"out of (the )?office|vacation|auto(matic)?[- ]?(reply|response)|abwesen|away from",
                                re.IGNORECASE)
_DAEMON_FROM = re.compile(r"mailer-daemon|postmaster|mail delivery (sub)?system|mail administrator", re.IGNORECASE)
_BOUNCE_BODY = re.compile(
    rb"qmail-send program|could not be delivered to one or more|the following (address|recipient)"
    rb"|permanent fatal errors|delivery to the following recipient|message could not be delivered"
    rb"|undeliverable|user unknown|unknown user|no such user|mailbox unavailable",
    re.IGNORECASE)


def _header(ndr: NDRMessage, name: str) -> str:
    found = ndr.header(name)
    return found[0].value if found else ""


def classify(ndr: NDRMessage) -> Kind:
    report_type = (ndr.message.get_param("report-type") or "") if ndr.content_type == "multipart/report" else ""
    report_type = str(report_type).lower()
    if report_type == "feedback-report" or any(p.content_type == "message/feedback-report" for p in ndr.parts):
        return Kind.ARF
    if report_type == "disposition-notification" or any(
            p.content_type in ("message/disposition-notification", "message/global-disposition-notification")
            for p in ndr.parts):
        return Kind.MDN
    if ndr.status is None and report_type in ("delivery-status", "global-delivery-status"):
        return Kind.DSN_FAILURE  # a DSN that lost its delivery-status part: judged as one (MPR-007)
    if ndr.status is not None and (ndr.status.recipients or ndr.status.per_message.fields):
        actions = {f.bare.lower() for block in ndr.status.recipients for f in block.get("action")}
        if actions and actions <= {"delayed"}:
            return Kind.DSN_DELAY
        if actions and actions <= {"delivered", "relayed", "expanded"}:
            return Kind.DSN_SUCCESS
        return Kind.DSN_FAILURE  # failed, invalid or missing actions: judged as a failure report
    subject = _header(ndr, "subject")
    sender = _header(ndr, "from")
    auto = _header(ndr, "auto-submitted").lower()
    if _AUTOREPLY_SUBJECT.search(subject) or auto.startswith("auto-replied") and not _DAEMON_FROM.search(sender):
        if not _BOUNCE_SUBJECT.search(subject):
            return Kind.AUTOREPLY
    looks_daemon = bool(_DAEMON_FROM.search(sender)) or bool(ndr.header("x-failed-recipients"))
    if _DELAY_SUBJECT.search(subject) and (looks_daemon or _BOUNCE_SUBJECT.search(subject)):
        return Kind.DELAY_NOTICE
    if _BOUNCE_SUBJECT.search(subject) and (looks_daemon or _BOUNCE_BODY.search(ndr.raw[:200_000])):
        return Kind.BOUNCE
    if looks_daemon and _BOUNCE_BODY.search(ndr.raw[:200_000]):
        return Kind.BOUNCE
    return Kind.OTHER
