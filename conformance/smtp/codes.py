"""Registry of basic SMTP reply codes.

RFC 5321 §4.2.2-4.2.3 lists the codes an SMTP server may send; extensions add a
few (AUTH, STARTTLS, ETRN, RFC 7504).  An extension's code is defined only where
the extension is: each row says which EHLO keywords define it (``extensions``)
and which commands it answers (``commands``); empty means anywhere.  SMTP-RPL-008
warns about any other code and about an extension's code outside its context
(:func:`out_of_context`: ``524`` to RCPT from a server that offered no AUTH);
SMTP-RPL-009 notes RCPT replies outside the §4.3.2 sequence.  The table is data,
held by ``tests/test_codes.py`` (distinct codes, class consistent, every code the
RCPT sequence names is registered).
"""

from __future__ import annotations

from typing import NamedTuple


class ReplyCode(NamedTuple):
    code: int
    meaning: str
    source: str
    #: the EHLO keywords whose extension defines the code (any one will do); () for RFC 5321's and generic codes
    extensions: tuple[str, ...] = ()
    #: the commands the code answers; () for any command
    commands: tuple[str, ...] = ()


_RFC5321 = "RFC 5321 §4.2.2"
_AUTH, _ETRN = ("AUTH",), ("ETRN",)

REPLY_CODES: dict[int, ReplyCode] = {
    c.code: c
    for c in (
        ReplyCode(211, "system status, or system help reply", _RFC5321),
        ReplyCode(214, "help message", _RFC5321),
        ReplyCode(220, "service ready", _RFC5321),
        ReplyCode(221, "service closing transmission channel", _RFC5321),
        ReplyCode(235, "authentication succeeded", "RFC 4954 §6", _AUTH, _AUTH),
        ReplyCode(250, "requested mail action okay, completed", _RFC5321),
        ReplyCode(251, "user not local; will forward", _RFC5321),
        ReplyCode(252, "cannot VRFY user, but will accept message and attempt delivery", _RFC5321),
        ReplyCode(253, "OK, messages pending (ETRN)", "RFC 1985 §5", _ETRN, _ETRN),
        ReplyCode(334, "server challenge (AUTH)", "RFC 4954 §4", _AUTH, _AUTH),
        ReplyCode(354, "start mail input", _RFC5321),
        ReplyCode(421, "service not available, closing transmission channel", _RFC5321),
        ReplyCode(432, "a password transition is needed", "RFC 4954 §6", _AUTH, _AUTH),
        ReplyCode(450, "mailbox unavailable (temporary)", _RFC5321),
        ReplyCode(451, "local error in processing", _RFC5321),
        ReplyCode(452, "insufficient system storage", _RFC5321),
        ReplyCode(454, "temporary authentication failure / TLS not available", "RFC 4954 §6; RFC 3207 §4"),
        ReplyCode(455, "server unable to accommodate parameters", _RFC5321),
        ReplyCode(458, "unable to queue messages for node (ETRN)", "RFC 1985 §5", _ETRN, _ETRN),
        ReplyCode(459, "node not allowed (ETRN)", "RFC 1985 §5", _ETRN, _ETRN),
        ReplyCode(500, "syntax error, command unrecognized", _RFC5321),
        ReplyCode(501, "syntax error in parameters or arguments", _RFC5321),
        ReplyCode(502, "command not implemented", _RFC5321),
        ReplyCode(503, "bad sequence of commands", _RFC5321),
        ReplyCode(504, "command parameter not implemented", _RFC5321),
        ReplyCode(521, "host does not accept mail", "RFC 7504 §3"),
        ReplyCode(523, "encryption needed", "RFC 5248 §2.4", _AUTH, _AUTH),
        ReplyCode(524, "encryption required for requested authentication mechanism", "RFC 4954 §6",
                  _AUTH, _AUTH),
        ReplyCode(525, "user account disabled", "RFC 5248 §2.4", _AUTH),
        ReplyCode(530, "authentication required / must issue STARTTLS first", "RFC 4954 §6; RFC 3207 §4",
                  ("AUTH", "STARTTLS")),
        ReplyCode(534, "authentication mechanism is too weak", "RFC 4954 §6", _AUTH, _AUTH),
        ReplyCode(535, "authentication credentials invalid", "RFC 4954 §6", _AUTH, _AUTH),
        ReplyCode(538, "encryption required for requested authentication mechanism", "RFC 4954 §6",
                  _AUTH, _AUTH),
        ReplyCode(550, "mailbox unavailable (not found, no access, policy)", _RFC5321),
        ReplyCode(551, "user not local; please try <forward-path>", _RFC5321),
        ReplyCode(552, "exceeded storage allocation", _RFC5321),
        ReplyCode(553, "mailbox name not allowed (syntax)", _RFC5321),
        ReplyCode(554, "transaction failed / no SMTP service here", _RFC5321),
        ReplyCode(555, "MAIL FROM/RCPT TO parameters not recognized or not implemented", _RFC5321),
        ReplyCode(556, "domain does not accept mail", "RFC 7504 §3"),
    )
}

#: RFC 5321 §4.3.2: the replies a RCPT command may get
RCPT_SEQUENCE: frozenset[int] = frozenset({250, 251, 550, 551, 552, 553, 450, 451, 452, 503, 455, 555})


def is_registered(code: int) -> bool:
    return code in REPLY_CODES


#: the commands a client sends (and GREETING, DATA-END for the replies without one): a reply to anything
#: else (an AUTH exchange's response line) is not judged by the command it answered
COMMANDS = frozenset({"GREETING", "EHLO", "HELO", "LHLO", "MAIL", "RCPT", "DATA", "DATA-END", "BDAT", "RSET",
                      "VRFY", "EXPN", "HELP", "NOOP", "QUIT", "STARTTLS", "AUTH", "ETRN", "TURN", "ATRN"})


def out_of_context(code: int, command: str, extensions: frozenset[str] | None) -> str | None:
    """Why an extension's *code* is not defined where it was used, in words; None when it is.

    *command* is what the reply answered; *extensions* the EHLO keywords the
    target offered (upper case), None when unknown.  A reply to something that
    is no command (an AUTH exchange's response line) is judged by the extension
    only.  RFC 5321's codes (554, 550, ...) and RFC 7504's (521, 556) are
    defined everywhere.
    """
    row = REPLY_CODES.get(code)
    if row is None or not (row.extensions or row.commands):
        return None
    offered = extensions is None or not row.extensions or any(e in extensions for e in row.extensions)
    answers = command not in COMMANDS or not row.commands or command in row.commands
    if offered and answers:
        return None
    said = f"{command} was answered {code} ({row.meaning}), a code of the {' or '.join(row.extensions)} " \
           f"extension ({row.source})"
    if not answers:
        said += f" that only answers {' or '.join(row.commands)}"
    if not offered:
        said += f"{', and' if not answers else ', but'} the target offered no {' or '.join(row.extensions)} in EHLO"
    return said
