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
    DSN_VERIFY = "verification-dsn"
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
        return self in (Kind.DSN_FAILURE, Kind.DSN_DELAY, Kind.DSN_SUCCESS, Kind.DSN_VERIFY)

    @property
    def is_ndr(self) -> bool:
        return self.is_dsn or self in (Kind.BOUNCE, Kind.DELAY_NOTICE)


VERDICTS = {
    Kind.DSN_FAILURE: "RFC 3464 DSN reporting a failure",
    Kind.DSN_DELAY: "RFC 3464 DSN reporting a delay",
    Kind.DSN_SUCCESS: "RFC 3464 DSN reporting success (delivered, relayed or expanded)",
    Kind.DSN_VERIFY: ("DSN reporting an address verification, not a delivery (Action: deliverable or "
                      "undeliverable, as Postfix's address verification writes it)"),
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
    r"undeliver|undelivered|returned mail|return(ed|ing)? to sender|delivery (status notification|failure|has failed)"
    r"|failure notice|delivery failed|mail delivery failed|could not be delivered|non-?delivery|nondeliverable"
    r"|non delivery|failed mail|mail failed|mail system error|rejected|bounce|unable to deliver|permanent error"
    r"|delivery problem|not delivered|delivery notification: delivery has failed",
    re.IGNORECASE)
_DELAY_SUBJECT = re.compile(r"delay|not (yet )?been delivered|still (being )?(tried|retried)|warning: message"
                            r"|delivery warning|postponed",
                            re.IGNORECASE)
_AUTOREPLY_SUBJECT = re.compile(r"out of (the )?office|vacation|auto(matic)?[- ]?(reply|response)|abwesen|away from",
                                re.IGNORECASE)
_DAEMON_FROM = re.compile(r"mailer-daemon|postmaster|mail delivery (sub)?system|mail administrator", re.IGNORECASE)
_BOUNCE_BODY = re.compile(
    rb"qmail-send program|could not be delivered to one or more|the following (address|recipient)"
    rb"|permanent fatal errors|delivery to the following recipient|message could not be delivered"
    rb"|undeliverable|user unknown|unknown user|no such user|mailbox unavailable|failed addresses follow"
    rb"|delivery has failed|was not delivered to|wasn't able to deliver|returning to sender")
#: the opening words legacy MTAs write into every bounce, at the start of a line of their own text:
#: qmail, Exim, Sendmail, Postfix, Smail, Lotus Domino, MS Exchange, Courier
_MTA_BOILERPLATE = re.compile(
    rb"^[ \t|-]*(?:hi\. this is the qmail-send program|i'm afraid i wasn't able to deliver your message"
    rb"|this message was created automatically by mail delivery software"
    rb"|the original message was received at [^\r\n]{0,100}\r?\n[ \t]*from "
    rb"|this is the mail system at host|i'm sorry to have to inform you that your message could not"
    rb"|the following addresses had permanent fatal errors|failed addresses follow:"
    rb"|mail failed, returning to sender|delivery has failed to these recipients or groups"
    rb"|your message did not reach some or all of the intended recipients"
    rb"|this is a delivery status notification|your message was not delivered to"
    rb"|the following message to <[^>\r\n]{1,200}> was undeliverable)",
    re.MULTILINE)
#: a reply or a forward: quoting a bounce's words does not make a message a bounce
_REPLY_SUBJECT = re.compile(r"^\s*(re|fwd?|aw|wg|sv|vs|tr|rif|antw)\s*(\[\d+\])?\s*:", re.IGNORECASE)


def _header(ndr: NDRMessage, name: str) -> str:
    found = ndr.header(name)
    return found[0].value if found else ""


def _body_says(ndr: NDRMessage, pattern: re.Pattern[bytes]) -> bool:
    """Does the body say *pattern* (lower-case), as written or once decoded (base64, quoted-printable)?

    The body as written is searched first, lower-cased once (cheaper than a
    case-blind search); decoding happens only when that does not answer and
    something in the message is transfer-encoded, so most messages are never decoded.
    """
    if pattern.search(ndr.body_lower):
        return True
    if not ndr.may_be_encoded:
        return False
    return bool(pattern.search(ndr.text.lower()))


def _dsn_kind(actions: set[str]) -> Kind:
    """The kind of a DSN by its recipients' actions (RFC 3464 §2.3.3)."""
    if actions and actions <= {"delayed"}:
        return Kind.DSN_DELAY
    if actions and actions <= {"delivered", "relayed", "expanded"}:
        return Kind.DSN_SUCCESS
    if actions and actions <= {"deliverable", "undeliverable"}:
        return Kind.DSN_VERIFY  # Postfix's sendmail -bv and address probes: nothing was delivered
    return Kind.DSN_FAILURE  # failed, invalid or missing actions: judged as a failure report


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
        return _dsn_kind({f.bare.lower() for block in ndr.status.recipients for f in block.get("action")})
    return _not_dsn_kind(ndr)


def _not_dsn_kind(ndr: NDRMessage) -> Kind:
    """Bounce, delay notice, auto-reply or other, for a message without DSN fields: by heuristics.

    The Subject is read with its RFC 2047 words decoded, the body as written
    and, if that does not answer, decoded.
    """
    subject = ndr.subject
    sender = _header(ndr, "from")
    auto = _header(ndr, "auto-submitted").lower()
    if (_AUTOREPLY_SUBJECT.search(subject) or auto.startswith("auto-replied") and not _DAEMON_FROM.search(sender)) \
            and not _BOUNCE_SUBJECT.search(subject):
        return Kind.AUTOREPLY
    looks_daemon = bool(_DAEMON_FROM.search(sender)) or bool(ndr.header("x-failed-recipients"))
    if _DELAY_SUBJECT.search(subject) and (looks_daemon or _BOUNCE_SUBJECT.search(subject)):
        return Kind.DELAY_NOTICE
    bounce_subject = bool(_BOUNCE_SUBJECT.search(subject))
    null_sender = any(h.value.strip() == "<>" for h in (*ndr.header("return-path")[:1], *ndr.header("from")[:1]))
    if bounce_subject and (looks_daemon or null_sender):
        return Kind.BOUNCE
    reply = bool(_REPLY_SUBJECT.match(subject))  # a person answering a bounce quotes its words
    if (looks_daemon or bounce_subject and not reply) and _body_says(ndr, _BOUNCE_BODY):
        return Kind.BOUNCE
    if not reply and _body_says(ndr, _MTA_BOILERPLATE):
        return Kind.DELAY_NOTICE if _DELAY_SUBJECT.search(subject) else Kind.BOUNCE
    return Kind.OTHER
