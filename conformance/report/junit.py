"""JUnit XML for CI gates: the one module that writes it, for runs and for ``lint``.

junit-xml builds the testsuite and testcase elements; what it gets wrong for
the Jenkins schema (junit-10.xsd, also what GitLab reads) is mended here and
nowhere else: its ``disabled`` attribute is dropped, times are rounded to
milliseconds, the ``<testsuites>`` root is assembled here, and every text and
attribute of the document passes through :func:`.escape.printable` just before
it is written: characters XML cannot carry (control characters from a target's
replies or a message, lone surrogates from invalid UTF-8) are shown as escapes
(``\\x1b``), so one odd byte from outside never makes the whole report
unreadable, and says where it stood.

A run report (:func:`write_report`) has one testcase per case, named by the
case id (stable across releases, so CI history lines up), one testsuite per
suite; a failure's message names the catalogue ids and RFC sections; warnings,
info findings and the SMTP transcript go into system-out; inconclusive,
skipped and could-not-test cases are <skipped> with their reason; collection
errors (a malformed case file) are <error>.  Its records are plain dicts (what
a worker attaches to its report), so under pytest-xdist the controller writes
the one file from all workers' reports.

A lint report (:class:`StreamedSuite`) may hold a testcase for every message
of a large mbox, so its testcases are spooled to a temporary file as they come
and the document, whose counts come first, is written at the end.
"""

from __future__ import annotations

import socket
import tempfile
import xml.etree.ElementTree as ET
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, Any

from junit_xml import TestCase, TestSuite

from .escape import printable

__all__ = ["StreamedSuite", "TestCase", "build_testcase", "junit_case", "write_report"]

_DECLARATION = '<?xml version="1.0" encoding="utf-8"?>\n'
#: stands where the streamed testcases go while the rest of the document is built
_CASES = "\ue000mta-conformance-testcases\ue000"
_INDENT = "  "


def junit_case(name: str, classname: str, *, elapsed: float = 0.0, stdout: str | None = None) -> TestCase:
    """A testcase that may take several failures (one per error finding); *elapsed* in seconds."""
    return TestCase(name=name, classname=classname, elapsed_sec=round(elapsed, 3), stdout=stdout or None,
                    allow_multiple_subelements=True)


def _system_out(record: dict[str, Any]) -> str:
    parts = []
    findings = record.get("findings", [])
    if findings:
        parts.append("Findings:")
        parts.extend(f"  {f['rendered']}" for f in findings)
    if record.get("token"):
        parts.append(f"Token: {record['token']}")
    if record.get("captured"):
        parts.append("Captured (NDRs and relayed copies as received, with their envelopes; in the report folder):")
        parts.extend(f"  {path}" for path in record["captured"])
    if record.get("transcript"):
        parts.append("Transcript:")
        parts.append(record["transcript"])
    return "\n".join(parts)


def build_testcase(record: dict[str, Any]) -> TestCase:
    """A run's case record as a testcase."""
    case = junit_case(record["case_id"], f"mta-conformance.{record.get('suite', 'suite')}",
                      elapsed=float(record.get("duration", 0.0)), stdout=_system_out(record))
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
    xml = _document("mta-conformance", [_suite_element(suite) for suite in suites])
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(xml, encoding="utf-8")
    tmp.replace(path)


def _suite_element(suite: TestSuite) -> ET.Element:
    """junit-xml's <testsuite> without what the schema refuses (``disabled``, unrounded ``time``)."""
    element: ET.Element = suite.build_xml_doc(encoding="utf-8")
    element.attrib.pop("disabled", None)
    element.set("time", f"{float(element.get('time', '0') or 0):.3f}")
    return element


def _root(name: str, suites: list[ET.Element]) -> ET.Element:
    """The <testsuites> root over *suites*, with their totals."""
    root = ET.Element("testsuites")
    totals = {"tests": 0, "failures": 0, "errors": 0}
    elapsed = 0.0
    for element in suites:
        elapsed += float(element.get("time", "0") or 0)
        for key in totals:
            totals[key] += int(element.get(key, "0"))
        root.append(element)
    root.set("name", name)
    for key, value in totals.items():
        root.set(key, str(value))
    root.set("time", f"{elapsed:.3f}")
    return root


def _document(name: str, suites: list[ET.Element]) -> str:
    """The whole document, indented."""
    root = _root(name, suites)
    ET.indent(root, space=_INDENT)
    return _DECLARATION + _xml_text(root) + "\n"


def _xml_text(element: ET.Element) -> str:
    """*element* as text, every text, tail and attribute in it made printable (so XML 1.0 can carry it)."""
    for node in element.iter():
        node.text = None if node.text is None else printable(node.text)
        node.tail = None if node.tail is None else printable(node.tail)
        for key, value in list(node.attrib.items()):
            node.attrib[key] = printable(value)
    return ET.tostring(element, encoding="unicode")


class StreamedSuite:
    """A document of one testsuite whose testcases are written as they come, in constant memory.

    ``add`` spools each testcase (as junit-xml builds it) to a temporary file;
    ``finish`` writes the document with the counts to *out*; ``close`` lets go
    of the temporary file, also when the output failed.
    """

    def __init__(self, out: IO[str], *, name: str, suite: str) -> None:
        self.out = out
        self.name = name
        self.suite = suite
        self.counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
        self.elapsed = 0.0
        self._spool = tempfile.TemporaryFile("w+", encoding="utf-8")  # noqa: SIM115 - closed by close()

    def add(self, case: TestCase) -> None:
        """Spool one testcase and count it."""
        self.counts["tests"] += 1
        self.counts["failures"] += case.is_failure()
        self.counts["errors"] += case.is_error()
        self.counts["skipped"] += case.is_skipped()
        self.elapsed += case.elapsed_sec or 0.0
        element = TestSuite(self.suite, [case]).build_xml_doc(encoding="utf-8").find("testcase")
        assert element is not None  # junit-xml writes one per case
        ET.indent(element, space=_INDENT, level=2)
        self._spool.write(_INDENT * 2 + _xml_text(element) + "\n")

    def finish(self) -> None:
        """Write the document: the root and suite with their counts around the spooled testcases."""
        suite = _suite_element(TestSuite(self.suite, []))
        for key, value in self.counts.items():
            suite.set(key, str(value))
        suite.set("time", f"{self.elapsed:.3f}")
        suite.text = _CASES
        head, tail = _document(self.name, [suite]).split(_CASES)
        self.out.write(head + "\n")
        self._spool.seek(0)
        for line in self._spool:
            self.out.write(line)
        self.out.write(_INDENT + tail.lstrip())

    def close(self) -> None:
        """Let go of the temporary file."""
        self._spool.close()
