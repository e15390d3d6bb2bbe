"""Each reply rule on a concrete bad reply (fires) and a good one (silent)."""

from __future__ import annotations

import pytest

from conformance.findings import Profile, Severity
from conformance.smtp.reply import split_complete_reply
from conformance.smtp.rules import ReplyContext, check_reply


def rules(raw: bytes, command: str = "RCPT", esc: bool = True, helo: bool = False) -> dict[str, Severity]:
    reply, rest = split_complete_reply(raw)
    assert reply is not None and rest == b""
    found = check_reply(reply, ReplyContext(command, Profile.ANTI_BACKSCATTER, esc, helo))
    return {f.check_id: f.severity for f in found}


GOOD = b"550-5.1.1 <x@local.test>: no such user\r\n550 5.1.1 refused in-session\r\n"


def test_a_good_reply_has_no_findings() -> None:
    assert rules(GOOD) == {}
    assert rules(b"250 2.1.5 Ok\r\n") == {}
    assert rules(b"354 End data with <CR><LF>.<CR><LF>\r\n", "DATA") == {}
    assert rules(b"220 mx.example ESMTP\r\n", "GREETING") == {}


@pytest.mark.parametrize(("raw", "check"), [
    (b"OK\r\n", "SMTP-RPL-001"),
    (b"650 5.1.1 no\r\n", "SMTP-RPL-001"),
    (b"550-5.1.1 a\r\n551 5.1.1 b\r\n", "SMTP-RPL-002"),
    (b"550\r\n", "SMTP-RPL-003"),
    (b"550 5.1.1 " + b"x" * 600 + b"\r\n", "SMTP-RPL-004"),
    (b"550 5.1.1 bare LF\n", "SMTP-RPL-005"),
    (b"550 5.1.1 bare\rCR\r\n", "SMTP-RPL-005"),
    (b"550 5.1.1 Empf\xc3\xa4nger\r\n", "SMTP-RPL-006"),
    (b"559 5.1.1 invented\r\n", "SMTP-RPL-008"),
    (b"554 5.7.1 relay denied\r\n", "SMTP-RPL-009"),
    (b"551 5.1.6 try <a@b.example>\r\n", "SMTP-REJ-014"),
    (b"550 5.01.1 leading zero\r\n", "ESC-001"),
    (b"550 no enhanced code\r\n", "ESC-002"),
    (b"550 4.1.1 wrong class\r\n", "ESC-003"),
    (b"550-5.1.1 a\r\n550 5.1.0 b\r\n", "ESC-004"),
    (b"550 5.1.99 unregistered\r\n", "ESC-006"),
    (b"550 5.6.10 deprecated\r\n", "ESC-006"),
    (b"450 4.1.1 try later\r\n", "ESC-008"),
    (b"554 5.7.1 relay denied\r\n", "ESC-009"),
])
def test_each_rule_fires_on_its_bad_reply(raw: bytes, check: str) -> None:
    assert check in rules(raw)


def test_helo_session_missing_codes_is_esc_005_not_esc_002() -> None:
    found = rules(b"550 no code\r\n", helo=True)
    assert "ESC-005" in found and "ESC-002" not in found


def test_without_enhancedstatuscodes_missing_codes_are_fine() -> None:
    assert rules(b"550 no code\r\n", esc=False) == {}


def test_severities_come_from_the_registry() -> None:
    assert rules(b"OK\r\n")["SMTP-RPL-001"] is Severity.ERROR
    assert rules(b"550\r\n", esc=False)["SMTP-RPL-003"] is Severity.WARNING
    assert rules(b"550 5.1.99 x\r\n")["ESC-006"] is Severity.WARNING
    assert rules(b"550 5.6.10 x\r\n")["ESC-006"] is Severity.INFO


def test_a_reply_is_never_cut_short() -> None:
    # the line caps are the client's (client.MAX_REPLY_LINES): a cut here would turn the
    # leftover lines into made-up replies to later commands
    continuation = b"250-SIZE 1000\r\n" * 300
    assert split_complete_reply(continuation) == (None, continuation)
    reply, rest = split_complete_reply(continuation + b"250 OK\r\n550 next\r\n")
    assert reply is not None and len(reply.lines) == 301 and rest == b"550 next\r\n"
