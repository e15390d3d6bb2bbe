"""The lint command, the envelope context, raw-capture checks, mbox, large inputs."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from test_ndr_lint import GOOD

from conformance.cli import main
from conformance.findings import Severity
from conformance.ndr.envelope import EnvelopeError, from_dict
from conformance.ndr.lint import lint_bytes
from conformance.ndr.sources import read_mbox

ENVELOPE = {"reverse_path": "sender@example.org", "envid": "Env+2BId", "ret": "HDRS",
            "recipients": [{"address": "nobody@example.com", "orcpt": "rfc822;nobody@example.com",
                            "notify": "FAILURE"}]}
WITH_CONTEXT = GOOD.replace(b"Reporting-MTA: dns; mx.example.net\r\n",
                            b"Original-Envelope-Id: Env+Id\r\nReporting-MTA: dns; mx.example.net\r\n").replace(
    b"Final-Recipient:", b"Original-Recipient: rfc822;nobody@example.com\r\nFinal-Recipient:")


def ctx_ids(raw: bytes, envelope: dict | None = None) -> set[str]:  # type: ignore[type-arg]
    result = lint_bytes(raw, envelope=from_dict(envelope or ENVELOPE))
    assert not result.internal_errors
    return {f.check_id for f in result.findings if f.severity > Severity.INFO}


def test_context_checks_pass_on_a_matching_dsn() -> None:
    assert ctx_ids(WITH_CONTEXT) == set()


@pytest.mark.parametrize(("old", "new", "check"), [
    (b"To: sender@example.org", b"To: someone-else@example.org", "NDR-HDR-004"),
    (b"Original-Envelope-Id: Env+Id", b"Original-Envelope-Id: Env+2BId", "DSN-FMT-007"),
    (b"Original-Envelope-Id: Env+Id\r\n", b"", "DSN-FMT-007"),
    (b"Original-Recipient: rfc822;nobody@example.com\r\n", b"", "DSN-FMT-015"),
    (b"Final-Recipient: rfc822; nobody@example.com", b"Final-Recipient: rfc822; NOBODY@example.com", "DSN-SEM-014"),
    (b"Final-Recipient: rfc822; nobody@example.com", b"Final-Recipient: rfc822; other@example.com", "DSN-SEM-030"),
    (b"Action: failed\r\nStatus: 5.1.1", b"Action: relayed\r\nStatus: 2.0.0", "DSN-SEM-019"),
])
def test_each_context_check_fires(old: bytes, new: bytes, check: str) -> None:
    assert old in WITH_CONTEXT
    assert check in ctx_ids(WITH_CONTEXT.replace(old, new))


def test_returned_content_against_ret() -> None:
    full = WITH_CONTEXT.replace(b"Content-Type: text/rfc822-headers", b"Content-Type: message/rfc822").replace(
        b"Message-ID: <orig.1@example.org>\r\n", b"Message-ID: <orig.1@example.org>\r\n\r\nthe body\r\n")
    assert "RET-002" in ctx_ids(full)  # RET=HDRS, body returned
    assert "RET-002" not in ctx_ids(WITH_CONTEXT)
    assert "RET-001" in ctx_ids(WITH_CONTEXT, {**ENVELOPE, "ret": "FULL"})
    assert "RET-001" not in ctx_ids(full, {**ENVELOPE, "ret": "FULL"})
    delay = full.replace(b"Action: failed\r\nStatus: 5.1.1", b"Action: delayed\r\nStatus: 4.4.1")
    assert "RET-003" in ctx_ids(delay, {**ENVELOPE, "ret": "FULL"})


def test_original_recipient_without_orcpt_is_a_warning() -> None:
    env = {**ENVELOPE, "recipients": [{"address": "nobody@example.com"}]}
    result = lint_bytes(WITH_CONTEXT, envelope=from_dict(env))
    assert [(f.check_id, f.severity) for f in result.findings if f.check_id == "DSN-FMT-015"] == \
        [("DSN-FMT-015", Severity.WARNING)]


def test_wire_bytes_must_use_crlf() -> None:
    assert "NDR-HDR-014" not in {f.check_id for f in lint_bytes(GOOD, wire=True).findings}
    bare = GOOD.replace(b"\r\n", b"\n", 3)
    assert "NDR-HDR-014" in {f.check_id for f in lint_bytes(bare, wire=True).findings}
    assert "NDR-HDR-014" not in {f.check_id for f in lint_bytes(bare).findings}  # a file's endings are not the wire's


def test_envelope_file_errors() -> None:
    with pytest.raises(EnvelopeError, match="reverse_path"):
        from_dict({"recipients": []})
    with pytest.raises(EnvelopeError, match="unknown envelope key"):
        from_dict({"reverse_path": "", "color": "blue"})


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def test_exit_codes_and_text_format(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = write(tmp_path, "good.eml", GOOD)
    bad = write(tmp_path, "bad.eml", GOOD.replace(b"Action: failed", b"Action: failure"))
    assert main(["lint", str(good)]) == 0
    assert main(["lint", str(bad)]) == 1
    out = capsys.readouterr().out
    assert f"{bad}:24  DSN-FMT-016  error  Action 'failure' is not one of" in out
    assert "[RFC 3464 §2.3.3]" in out
    assert out.strip().splitlines()[-1] == "1 message(s), 1 with errors: 1 error(s), 0 warning(s), 0 info"
    assert main(["lint", str(tmp_path / "missing.eml")]) == 4
    env = write(tmp_path, "env.json", b"{not json")
    assert main(["lint", "--envelope", str(env), str(good)]) == 4
    assert "env.json:1: not JSON" in capsys.readouterr().err


def test_json_junit_min_severity_and_profile(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bounce = write(tmp_path, "qmail.eml", b"From: MAILER-DAEMON@mx.example\r\nSubject: failure notice\r\n\r\n"
                   b"Hi. This is the qmail-send program at mx.example.\r\n")
    assert main(["lint", "--format", "json", str(bounce)]) == 1
    data = json.loads(capsys.readouterr().out)
    assert data[0]["kind"] == "non-dsn-bounce" and data[0]["findings"][0]["check_id"] == "MPR-001"
    assert main(["lint", "--profile", "strict-rfc", str(bounce)]) == 0  # MPR-001 is a warning there
    capsys.readouterr()
    assert main(["lint", "--min-severity", "error", "--format", "junit", str(tmp_path)]) == 1
    import xmlschema

    out = capsys.readouterr().out
    xsd = Path(__file__).resolve().parent / "data" / "junit-10.xsd"
    xmlschema.XMLSchema(str(xsd)).validate(out)
    assert 'tests="1"' in out and "MPR-001" in out


def test_mbox_and_stdin(tmp_path: Path) -> None:
    one = GOOD.replace(b"\r\n", b"\n")
    two = GOOD.replace(b"Action: failed", b"Action: failure").replace(b"\r\n", b"\n")
    box = write(tmp_path, "box.mbox", b"From a@b Mon Nov 23 06:00:00 2026\n" + one + b"\nFrom c@d Mon Nov 23 06:00:01 2026\n"
                + two + b"\n")
    assert len(list(read_mbox(box))) == 2
    proc = subprocess.run([sys.executable, "-m", "conformance.cli", "lint", "--mbox", str(box)],
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 1 and f"{box}#2:" in proc.stdout and "2 message(s), 1 with errors" in proc.stdout
    single = b"From a@b Mon Nov 23 06:00:00 2026\n" + one  # one message with its "From " line, no --mbox
    proc = subprocess.run([sys.executable, "-m", "conformance.cli", "lint", "-"], input=single, capture_output=True,
                          check=False)
    assert proc.returncode == 0, proc.stdout


def _lint_within(raw: bytes, seconds: float) -> bool:
    done = threading.Event()

    def run() -> None:
        lint_bytes(raw)
        done.set()

    threading.Thread(target=run, daemon=True).start()
    return done.wait(seconds)


def test_huge_inputs_finish() -> None:
    """A bound against quadratic behaviour, not a performance measurement (see bench/)."""
    fifty_mb = GOOD.replace(b"Subject: hello\r\n", b"Subject: hello\r\nX: y\r\n\r\n" + (b"x" * 76 + b"\r\n") * 680_000)
    assert len(fifty_mb) > 50_000_000
    assert _lint_within(fifty_mb, 120)
    headers = GOOD.replace(b"Auto-Submitted", b"X-H: v\r\n" * 100_000 + b"Auto-Submitted")
    assert _lint_within(headers, 60)


def test_streaming_memory_does_not_grow_with_the_number_of_messages(tmp_path: Path) -> None:
    """Peak memory for 2,400 messages in an mbox stays near the peak for 300."""
    import io
    import tracemalloc

    from conformance.ndr.output import JSONWriter
    from conformance.ndr.sources import iter_messages

    def peak(count: int) -> int:
        box = tmp_path / f"{count}.mbox"
        with box.open("wb") as handle:
            for _i in range(count):
                handle.write(b"From x@y Mon Nov 23 06:00:00 2026\n" + GOOD.replace(b"\r\n", b"\n") + b"\n")
        tracemalloc.start()
        writer = JSONWriter(io.StringIO(), Severity.INFO)
        writer.out = type("Null", (), {"write": lambda self, s: None})()  # discard output, keep the writer's work
        for source, data in iter_messages([box], mbox=True):
            writer.add(lint_bytes(data, source=source))
        _, top = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        assert writer.messages == count
        return top

    small, large = peak(300), peak(2400)
    assert large < small * 1.5 + 200_000, (small, large)
