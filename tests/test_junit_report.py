"""report/junit.py: the one JUnit writer, for a run's records and for lint's streamed testcases."""

from __future__ import annotations

import io
from pathlib import Path

import xmlschema

from conformance.report.junit import StreamedSuite, junit_case, write_report

XSD = Path(__file__).resolve().parent / "data" / "junit-10.xsd"


def test_a_control_character_from_outside_does_not_break_the_report(tmp_path: Path) -> None:
    record = {"case_id": "rcpt.x", "suite": "rcpt", "duration": 1.23456, "outcome": "failed",
              "failure_message": "SMTP-REJ-001 error: odd\x01reply", "transcript": "<- 250 Ok\x00\x1b[0m"}
    path = tmp_path / "junit.xml"
    write_report(path, [record], {"target": "mx:25"}, 0.0, 1.0)
    xmlschema.XMLSchema(str(XSD)).validate(str(path))
    text = path.read_text()
    # shown as escapes, not dropped: the reader sees which byte stood there
    assert "odd\\x01reply" in text and "250 Ok\\x00\\x1b[0m" in text and 'time="1.235000"' in text


def test_streamed_suite_counts_and_validates() -> None:
    out = io.StringIO()
    suite = StreamedSuite(out, name="lint", suite="lint.suite")
    for number in range(3):
        case = junit_case(f"m{number}\x02.eml", "lint.dsn", stdout="verdict: ok")
        if number:
            case.add_failure_info(message="A-001: x", output="A-001 error: x", failure_type="A-001")
            case.add_failure_info(message="B-002: y", output="B-002 error: y", failure_type="B-002")
        suite.add(case)
    suite.finish()
    suite.close()
    text = out.getvalue()
    xmlschema.XMLSchema(str(XSD)).validate(text)
    assert '<testsuites name="lint" tests="3" failures="2" errors="0" time="0.000">' in text
    assert text.count("<failure ") == 4 and "m1\\x02.eml" in text


def test_runs_and_lint_share_one_layout(tmp_path: Path) -> None:
    path = tmp_path / "run.xml"
    write_report(path, [{"case_id": "c", "suite": "s", "outcome": "passed"}], {}, 0.0, 0.0)
    out = io.StringIO()
    suite = StreamedSuite(out, name="mta-conformance", suite="mta-conformance.s")
    suite.add(junit_case("c", "mta-conformance.s"))
    suite.finish()
    suite.close()
    run = path.read_text().splitlines()
    lint = out.getvalue().splitlines()
    assert run[:2] == lint[:2] and run[-3:] == lint[-3:]  # declaration, root, the testcase and closing tags
