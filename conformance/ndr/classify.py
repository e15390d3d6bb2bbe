"""What kind of message is this? Classification comes before any DSN check.

Only DSNs get DSN findings.  A bounce that is not a DSN (qmail's text, old Exim
text, multipart/mixed without a delivery-status part) gets the one finding
MPR-001.  Feedback reports, read receipts, auto-replies and ordinary mail are
not NDRs: no findings at all.

Before any of that, the input must look like a message at all: its first
non-empty line is a header field (``Name: value``) or an mbox ``From `` line.
Empty files, random bytes, a README are "not a message" and get no findings.
"Too large" and "not an mbox" are said by the reader (sources.py), which
stops reading such an input.
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
    NOT_A_MESSAGE = "not-a-message"
    TOO_LARGE = "too-large"
    NOT_AN_MBOX = "not-an-mbox"

    @property
    def is_unjudged(self) -> bool:
        """The input was not judged as a message: an exit status of 1, no findings."""
        return self in (Kind.NOT_A_MESSAGE, Kind.TOO_LARGE, Kind.NOT_AN_MBOX)

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
    Kind.NOT_A_MESSAGE: "not a message",
    Kind.TOO_LARGE: "too large",
    Kind.NOT_AN_MBOX: "not an mbox",
}

#: blank lines before the first line with content (any line ending)
_BLANK_LINES = re.compile(rb"(?:[ \t]*(?:\r\n|\r|\n))*")
#: a header field (RFC 5322 field name, optional blanks, colon) or an mbox "From " line
_MESSAGE_START = re.compile(rb"From |[\x21-\x39\x3b-\x7e]+[ \t]*:")
#: the same, with a field name as real ones are spelled (for files that are not named as mail)
_PLAIN_MESSAGE_START = re.compile(rb"From |[A-Za-z][A-Za-z0-9_-]*[ \t]*:")
#: longer than any field name a message may carry (998 characters a line)
_SNIFF_LINE = 1000


def looks_like_message(data: bytes, complete: bool = True, plain_names: bool = False) -> bool | None:
    """Is the first non-empty line of *data* a header field or a "From " line?

    *data* may be only the beginning of an input (``complete=False``); then None
    means "cannot tell yet, read more" (only blank lines so far, or the first
    line is cut before it could show its colon).  *plain_names* accepts only
    field names of letters, digits, "-" and "_" (as real ones are), not every
    RFC 5322 field name: a Python docstring or a Markdown title is no header.
    """
    start = _BLANK_LINES.match(data).end()  # type: ignore[union-attr]  # matches the empty string
    head = data[start:start + _SNIFF_LINE]
    if not head.strip():
        return None if not complete else False
    if (_PLAIN_MESSAGE_START if plain_names else _MESSAGE_START).match(head):
        return True
    if complete or len(head) >= _SNIFF_LINE or b"\n" in head or b"\r" in head:
        return False
    return None


#: fields nearly every message has one of (origination, trace, MIME)
_MAIL_FIELDS = frozenset({
    "from", "sender", "reply-to", "to", "cc", "date", "subject", "message-id", "in-reply-to", "references",
    "received", "return-path", "delivered-to", "x-original-to", "envelope-to", "mime-version", "content-type",
    "auto-submitted", "x-failed-recipients", "dkim-signature", "arc-seal", "authentication-results"})
_PLAIN_FIELD = re.compile(rb"([A-Za-z][A-Za-z0-9_-]*)[ \t]*:")
_LINE_END = re.compile(rb"\r\n|\r|\n")


def looks_like_mail_file(head: bytes, complete: bool = True) -> bool:
    """Is a file that is not named as mail one, judged by its beginning *head*?

    Stricter than ``looks_like_message`` (which says "not a message" of a file
    named to be linted): it starts with a "From " line, or with a header field
    of a plain name and its header section (up to a blank line) holds a field
    every kind of message has (From, Date, Received, Content-Type...).  A README,
    an aliases file or an SMTP transcript is none.
    """
    if looks_like_message(head, complete, plain_names=True) is not True:
        return False
    body = head[_BLANK_LINES.match(head).end():]  # type: ignore[union-attr]
    if body.startswith(b"From "):
        return True
    lines = _LINE_END.split(body)
    if not complete and len(lines) > 1:
        lines = lines[:-1]  # may be cut
    for line in lines:
        if not line.strip():
            break
        field = _PLAIN_FIELD.match(line)
        if field is not None and field.group(1).decode("ascii").lower() in _MAIL_FIELDS:
            return True
    return False


def not_a_message_reason(data: bytes) -> str:
    """The sentence after "not a message" for an input ``looks_like_message`` refused."""
    if not data:
        return "the input is empty"
    if not data.strip():
        return "the input has only blank lines"
    return 'its first line is neither a header field ("Name: value") nor an mbox "From " line'


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
    if (_AUTOREPLY_SUBJECT.search(subject) or auto.startswith("auto-replied") and not _DAEMON_FROM.search(sender)) \
            and not _BOUNCE_SUBJECT.search(subject):
        return Kind.AUTOREPLY
    looks_daemon = bool(_DAEMON_FROM.search(sender)) or bool(ndr.header("x-failed-recipients"))
    if _DELAY_SUBJECT.search(subject) and (looks_daemon or _BOUNCE_SUBJECT.search(subject)):
        return Kind.DELAY_NOTICE
    if _BOUNCE_SUBJECT.search(subject) and (looks_daemon or _BOUNCE_BODY.search(ndr.raw[:200_000])):
        return Kind.BOUNCE
    if looks_daemon and _BOUNCE_BODY.search(ndr.raw[:200_000]):
        return Kind.BOUNCE
    return Kind.OTHER
