"""The live judge of captured NDRs (run/captured.py) on synthetic NDR bytes.

Each test feeds one concrete NDR a real MTA could send to ``judge_report`` or
``judge_one`` and asserts the verdict: the field comparisons follow the RFC
3464 grammar (comments ignored where it has tokens, kept where it has text),
and the findings read as sentences.
"""

from __future__ import annotations

from pathlib import Path

from conformance.findings import Profile, Severity
from conformance.harness.mailbox import Recipient, Transaction
from conformance.run.captured import CapturedNDR, judge_one, judge_report
from conformance.run.collector import FindingCollector
from conformance.run.sent import SentCase, SentEnvelope
from conformance.smtp.transcript import Transcript
from conformance.suite.loader import load_suite
from conformance.suite.locate import shipped_case_files
from conformance.suite.model import Case, NDRExpectation, RecipientReport
from conformance.target import StartTLS, make_settings

TOKEN = "tok123"
RCPT = f"ok.{TOKEN}@plain-relay.test"


def sent_case() -> SentCase:
    settings = make_settings(
        host="127.0.0.1", port=25, helo="judge.mta-conformance.test", sender="probe@sender.test",
        local_domain="local.test", known_recipient="alice@local.test", starttls=StartTLS.OFF, timeout=5,
        profile=Profile.ANTI_BACKSCATTER, report_dir=Path("unused"))
    envelope = SentEnvelope(mail_from=f"probe.{TOKEN}@sender.test", rcpts=[(RCPT, [], 250)], data_sent=True,
                            data_code=250)
    case = Case(id="judge.synthetic", title="synthetic", suite="after-acceptance", checks=("DSNX-016",), steps=())
    return SentCase(case, TOKEN, settings, {"DSN": ""}, envelope, {"token": TOKEN}, Transcript())


def dsn(block: str, content_type: str = "multipart/report; report-type=delivery-status") -> bytes:
    """A DSN to the sender whose one per-recipient block is *block* (field lines)."""
    text = (
        f"From: MAILER-DAEMON@mta.test\r\nTo: probe.{TOKEN}@sender.test\r\n"
        "Date: Wed, 02 Dec 2026 12:00:00 +0000\r\nSubject: Delivery Status Notification\r\n"
        "Message-ID: <1@mta.test>\r\nMIME-Version: 1.0\r\nAuto-Submitted: auto-replied\r\n"
        f'Content-Type: {content_type}; boundary="b1"\r\n\r\n'
        "--b1\r\nContent-Type: text/plain\r\n\r\nA report on " + RCPT + ".\r\n\r\n"
        "--b1\r\nContent-Type: message/delivery-status\r\n\r\n"
        "Reporting-MTA: dns; mta.test\r\n\r\n"
        f"Final-Recipient: rfc822; {RCPT}\r\n{block}\r\n\r\n--b1--\r\n")
    return text.encode()


def captured(data: bytes, number: int = 1) -> CapturedNDR:
    tx = Transaction(id=f"tx{number}", role="sink", port=2525, dsn_advertised=True, mail_from="",
                     recipients=[Recipient(f"probe.{TOKEN}@sender.test", [])], data=data)
    return CapturedNDR.of(number, tx)


def report_messages(block: str, **expected: str) -> list[str]:
    log = FindingCollector(Profile.ANTI_BACKSCATTER)
    report = RecipientReport(final="ok.{token}@plain-relay.test", check="DSNX-016", **expected)  # type: ignore[arg-type]
    judge_report(sent_case(), report, [captured(dsn(block))], log)
    return [f.message for f in log.findings]


def test_comments_in_action_and_status_are_not_part_of_the_token() -> None:
    block = "Action: relayed (to non-DSN-aware mailer)\r\nStatus: 2.0.0 (sent on)"
    assert report_messages(block, action="relayed", status=r"2\.") == []
    assert report_messages("Action: relayed\r\nStatus: (relayed) 2.0.0", action="relayed", status=r"2\.") == []


def test_comment_in_diagnostic_type_is_ignored_but_the_text_is_compared_as_written() -> None:
    block = ("Action: failed\r\nStatus: 5.1.1\r\n"
             "Diagnostic-Code: smtp (reply from the next hop); 550 5.1.1 user unknown (lab downstream, after DATA)")
    assert report_messages(block, diagnostic=r"smtp *; *550 5\.1\.1 user unknown \(lab downstream") == []
    assert report_messages(block, diagnostic=r"smtp *; *550 5\.1\.1 user unknown *$") != []


def test_a_real_action_mismatch_is_still_found() -> None:
    assert report_messages("Action: failed (to non-DSN-aware mailer)\r\nStatus: 5.0.0",
                           action="relayed") != []


def test_a_missing_field_is_said_in_words() -> None:
    messages = report_messages("Action: failed\r\nStatus: 5.1.1", diagnostic="smtp *; *550")
    assert messages == ["the block has no Diagnostic-Code field (expected the smtp reply 550; the case's "
                        "pattern is: smtp *; *550)"]
    messages = report_messages("Status: 5.1.1", action="failed")
    assert messages == ["the block has no Action field (expected 'failed')"]


def test_a_mismatch_says_what_the_pattern_means() -> None:
    messages = report_messages("Action: failed\r\nStatus: 4.4.1\r\nDiagnostic-Code: smtp; 451 4.4.1 try later",
                               status=r"5\.", diagnostic="smtp *; *550")
    assert messages == [
        "Status is '4.4.1', which does not report a permanent failure, a 5.x.x code (the case's pattern is: 5\\.)",
        "Diagnostic-Code is 'smtp; 451 4.4.1 try later', which does not report the smtp reply 550 (the case's "
        "pattern is: smtp *; *550)"]
    for message in messages:
        assert "None" not in message and "/" not in message


HEADERS = (f"From: MAILER-DAEMON@mta.test\r\nTo: probe.{TOKEN}@sender.test\r\n"
           "Date: Wed, 02 Dec 2026 12:00:00 +0000\r\nMessage-ID: <1@mta.test>\r\nMIME-Version: 1.0\r\n")


def judged(data: bytes, **expected: object) -> list[tuple[str, str]]:
    """The (check, severity) pairs judge_one finds on *data* as a case's expected NDR."""
    log = FindingCollector(Profile.ANTI_BACKSCATTER)
    spec = NDRExpectation(count=1, check="DSNX-010", envelope=False, **expected)  # type: ignore[arg-type]
    judge_one(sent_case(), spec, captured(data), log)
    return [(f.check_id, f.severity.value) for f in log.findings if f.check_id in ("MPR-001", "MPR-007")]


def test_a_header_only_message_is_not_the_expected_report() -> None:
    truncated = (HEADERS + "Subject: your message\r\n").encode()
    assert judged(truncated) == [("MPR-001", Severity.ERROR.value)]
    assert judged(truncated, lint=False) == [("MPR-001", Severity.ERROR.value)]
    assert judged(truncated, optional=True) == []


def test_a_header_only_multipart_report_lacks_its_delivery_status_part() -> None:
    truncated = (HEADERS + "Subject: Delivery Status Notification\r\n"
                 'Content-Type: multipart/report; report-type=delivery-status; boundary="b1"\r\n').encode()
    assert judged(truncated) == [("MPR-007", Severity.ERROR.value)]


def test_what_the_linter_said_is_not_said_twice() -> None:
    text_bounce = (HEADERS + "Subject: Undelivered Mail Returned to Sender\r\n\r\n"
                   f"I could not deliver to <{RCPT}>: user unknown.\r\n").encode()
    assert judged(text_bounce) == [("MPR-001", Severity.ERROR.value)]
    assert judged(dsn("Action: failed\r\nStatus: 5.1.1")) == []


def test_the_relay_case_says_what_the_test_client_is() -> None:
    """The test client runs on loopback: it is a client the target must not relay for, not an intruder."""
    whys = [exp.why for path in shipped_case_files() for case in load_suite(path).cases for step in case.steps
            for exp in step.expectations if exp.check == "SMTP-REJ-006" and exp.why]
    assert whys and not any("unauthorised" in why for why in whys)
    assert any("a client the target must not relay for" in why for why in whys)
