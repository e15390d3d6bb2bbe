"""The live judge on what real MTAs send: delay cases, postmaster copies, odd envelopes, EHLO names.

Each test puts synthetic captured transactions (the bytes a real MTA sends)
into a harness mailbox, runs the case's judge, and asserts the verdict in
both directions: the bad input gives the catalogue row's finding, the good one
none.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from types import SimpleNamespace

from conformance.exitcodes import ExitCode
from conformance.findings import Profile, Severity
from conformance.harness.mailbox import Mailbox, Recipient, Transaction
from conformance.progress import SILENT
from conformance.report.recorder import RunRecorder
from conformance.run.captured import CapturedNDR, judge_ndrs, judge_one
from conformance.run.collector import FindingCollector
from conformance.run.ndr_context import raw_reverse_path, usable_address
from conformance.run.sent import SentCase, SentEnvelope
from conformance.run.unclaimed import harness_findings
from conformance.run.waiting import WatchedMailbox
from conformance.smtp.reply import split_complete_reply
from conformance.smtp.rules import ReplyContext, check_reply
from conformance.smtp.transcript import Transcript
from conformance.suite.loader import load_suite
from conformance.suite.locate import shipped_case_files
from conformance.suite.model import Case, NDRExpectation
from conformance.target import StartTLS, make_settings

TOKEN = "tok456"
SENDER = f"probe.{TOKEN}@sender.test"
RCPT = f"tmp.{TOKEN}@relay.test"
HELO = "judge.mta-conformance.test"


def sent_case(quiet: float = 0.3, ehlo: str | None = HELO) -> SentCase:
    settings = make_settings(
        host="127.0.0.1", port=25, helo=HELO, sender="probe@sender.test", local_domain="local.test",
        known_recipient="alice@local.test", starttls=StartTLS.OFF, timeout=5, quiet_period=quiet,
        ndr_timeout=1.0, profile=Profile.ANTI_BACKSCATTER, report_dir=Path("unused"))
    envelope = SentEnvelope(mail_from=SENDER, rcpts=[(RCPT, ["NOTIFY=FAILURE"], 250)], data_sent=True,
                            data_code=250, helo=ehlo)
    case = Case(id="judge.more", title="synthetic", suite="after-acceptance", checks=("DSNX-013",), steps=())
    return SentCase(case, TOKEN, settings, {"DSN": ""}, envelope, {"token": TOKEN, "relay_domain": "relay.test"},
                    Transcript())


def dsn(action: str, status: str, *, to: str = SENDER, extra: str = "", per_message: str = "") -> bytes:
    """A DSN about RCPT, with the original's header (and so the token) returned."""
    return (
        f"From: MAILER-DAEMON@mta.test\r\nTo: {to}\r\nDate: {time.strftime('%a, %d %b %Y %H:%M:%S +0000', time.gmtime())}"
        "\r\nSubject: Delivery Status Notification\r\nMessage-ID: <2@mta.test>\r\nMIME-Version: 1.0\r\n"
        "Auto-Submitted: auto-replied\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="b1"\r\n\r\n'
        f"--b1\r\nContent-Type: text/plain\r\n\r\nA report on {RCPT}.\r\n\r\n"
        "--b1\r\nContent-Type: message/delivery-status\r\n\r\n"
        f"Reporting-MTA: dns; mta.test\r\n{per_message}\r\n"
        f"Final-Recipient: rfc822; {RCPT}\r\nAction: {action}\r\nStatus: {status}\r\n{extra}\r\n"
        f"--b1\r\nContent-Type: text/rfc822-headers\r\n\r\nFrom: {SENDER}\r\nTo: {RCPT}\r\n"
        f"Subject: test {TOKEN}\r\nMessage-ID: <{TOKEN}@sender.test>\r\n\r\n--b1--\r\n").encode()


FAILED = dsn("failed", "5.4.7", extra="Remote-MTA: dns; [192.0.2.1]\r\nDiagnostic-Code: smtp; 451 4.3.0 later\r\n")
DELAYED = dsn("delayed", "4.3.0", extra="Remote-MTA: dns; [192.0.2.1]\r\nDiagnostic-Code: smtp; 451 4.3.0 later\r\n")


def tx(data: bytes, *, to: str = SENDER, mail_from: str = "", mail_arg: str = "FROM:<>") -> Transaction:
    return Transaction(id=f"tx-{time.monotonic_ns()}", role="sink", port=2525, dsn_advertised=True,
                       mail_from=mail_from, mail_arg=mail_arg, recipients=[Recipient(to, [], "250 ok")], data=data)


def judge(spec: NDRExpectation, *captured: Transaction, within: float | None = None,
          sent: SentCase | None = None) -> list[tuple[str, str, str]]:
    mailbox = Mailbox()
    for item in captured:
        mailbox.add(item)
    log = FindingCollector(Profile.ANTI_BACKSCATTER)
    judge_ndrs(sent or sent_case(), spec, WatchedMailbox(mailbox, SILENT, "test"), log, within=within)
    return [(f.check_id, str(f.severity), f.message) for f in log.findings]


def shipped(case_id: str) -> NDRExpectation:
    spec = next(c.ndr for path in shipped_case_files() for c in load_suite(path).cases if c.id == case_id)
    assert spec is not None
    return spec


# a delay case counts delayed reports only

def test_the_final_failed_dsn_is_no_delayed_notice() -> None:
    spec = shipped("dsn-request.no-delayed-notice-without-delay")
    assert spec.actions == ("delayed",)
    started = time.monotonic()
    found = judge(spec, tx(FAILED), within=30.0)
    assert time.monotonic() - started < 5, "the final failure ends the wait"
    assert [(c, s) for c, s, _ in found if s != "info"] == []
    notes = [m for c, s, m in found if c == "DSNX-013" and s == "info"]
    assert len(notes) == 1 and notes[0].startswith("the final failed DSN arrived after ")
    assert "before the delay timeout of 30 s: the queue lifetime of the target is shorter than " \
           "--mta-delay-timeout; only delayed reports are judged here" in notes[0]


def test_a_delayed_dsn_without_delay_in_notify_is_still_found() -> None:
    found = judge(shipped("dsn-request.no-delayed-notice-without-delay"), tx(DELAYED), within=30.0)
    assert [(c, s) for c, s, _ in found if c == "DSNX-013"] == [("DSNX-013", "error")]


def test_the_delayed_notice_case_is_not_failed_by_the_final_failure() -> None:
    spec = shipped("dsn-request.delayed-notice")
    found = judge(spec, tx(FAILED), within=30.0)
    assert [(c, s) for c, s, _ in found if s != "info"] == []
    assert any(c == "DSNX-013" and "final failed DSN" in m for c, _, m in found)


def test_an_action_rfc_3464_does_not_define_counts_in_a_delay_case() -> None:
    """"failure" is no report of something else: the case judges it (DSN-SEM-018), it is not waved through."""
    spec = shipped("dsn-request.delayed-notice")
    found = judge(spec, tx(dsn("failure", "4.3.0", extra="Remote-MTA: dns; [192.0.2.1]\r\n"
                                                     "Diagnostic-Code: smtp; 451 4.3.0 later\r\n")), within=1.0)
    assert ("DSN-SEM-018", "error") in {(c, s) for c, s, _ in found}


def test_another_report_is_said_once() -> None:
    spec = shipped("dsn-request.delayed-notice")
    found = judge(spec, tx(dsn("relayed", "2.0.0")), within=0.5)
    assert [(c, s) for c, s, _ in found if s != "info" and c.startswith(("DSNX", "DSN-SEM-018"))] == []
    notes = [m for c, _, m in found if c == "DSNX-013"]
    assert len(notes) == 1 and notes[0].startswith("an NDR reporting relayed arrived after ")


# a delayed DSN after an SMTP attempt names the remote MTA and quotes its reply

def test_a_delayed_dsn_names_the_remote_mta_and_its_reply() -> None:
    spec = shipped("dsn-request.delayed-notice")
    assert [(c, s) for c, s, _ in judge(spec, tx(DELAYED), within=30.0) if s != "info"] == []
    bare = tx(dsn("delayed", "4.3.0"))
    found = {(c, s) for c, s, _ in judge(spec, bare, within=30.0)}
    assert {("DSN-SEM-022", "error"), ("DSN-SEM-020", "error")} <= found


# Received-From-MTA names the client that handed the message over

def received_from(value: str, ehlo: str | None = HELO) -> list[tuple[str, str, str]]:
    log = FindingCollector(Profile.ANTI_BACKSCATTER)
    data = dsn("failed", "5.1.1", per_message=f"Received-From-MTA: {value}\r\n")
    spec = NDRExpectation(count=1, check="DSNX-010")
    judge_one(sent_case(ehlo=ehlo), spec, CapturedNDR.of(1, tx(data)), log)
    return [(f.check_id, str(f.severity), f.message) for f in log.findings if f.check_id == "DSN-FMT-009"]


def test_received_from_mta_is_the_ehlo_name() -> None:
    assert received_from(f"dns; {HELO} (127.0.0.1)") == []
    assert received_from(f"DNS; {HELO.upper()}.") == []
    assert received_from("dns; [127.0.0.1]") == []
    assert received_from("dns; [IPv6:::1] (the client)") == []
    found = received_from("DNS; localhost")
    assert [(c, s) for c, s, _ in found] == [("DSN-FMT-009", "warning")]
    assert found[0][2] == (f"Received-From-MTA is 'DNS; localhost', but the client that handed the message over "
                           f"said EHLO {HELO}: RFC 3464 §2.2.4 wants 'dns; {HELO}' (its address as a comment, or "
                           f"an address literal)")
    assert received_from(f"x-local; {HELO}") != []
    assert received_from("dns; [not-an-ip]") != []


def test_the_name_the_dialogue_sent_counts_too() -> None:
    assert received_from("dns; other.example", ehlo="other.example") == []


# postmaster copies are the case's

def test_a_postmaster_copy_is_linted_on_the_case() -> None:
    spec = NDRExpectation(count=1, check="DSNX-010")
    copy = dsn("failed", "5.4.7", to="postmaster@sender.test",
               extra="Remote-MTA: dns; [192.0.2.1]\r\nDiagnostic-Code: smtp; 451 4.3.0 later\r\n")
    good = judge(spec, tx(FAILED), tx(copy, to="postmaster@sender.test"))
    assert [(c, s) for c, s, _ in good if s != "info"] == [], "the copy is not a second NDR (NDR-ENV-002, DSNX-022)"
    assert any("the postmaster copy" in m for _, _, m in good)
    broken = copy.replace(b"Status: 5.4.7", b"Status: five")
    bad = judge(spec, tx(FAILED), tx(broken, to="postmaster@sender.test"))
    assert any(m.startswith("in the postmaster copy: ") and s == "warning" for _, s, m in bad)
    # the copy's faults are said, but never more than warnings: the case judges the answer to the sender
    assert all(s != "error" for _, s, m in bad if m.startswith("in the postmaster copy: "))


# an NDR's reverse path is <>, not an address nobody can reach

def envelope_of(mail_arg: str, mail_from: str) -> list[tuple[str, str, str]]:
    log = FindingCollector(Profile.ANTI_BACKSCATTER)
    judge_one(sent_case(), NDRExpectation(count=1, check="DSNX-010"),
              CapturedNDR.of(1, tx(FAILED, mail_from=mail_from, mail_arg=mail_arg)), log)
    return [(f.check_id, str(f.severity), f.message) for f in log.findings if f.check_id == "NDR-ENV-001"]


def test_an_unusable_reverse_path_is_no_null_path() -> None:
    assert envelope_of("FROM:<>", "") == []
    assert envelope_of("FROM:<> RET=HDRS", "") == []
    found = envelope_of("FROM:<#@[]>", "#@[]")
    assert [(c, s) for c, s, _ in found] == [("NDR-ENV-001", str(Severity.ERROR))]
    assert "MAIL FROM:<#@[]>, which is neither the null reverse-path <> nor a usable address" in found[0][2]
    assert "MAIL FROM:<@>" in envelope_of("FROM:<@>", "@")[0][2]
    assert "MAIL FROM:#@[]" in envelope_of("FROM:#@[]", "")[0][2], "an unbracketed path is judged as sent"
    usable = envelope_of("FROM:<MAILER-DAEMON@mta.test>", "MAILER-DAEMON@mta.test")
    assert [m for _, _, m in usable] == ["the NDR was sent with MAIL FROM:<MAILER-DAEMON@mta.test>, not the null "
                                         "path <>"]


def test_reverse_paths_as_sent() -> None:
    assert raw_reverse_path(tx(b"", mail_arg="", mail_from="a@b.test")) == "<a@b.test>"
    assert raw_reverse_path(tx(b"", mail_arg="from: <x@y.test> SIZE=10")) == "<x@y.test>"
    assert usable_address("a@[192.0.2.1]") and usable_address("@r.test:a@b.test")
    assert not usable_address("#@[]") and not usable_address("@") and not usable_address("a@")


# a reply code of an extension, used where the extension does not define it

def rpl_008(raw: bytes, command: str, offered: set[str] | None) -> list[str]:
    reply, rest = split_complete_reply(raw)
    assert reply is not None and rest == b""
    ctx = ReplyContext(command, Profile.ANTI_BACKSCATTER, esc_advertised=True,
                       extensions=None if offered is None else frozenset(offered))
    return [f.message for f in check_reply(reply, ctx) if f.check_id == "SMTP-RPL-008"]


def test_an_auth_code_to_rcpt_without_auth_is_out_of_context() -> None:
    found = rpl_008(b"524 5.7.11 encryption required\r\n", "RCPT", {"PIPELINING", "DSN"})
    assert found == ["RCPT was answered 524 (encryption required for requested authentication mechanism), a code "
                     "of the AUTH extension (RFC 4954 §6) that only answers AUTH, and the target offered no AUTH in "
                     "EHLO: the code is not defined in this context (RFC 5321 §4.2.2: only codes of RFC 5321 or of "
                     "a negotiated extension)"]
    assert rpl_008(b"535 5.7.8 bad credentials\r\n", "RCPT", {"AUTH"}) != []
    assert rpl_008(b"530 5.7.0 authentication required\r\n", "MAIL", set()) != []
    assert rpl_008(b"253 2.0.0 OK, 3 messages pending\r\n", "RCPT", {"ETRN"}) != []


def test_legitimate_uses_of_extension_codes_are_not_flagged() -> None:
    assert rpl_008(b"535 5.7.8 bad credentials\r\n", "AUTH", {"AUTH"}) == []
    assert rpl_008(b"538 5.7.11 encryption required\r\n", "AUTH", {"AUTH"}) == []
    assert rpl_008(b"334 VXNlcm5hbWU6\r\n", "AUTH", {"AUTH"}) == []
    assert rpl_008(b"235 2.7.0 ok\r\n", "DGVZDA==", {"AUTH"}) == [], "a response line of AUTH is no command"
    assert rpl_008(b"530 5.7.0 authentication required\r\n", "MAIL", {"AUTH"}) == []
    assert rpl_008(b"530 5.7.0 must issue a STARTTLS command first\r\n", "RCPT", {"STARTTLS"}) == []
    for raw in (b"554 5.7.1 refused\r\n", b"521 5.3.2 no mail here\r\n", b"556 5.1.10 null MX\r\n"):
        assert rpl_008(raw, "RCPT", set()) == []
    assert rpl_008(b"524 5.7.11 encryption required\r\n", "RCPT", None) != [], "the command alone says it"
    assert rpl_008(b"530 5.7.0 authentication required\r\n", "MAIL", None) == [], "offered extensions unknown"


# captures no case claims are the run's findings

class Holder:
    """The harness holder as the run's end sees it."""

    def __init__(self, mailbox: Mailbox | None) -> None:
        self.box = mailbox

    def listening(self) -> object | None:
        return None if self.box is None else ("127.0.0.1", 2525)

    def mailbox(self) -> Mailbox:
        assert self.box is not None
        return self.box


def test_a_capture_no_case_claims_is_a_run_finding(tmp_path: Path) -> None:
    mailbox = Mailbox()
    mailbox.add(tx(FAILED))  # carries TOKEN: the case's
    stray = dsn("failed", "5.1.1", to="probe@sender.test").replace(TOKEN.encode(), b"other")
    mailbox.add(tx(stray, to="probe@sender.test", mail_arg="FROM:<#@[]>", mail_from="#@[]"))
    found = harness_findings(Holder(mailbox), [TOKEN, ""])
    assert [(f.check_id, str(f.severity)) for f in found] == [("NDR-ENV-002", "info")]
    assert found[0].message.startswith("a message (RFC 3464 DSN reporting a failure) reached the bounce sink with "
                                       "MAIL FROM:<#@[]> to <probe@sender.test>, carrying no case's token")
    assert harness_findings(Holder(mailbox), [TOKEN, "other"]) == []
    control = Mailbox()  # the route control's own mail and its bounce are the run's, not strays
    control.add(tx(b"", to="ok.ctrl-t0123456789@relay.test", mail_from="ctrl-t0123456789.relay@sender.test"))
    control.add(tx(b"Subject: bounce\r\n\r\nabout ctrl-t0123456789\r\n", to="x@sender.test"))
    assert harness_findings(Holder(control), [TOKEN]) == []
    assert harness_findings(Holder(None), [TOKEN]) == [] and harness_findings(None, [TOKEN]) == []
    garbage = Mailbox()
    garbage.add(tx(b"\x00\xff garbage", to="x@sender.test"))
    assert "something that is not a message" in harness_findings(Holder(garbage), [TOKEN])[0].message

    settings = make_settings(host="127.0.0.1", port=25, report_dir=tmp_path)
    config = SimpleNamespace(option=SimpleNamespace(collectonly=False))
    recorder = RunRecorder(config, settings, SimpleNamespace(probed=None))  # type: ignore[arg-type]
    recorder.run_findings.extend(found)
    recorder.write_reports()
    written = json.loads((tmp_path / "results.json").read_text(encoding="utf-8"))
    assert [f["check_id"] for f in written["run_findings"]] == ["NDR-ENV-002"] and written["cases"] == []
    assert recorder.verdict()[0] is not ExitCode.NON_CONFORMANT, "a run finding fails no case"


# an NDR the linter could not fully judge gives no verdict that passes over it

def test_an_ndr_not_fully_judged_is_said_and_kept_apart() -> None:
    """Nested past the linter's depth cap: the case cannot pass on what was not read (runner: inconclusive)."""
    head, body = FAILED.split(b"\r\n\r\n", 1)
    deep = head.replace(b'multipart/report; report-type=delivery-status; boundary="b1"',
                        b'multipart/mixed; boundary="n0"') + b"\r\n\r\n"
    deep += b"".join(f'--n{i}\r\nContent-Type: multipart/mixed; boundary="n{i + 1}"\r\n\r\n'.encode()
                     for i in range(40))
    deep += b'--n40\r\nContent-Type: multipart/report; report-type=delivery-status; boundary="b1"\r\n\r\n' + body
    log = FindingCollector(Profile.ANTI_BACKSCATTER)
    mailbox = Mailbox()
    mailbox.add(tx(deep))
    judge_ndrs(sent_case(), NDRExpectation(count=1, check="DSNX-010"), WatchedMailbox(mailbox, SILENT, "t"), log)
    assert len(log.unjudged) == 1 and log.unjudged[0].startswith("NDR 1 could not be fully judged: ")
    good = FindingCollector(Profile.ANTI_BACKSCATTER)
    mailbox = Mailbox()
    mailbox.add(tx(FAILED))
    judge_ndrs(sent_case(), NDRExpectation(count=1, check="DSNX-010"), WatchedMailbox(mailbox, SILENT, "t"), good)
    assert good.unjudged == []
