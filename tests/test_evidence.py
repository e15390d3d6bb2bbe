"""Evidence in the reports: captured NDRs saved with the run, failures quoting the lines findings point at."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from conformance.findings import Finding, Location, Outcome, Severity
from conformance.harness.mailbox import Recipient, Transaction
from conformance.ndr.spooled import load_transaction
from conformance.report.escape import printable
from conformance.report.evidence import message_entries, safe_name, write_captured
from conformance.report.excerpts import excerpts
from conformance.report.junit import write_report
from conformance.report.records import case_record
from conformance.report.render import render_failure
from conformance.run.result import CaseResult
from conformance.serving import free_port
from conformance.suite.model import Case
from conformance.testee import Testee, TesteeConfig

HERE = Path(__file__).resolve().parent
XSD = HERE / "data" / "junit-10.xsd"


def ndr_bytes(lines: int = 250, bad_line: int = 188) -> bytes:
    """An NDR of *lines* lines whose line *bad_line* carries a terminal escape sequence."""
    head = [b"Return-Path: <>", b"From: MAILER-DAEMON@mta.test", b"Subject: Undelivered Mail", b"MIME-Version: 1.0",
            b"Content-Type: text/plain", b""]
    body = [f"body line {n}".encode() for n in range(len(head) + 1, lines + 1)]
    out = head + body
    out[bad_line - 1] = b"Action: failure \x1b[2J\x1b[31mred"
    return b"\r\n".join(out) + b"\r\n"


def a_case(case_id: str = "ndr.example") -> Case:
    return Case(id=case_id, title="an example", suite="after-acceptance", path=Path("x.yaml"), line=1,
                checks=("DSN-FMT-001",), refs=("RFC 3464 §2.3.3",), steps=())


def a_result(data: bytes, findings: list[Finding], case_id: str = "ndr.example") -> CaseResult:
    started = time.time()
    tx = Transaction("20261207T000000-abcdef0123", "sink", 2600, True, peer="('127.0.0.1', 5555)",
                     helo="mta.test", mail_from="#@[]", mail_arg="FROM:<#@[]>",
                     recipients=[Recipient("t1@sender.test", ["NOTIFY=NEVER"], "250 2.1.5 Ok (sink)")],
                     data=data, data_reply="250 2.0.0 Ok", started=started + 1.5, ended=started + 2.0)
    transcript = (f"   0.100 === NDR 1 captured by the harness as {tx.id}: MAIL FROM:<#@[]>  "
                  f"RCPT TO:<t1@sender.test>")
    return CaseResult(case_id, Outcome.FAILED, findings=findings, transcript=transcript, token="t1",
                      started=started, messages=[tx])


def test_case_ids_become_safe_folder_names() -> None:
    assert safe_name("ndr.next-hop-refuses-rcpt") == "ndr.next-hop-refuses-rcpt"
    for hostile in ("../../etc/passwd", "..", ".", "/abs", "a\x1b[2Jb", "a\\b", "", "x" * 400):
        name = safe_name(hostile)
        assert "/" not in name and "\\" not in name and name not in (".", "..") and not name.startswith(".")
        assert name.isprintable() and len(name) <= 120
    assert safe_name("a/b") != safe_name("a_b") and safe_name("a/b") != safe_name("a:b")


def test_printable_escapes_control_characters_and_keeps_lines() -> None:
    assert printable("a\x1b[2Jb\rc\u202ed\x85\n\tz") == "a\\x1b[2Jb\\x0dc\\u202ed\\x85\n\tz"


def test_a_failure_shows_the_line_a_finding_points_at_with_the_header() -> None:
    finding = Finding("DSN-FMT-001", Severity.ERROR, "Action is 'failure'", Location(ndr=1, line=188))
    result = a_result(ndr_bytes(), [finding])
    page = render_failure(a_case(), result)
    assert "\x1b" not in page and "\\x1b[2J" in page  # the target's escape sequence is shown, not obeyed
    assert "      1 | Return-Path: <>" in page  # the header, numbered
    assert ">  188 | Action: failure" in page and "<- DSN-FMT-001" in page
    assert "    185 | body line 185" in page and "    191 | body line 191" in page  # its context
    assert "body line 100" not in page and "body line 192" not in page
    assert "NDR 1 (250 lines; saved whole as captured/ndr.example/1.eml in the report folder)" in page


def test_excerpts_are_capped_and_say_what_was_left_out() -> None:
    findings = [Finding("DSN-FMT-001", Severity.ERROR, "x", Location(ndr=1, line=n)) for n in range(10, 990, 10)]
    result = a_result(ndr_bytes(lines=1000, bad_line=500), findings)
    shown = excerpts("ndr.example", result, findings)
    assert len(shown) <= 201
    assert "more line(s) left out: at most 200 are shown" in shown[-1]
    assert "captured/ndr.example/ in the report folder" in shown[-1]


def test_captured_messages_are_saved_and_named_in_the_reports(tmp_path: Path) -> None:
    import xmlschema

    data = ndr_bytes()
    finding = Finding("DSN-FMT-001", Severity.ERROR, "Action is 'failure'", Location(ndr=1, line=188))
    case_id = "../odd\x1bcase"
    record = case_record(a_case(case_id), a_result(data, [finding], case_id), "failed", 1.0, "", "")
    folder = safe_name(case_id)
    assert record.captured == [f"captured/{folder}/1.eml", f"captured/{folder}/1.json"]
    write_captured(tmp_path, record.messages)
    assert (tmp_path / "captured" / folder / "1.eml").read_bytes() == data  # byte for byte
    envelope = json.loads((tmp_path / "captured" / folder / "1.json").read_text())
    assert envelope["mail_arg"] == "FROM:<#@[]>" and envelope["mail_from"] == "#@[]"
    assert envelope["recipients"] == [{"address": "t1@sender.test", "params": ["NOTIFY=NEVER"],
                                       "reply": "250 2.1.5 Ok (sink)"}]
    assert envelope["role"] == "sink" and envelope["listener"] == "the harness port with DSN"
    assert envelope["arrived_after_seconds"] == pytest.approx(2.0, abs=0.01)
    assert envelope["judged_as"] == "NDR 1" and envelope["peer"] == "('127.0.0.1', 5555)"
    assert not list(tmp_path.glob("captured/*/../../odd*"))
    spooled = load_transaction(tmp_path / "captured" / folder / "1.json")  # lint --transaction reads it
    assert spooled.envelope.reverse_path == "#@[]" and spooled.message.read_bytes() == data
    assert "\x1b" not in record.failure_message and ">  188 | Action: failure" in record.failure_message
    junit = tmp_path / "junit.xml"
    write_report(junit, [record.report_dict()], {}, time.time(), 1.0)
    xmlschema.XMLSchema(str(XSD)).validate(str(junit))
    assert f"captured/{folder}/1.eml" in junit.read_text()
    assert "messages" not in record.report_dict()


def test_a_message_without_data_is_saved_as_its_envelope(tmp_path: Path) -> None:
    tx = Transaction("tx2", "next-hop", 2601, False, mail_from="s@x.test", mail_params=["RET=FULL"])
    entries = message_entries("relay.case", [tx], 0.0, "")
    write_captured(tmp_path, entries)
    assert entries[0]["eml"] is None and (tmp_path / "captured" / "relay.case" / "1.json").exists()
    assert json.loads((tmp_path / "captured" / "relay.case" / "1.json").read_text())["data_size"] is None


# -- a whole run: a testee whose NDRs say 'Action: failure', routed to the harness ----------------------------

@pytest.fixture
def bad_ndr_target() -> Iterator[tuple[Testee, int, int]]:
    dsn, plain = free_port(), free_port()
    config = TesteeConfig(faults=frozenset({"ndr-invalid-action"}), local_domain="local.test",
                          routes={"relay.test": ("127.0.0.1", dsn), "sender.test": ("127.0.0.1", dsn),
                                  "plain-relay.test": ("127.0.0.1", plain)})
    with Testee(config) as testee:
        yield testee, dsn, plain


def test_a_run_saves_the_ndr_and_its_failure_quotes_it(pytester: pytest.Pytester,
                                                       bad_ndr_target: tuple[Testee, int, int]) -> None:
    testee, dsn, plain = bad_ndr_target
    result = pytester.runpytest(
        "-p", "no:cacheprovider", f"--mta-host={testee.host}", f"--mta-port={testee.port}",
        "--mta-known-recipient=alice@local.test", "--mta-timeout=5", "--mta-sender-domain=sender.test",
        "--mta-relay-domain=relay.test", "--mta-plain-relay-domain=plain-relay.test",
        f"--mta-harness-listen=127.0.0.1:{dsn}", f"--mta-harness-plain-listen=127.0.0.1:{plain}",
        "--mta-quiet-period=1", "--mta-ndr-timeout=10", "-k", "ndr.next-hop-refuses-rcpt")
    out = result.stdout.str()
    result.assert_outcomes(failed=1)
    assert "Action: failure" in out and "saved whole as captured/ndr.next-hop-refuses-rcpt/1.eml" in out
    assert "captured from the target" in out  # the summary names the folder
    reports = pytester.path / "reports"
    [case] = json.loads((reports / "results.json").read_text())["cases"]
    ndr = [p for p in case["captured"] if p.endswith(".json")
           and json.loads((reports / p).read_text())["judged_as"] == "NDR 1"]
    assert ndr, case["captured"]
    envelope = json.loads((reports / ndr[0]).read_text())
    eml = reports / ndr[0].replace(".json", ".eml")
    assert b"Action: failure" in eml.read_bytes()
    assert envelope["mail_from"] == "" and envelope["role"] == "sink" and envelope["port"] == dsn
    assert 0 < envelope["arrived_after_seconds"] < 30
    assert ndr[0].replace(".json", ".eml") in (reports / "junit.xml").read_text()


def test_a_rerun_replaces_the_captured_files_and_leaves_others_alone(tmp_path: Path) -> None:
    from conformance.report.evidence import clear

    old = tmp_path / "captured" / "old.case"
    old.mkdir(parents=True)
    (old / "1.eml").write_bytes(b"x")
    (old / "1.json").write_text("{}")
    (old / "notes.txt").write_text("mine")
    (tmp_path / "captured" / "gone.case").mkdir()
    (tmp_path / "captured" / "gone.case" / "2.eml").write_bytes(b"y")
    clear(tmp_path)
    assert sorted(p.name for p in old.iterdir()) == ["notes.txt"]
    assert not (tmp_path / "captured" / "gone.case").exists()
