"""Reports are always valid: no byte from outside breaks junit.xml or results.json, or reaches the terminal raw.

Every C0 character, DEL, every C1 code point, the direction overrides and
lone surrogates (invalid UTF-8 read with surrogateescape) are fed through each
writer: the run's JUnit and results.json (written directly from records, and
from a whole run against a small SMTP server whose greeting, EHLO lines and a
251 reply carry them), lint's JUnit, JSON and text (a bounce carrying them in
a header, a DSN field and the body, in files whose names carry them), and the
terminal (the run's summary, the live wait line, pytest's output).  Each
result is parsed as its format says, and no raw control character is left in
it but newline and tab.
"""

from __future__ import annotations

import io
import json
import os
import socket
import subprocess
import sys
import threading
import unicodedata
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from test_ndr_lint import GOOD

from conformance.exitcodes import ExitCode
from conformance.findings import Profile
from conformance.progress import LOG_AFTER, SHOW_AFTER
from conformance.report.escape import one_line, printable, printable_tree
from conformance.report.junit import write_report
from conformance.report.recorder import RunRecorder
from conformance.report.records import CaseRecord
from conformance.report.terminal import terminal_progress_for, write_summary
from conformance.target import StartTLS, make_settings

C0 = "".join(map(chr, range(0x20)))
C1 = "".join(map(chr, range(0x80, 0xA0)))
BIDI = "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
SURROGATES = "\ud800\udc80\udcff\udfff"
#: every character no report may carry raw
HOSTILE = C0 + "\x7f" + C1 + BIDI + SURROGATES + "\ufffe\uffff"
#: the same as bytes a target or a bounce sends: C0 but CR and LF, DEL, C1 raw and as UTF-8,
#: U+202E as UTF-8, bytes that are no UTF-8 at all
HOSTILE_BYTES = (bytes(c for c in range(0x20) if c not in (0x0A, 0x0D)) + b"\x7f" + bytes(range(0x80, 0xA0))
                 + "".join(map(chr, range(0x80, 0xA0))).encode() + "\u202e\u2066".encode() + b"\xff\xfe\xc3")
XSD = Path(__file__).resolve().parent / "data" / "junit-10.xsd"


def raw_controls(text: str, allowed: str = "\n\t") -> list[str]:
    """The characters in *text* no report may show raw (escaped names, so a failure prints safely)."""
    bad = {c for c in text if c not in allowed and (unicodedata.category(c) in ("Cc", "Cs") or c in BIDI
                                                       or c in "\ufffe\uffff")}
    return sorted(f"U+{ord(c):04X}" for c in bad)


def assert_xml_clean(tree: ET.ElementTree) -> None:
    """Every text and attribute of a parsed JUnit document is free of raw control characters."""
    root = tree.getroot()
    assert root is not None
    for node in root.iter():
        for text in [node.text or "", node.tail or "", *node.attrib.values()]:
            assert not raw_controls(text), (node.tag, raw_controls(text))


def assert_json_clean(value: Any) -> None:
    """Every string in parsed JSON, keys too, is free of raw control characters."""
    if isinstance(value, str):
        assert not raw_controls(value), raw_controls(value)
    elif isinstance(value, dict):
        for key, item in value.items():
            assert_json_clean(key)
            assert_json_clean(item)
    elif isinstance(value, list):
        for item in value:
            assert_json_clean(item)


def test_printable_escapes_every_hostile_character_and_nothing_else() -> None:
    shown = printable(HOSTILE + "ok é 中 \n\t")
    assert not raw_controls(shown)
    assert shown.endswith("ok é 中 \n\t")
    assert shown.startswith("\\x00\\x01") and "\\x1b" in shown and "\\x7f\\x80" in shown and "\\x9f" in shown
    assert "\\u202e" in shown and "\\udc80" in shown and "\\ufffe" in shown
    assert printable(shown) == shown  # twice changes nothing more
    shown.encode("utf-8")  # no lone surrogate is left to fail the encoding
    assert one_line("a\nb\tc") == "a\\x0ab\tc"
    assert printable_tree({"k\x1b": ["v\x00", 3, None, ("t\u202e",)]}) == {"k\\x1b": ["v\\x00", 3, None, ["t\\u202e"]]}


def hostile_record(number: int = 1) -> dict[str, Any]:
    """A run's case record whose every text field carries every hostile character."""
    finding = {"check_id": "SMTP-REJ-001", "severity": "warning", "message": f"reply {HOSTILE}",
               "where": f"step 2 {HOSTILE}", "location": {"step": 2, "detail": HOSTILE}, "refs": ["RFC 5321 §3.3"],
               "rendered": f"SMTP-REJ-001 warning: reply {HOSTILE}"}
    return {"case_id": f"rcpt.x{number}{HOSTILE}", "suite": f"rcpt{HOSTILE}", "outcome": "failed",
            "duration": 0.5, "title": f"title {HOSTILE}", "checks": ["SMTP-REJ-001"], "refs": [],
            "verdict": "failed", "findings": [finding], "transcript": f"<- 251 {HOSTILE}\n-> QUIT",
            "token": "t1", "reason": f"because {HOSTILE}", "failure_message": f"first {HOSTILE}\nsecond {HOSTILE}",
            "captured": [], "messages": []}


def test_the_run_junit_writer_escapes_every_field(tmp_path: Path) -> None:
    records = [hostile_record(1), {**hostile_record(2), "outcome": "inconclusive"},
               {**hostile_record(3), "outcome": "error"}]
    path = tmp_path / "junit.xml"
    write_report(path, records, {"greeting": f"220 {HOSTILE}", f"key{HOSTILE}": "v"}, 0.0, 1.0)
    tree = ET.parse(path)  # well-formed
    assert_xml_clean(tree)
    text = path.read_text(encoding="utf-8")
    import xmlschema

    # (the schema's testcase has no <error>, so the error record is left out of this one)
    write_report(tmp_path / "schema.xml", records[:2], {"greeting": f"220 {HOSTILE}"}, 0.0, 1.0)
    xmlschema.XMLSchema(str(XSD)).validate(str(tmp_path / "schema.xml"))
    assert "\\x1b" in text and "\\u202e" in text and "\\udc80" in text and "reply \\x00\\x01" in text


def settings_for(tmp_path: Path, port: int = 25) -> Any:
    return make_settings(host="127.0.0.1", port=port, helo="client.test", sender="probe@client.test",
                         local_domain="local.test", known_recipient=None, starttls=StartTLS.OFF, timeout=5,
                         profile=Profile.ANTI_BACKSCATTER, strict=False, report_dir=tmp_path / "reports")


def test_results_json_and_junit_from_the_recorder_are_valid(tmp_path: Path) -> None:
    probe = SimpleNamespace(greeting=f"mx.test {HOSTILE}", capabilities={f"X-{HOSTILE}", "PIPELINING"},
                            error=f"refused {HOSTILE}")
    recorder = RunRecorder(SimpleNamespace(), settings_for(tmp_path), SimpleNamespace(probed=probe))  # type: ignore[arg-type]
    recorder.records = [CaseRecord.from_dict(hostile_record())]
    recorder.write_reports()
    reports = tmp_path / "reports"
    results = json.loads((reports / "results.json").read_text(encoding="utf-8"))
    assert_json_clean(results)
    assert "\\x1b" in results["properties"]["greeting"] and "\\u202e" in results["cases"][0]["title"]
    assert_xml_clean(ET.parse(reports / "junit.xml"))


class Reporter:
    """What write_summary and the live line use of pytest's terminal reporter, writing into one string."""

    def __init__(self, tty: bool) -> None:
        self.out = io.StringIO()
        self._tw = SimpleNamespace(fullwidth=200, width_of_current_line=0, hasmarkup=tty,
                                   _file=SimpleNamespace(write=self.out.write, flush=lambda: None,
                                                         isatty=lambda: tty))
        self.config = SimpleNamespace(pluginmanager=SimpleNamespace(getplugin=lambda name: None))

    def write_sep(self, sep: str, title: str) -> None:
        self.out.write(f"--- {title}\n")

    def write_line(self, text: str, **markup: bool) -> None:
        self.out.write(text + "\n")

    def ensure_newline(self) -> None:
        pass


def test_the_terminal_summary_shows_escapes(tmp_path: Path) -> None:
    reporter = Reporter(tty=False)
    warned = CaseRecord.from_dict({**hostile_record(), "outcome": "passed"})
    undecided = CaseRecord.from_dict({**hostile_record(2), "outcome": "inconclusive"})
    write_summary(reporter, settings_for(tmp_path), [warned, undecided],
                  (ExitCode.COULD_NOT_TEST, f"COULD NOT TEST: {HOSTILE}"))
    text = reporter.out.getvalue()
    assert not raw_controls(text) and "INCONCLUSIVE rcpt.x2\\x00" in text and "\\x1b" in text


@pytest.mark.parametrize("tty", [True, False])
def test_the_wait_line_shows_escapes(tty: bool) -> None:
    reporter = Reporter(tty=tty)
    progress = terminal_progress_for(reporter)
    try:
        with progress.waiting(f"an NDR for case {HOSTILE}", 60):
            progress.tick(10**9)  # far past both SHOW_AFTER and LOG_AFTER
    finally:
        progress.close()
    text = reporter.out.getvalue()
    assert SHOW_AFTER < LOG_AFTER and "an NDR for case \\x00" in text
    own = ("\x1b7", "\x1b[K", "\x1b8")  # the live line's own cursor save, erase, restore
    for sequence in own:
        text = text.replace(sequence, "")
    assert not raw_controls(text)


def hostile_bounce() -> bytes:
    """A DSN carrying the hostile bytes in a header field, a DSN field and the body."""
    raw = GOOD.replace(b"Subject: Undelivered Mail Returned to Sender",
                      b"Subject: Undelivered \x1b[2J" + HOSTILE_BYTES)
    raw = raw.replace(b"Diagnostic-Code: smtp; 550 5.1.1 <nobody@example.com>: user unknown",
                      b"Diagnostic-Code: smtp; 550 5.1.1 " + HOSTILE_BYTES)
    raw = raw.replace(b"Action: failed", b"Action: fail\x1b[2J" + HOSTILE_BYTES)
    return raw.replace(b"could not be delivered:", b"could not be delivered \x1b[2J" + HOSTILE_BYTES)


@pytest.fixture
def hostile_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "bounces"
    folder.mkdir()
    for name in ("plain.eml", "esc\x1b[2J\u202e\x07.eml", os.fsdecode(b"invalid\xff\xfe.eml")):
        (folder / name).write_bytes(hostile_bounce())
    return folder


def lint(*args: str) -> tuple[int, str, str]:
    """``mta-conformance lint`` as a CI job runs it; its output must be UTF-8 (a surrogate would not encode)."""
    env = {**os.environ, "PYTHONIOENCODING": "utf-8:strict", "LC_ALL": "C.UTF-8"}
    proc = subprocess.run([sys.executable, "-m", "conformance.cli", "lint", *args], capture_output=True,
                          timeout=120, env=env)
    return proc.returncode, proc.stdout.decode("utf-8"), proc.stderr.decode("utf-8")


def test_lint_error_lines_on_stderr_are_escaped(tmp_path: Path) -> None:
    """A path that names no file is quoted in the error line: escaped, never sent raw to the terminal."""
    status, _, err = lint(str(tmp_path / "no\x1b[2Jsuch\u202e.eml"))
    assert status != 0 and not raw_controls(err)
    assert "no\\x1b[2Jsuch\\u202e.eml" in err


@pytest.mark.parametrize("fmt", ["text", "json", "junit"])
def test_lint_output_is_valid_and_escaped(hostile_folder: Path, fmt: str) -> None:
    status, out, err = lint("--format", fmt, str(hostile_folder))
    assert status == 1, err
    assert "Traceback" not in err and not raw_controls(err)
    assert not raw_controls(out)
    if fmt == "json":
        items = json.loads(out)
        assert len(items) == 3
        assert_json_clean(items)
        assert any("\\x1b" in item["source"] for item in items)
        assert any("\\udcff" in item["source"] for item in items)
    elif fmt == "junit":
        tree = ET.ElementTree(ET.fromstring(out))
        assert_xml_clean(tree)
        root = tree.getroot()
        assert root is not None and root.get("tests") == "3"
        import xmlschema

        xmlschema.XMLSchema(str(XSD)).validate(out)
    else:
        assert "esc\\x1b[2J\\u202e\\x07.eml" in out and "invalid\\udcff\\udcfe.eml" in out
        assert "DSN-FMT-016" in out  # the Action is still judged, its value shown escaped


#: a case whose RCPT must be refused; the server answers 251 with a text full of hostile bytes
CASE = """\
suite: escaping
cases:
  - id: escaping.unknown-user
    title: an unknown user is refused
    checks: [SMTP-REJ-001]
    dialogue:
      - expect: 220
      - send: EHLO client.test
        expect: 250
      - send: MAIL FROM:<probe@client.test>
        expect: 2xx
      - send: RCPT TO:<nobody@local.test>
        expect:
          - {code: 5xx, check: SMTP-REJ-001}
      - send: QUIT
        expect: 221
"""


@pytest.fixture(params=[b"251", b"550"], ids=["accepts", "refuses"])
def hostile_server(request: pytest.FixtureRequest) -> Iterator[int]:
    """An SMTP server whose greeting, EHLO lines and RCPT reply carry the hostile bytes.

    With 251 the case fails on the accepted unknown user; with 550 the probe's
    control recipient is refused too, so the run could not test, and says why.
    """
    code: bytes = request.param
    answers = {
        b"EHLO": b"250-mx.test \x1b[2J" + HOSTILE_BYTES + b"\r\n250-X-\x1b[31m" + HOSTILE_BYTES
                 + b"\r\n250 PIPELINING\r\n",
        b"HELO": b"250 mx.test\r\n", b"MAIL": b"250 Ok\r\n", b"RSET": b"250 Ok\r\n", b"NOOP": b"250 Ok\r\n",
        b"RCPT": code + b" \x1b[2J forwarded " + HOSTILE_BYTES + b"\r\n", b"QUIT": b"221 Bye\r\n",
    }
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.2)
    stop = threading.Event()

    def session(conn: socket.socket) -> None:
        with conn, conn.makefile("rb") as lines:
            conn.sendall(b"220 mx.test \x1b]0;owned\x07 ESMTP " + HOSTILE_BYTES + b"\r\n")
            for line in lines:
                verb = line.split(b" ", 1)[0].strip().upper()
                conn.sendall(answers.get(verb, b"502 5.5.1 unknown\r\n"))
                if verb == b"QUIT":
                    break

    def serve() -> None:
        with listener:
            while not stop.is_set():
                try:
                    conn, _ = listener.accept()
                except OSError:
                    continue
                conn.settimeout(10)
                threading.Thread(target=session, args=(conn,), daemon=True).start()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield int(listener.getsockname()[1])
    stop.set()
    thread.join(timeout=5)


def test_a_run_against_a_hostile_server_writes_valid_reports(pytester: pytest.Pytester, hostile_server: int) -> None:
    pytester.path.joinpath("escaping.mta.yaml").write_text(CASE)
    result = pytester.runpytest(
        "-p", "no:cacheprovider", "--mta-host=127.0.0.1", f"--mta-port={hostile_server}",
        "--mta-local-domain=local.test", "--mta-timeout=5", "-rA", "escaping.mta.yaml")
    out = "\n".join(result.outlines + result.errlines)
    assert not raw_controls(out), raw_controls(out)
    if "COULD NOT TEST" in out:  # the 550 refused the probe's control recipient
        assert "550 \\x1b[2J forwarded" in out and result.ret == ExitCode.COULD_NOT_TEST
        results = json.loads((pytester.path / "reports" / "results.json").read_text(encoding="utf-8"))
        assert_json_clean(results)
        assert "\\x1b" in results["properties"]["could_not_test"]
        assert_xml_clean(ET.parse(pytester.path / "reports" / "junit.xml"))
        return
    result.assert_outcomes(failed=1)
    assert "251 \\x1b[2J forwarded" in out  # the reply is quoted, escaped
    reports = pytester.path / "reports"
    tree = ET.parse(reports / "junit.xml")
    assert_xml_clean(tree)
    results = json.loads((reports / "results.json").read_text(encoding="utf-8"))
    assert_json_clean(results)
    assert "\\x1b" in results["properties"]["greeting"]
    assert "\\x1b" in results["properties"]["ehlo_capabilities"]
    [case] = results["cases"]
    assert case["outcome"] == "failed" and "\\x1b[2J" in case["transcript"]
    root = tree.getroot()
    assert root is not None
    failure = root.find(".//failure")
    assert failure is not None and "SMTP-REJ-001" in (failure.text or "")  # the 251 accepted the unknown user
