"""JUnit XML for CI gates and certification runs, written with junit-xml.

One testcase per case, named by the case id (stable across releases, so CI
history lines up); the classname is the suite.  A failure's message names the
catalogue ids and RFC sections; warnings, info findings and the SMTP
transcript go into system-out.  Inconclusive and skipped cases are <skipped>
with their reason.  Collection errors (a malformed case file) are <error>.

Records are plain dicts (what a worker attaches to its report), so under
pytest-xdist the controller can write the one file from all workers' reports.
"""

from __future__ import annotations

import socket
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import xml.etree.ElementTree as ET

from junit_xml import TestCase, TestSuite


def _system_out(record: dict[str, Any]) -> str:
    parts = []
    findings = record.get("findings", [])
    if findings:
        parts.append("Findings:")
        parts.extend(f"  {f['rendered']}" for f in findings)
    if record.get("token"):
        parts.append(f"Token: {record['token']}")
    if record.get("transcript"):
        parts.append("Transcript:")
        parts.append(record["transcript"])
    return "\n".join(parts)


def build_testcase(record: dict[str, Any]) -> TestCase:
    case = TestCase(
        name=record["case_id"],
        classname=f"mta-conformance.{record.get('suite', 'suite')}",
        elapsed_sec=round(float(record.get("duration", 0.0)), 3),
        stdout=_system_out(record) or None,
    )
    outcome = record["outcome"]
    if outcome == "failed":
        message = record.get("failure_message") or "failed"
        case.add_failure_info(message=message.splitlines()[0][:500], output=message)
    elif outcome in ("skipped", "inconclusive", "could-not-test"):
        case.add_skipped_info(message=record.get("reason", outcome)[:500])
    elif outcome == "error":
        message = record.get("failure_message") or "error"
        case.add_error_info(message=message.splitlines()[0][:500], output=message)
    return case


def write_report(
    path: Path,
    records: list[dict[str, Any]],
    properties: dict[str, str],
    started: float,
    duration: float,
) -> None:
    """Write all records as one JUnit file, grouped into one testsuite per suite."""
    by_suite: dict[str, list[TestCase]] = {}
    for record in records:
        by_suite.setdefault(record.get("suite", "suite"), []).append(build_testcase(record))
    timestamp = datetime.fromtimestamp(started, tz=timezone.utc).isoformat(timespec="seconds")
    suites = [
        TestSuite(
            name=f"mta-conformance.{name}",
            test_cases=cases,
            hostname=socket.gethostname(),
            timestamp=timestamp,
            properties=properties,
        )
        for name, cases in sorted(by_suite.items())
    ]
    if not suites:
        suites = [TestSuite(name="mta-conformance", test_cases=[], properties=properties, timestamp=timestamp)]
    xml = _document(suites)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(xml, encoding="utf-8")
    tmp.replace(path)


def _document(suites: list[TestSuite]) -> str:
    """The <testsuites> document.

    junit-xml builds each <testsuite>; the root is assembled here because
    junit-xml adds a ``disabled`` attribute and unrounded times that the
    Jenkins schema (junit-10.xsd, also what GitLab reads) does not allow.
    """
    root = ET.Element("testsuites")
    totals = {"tests": 0, "failures": 0, "errors": 0}
    elapsed = 0.0
    for suite in suites:
        element = suite.build_xml_doc(encoding="utf-8")
        element.attrib.pop("disabled", None)
        seconds = float(element.get("time", "0") or 0)
        element.set("time", f"{seconds:.3f}")
        elapsed += seconds
        for key in totals:
            totals[key] += int(element.get(key, "0"))
        root.append(element)
    root.set("name", "mta-conformance")
    for key, value in totals.items():
        root.set(key, str(value))
    root.set("time", f"{elapsed:.3f}")
    ET.indent(root)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
