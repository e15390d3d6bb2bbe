"""Lint output: text for people, JSON and JUnit for machines, all streamed.

Each writer takes one result at a time and keeps no message data, so memory
does not grow with the number of messages; the JUnit writer spools testcases
to a temporary file because the suite's counts must come first.
"""

from __future__ import annotations

import json
import sys
import tempfile
import xml.etree.ElementTree as ET
from abc import ABC, abstractmethod
from typing import IO

from ..findings import Severity
from .lint import LintResult


class Writer(ABC):
    def __init__(self, out: IO[str], floor: Severity) -> None:
        self.out = out
        self.floor = floor
        self.counts = {s: 0 for s in Severity}
        self.messages = 0
        self.with_errors = 0

    def shown(self, result: LintResult) -> list:  # type: ignore[type-arg]
        return [f for f in result.findings if f.severity >= self.floor]

    def add(self, result: LintResult) -> None:
        self.messages += 1
        self.with_errors += result.has_errors
        for f in self.shown(result):
            self.counts[f.severity] += 1
        for error in result.internal_errors:
            print(f"{result.source}: internal error of the linter: {error}", file=sys.stderr)
        self.write(result)

    @abstractmethod
    def write(self, result: LintResult) -> None:
        """Write one message's verdict in this format."""

    def close(self) -> None:
        pass

    def summary(self) -> str:
        return (f"{self.messages} message(s), {self.with_errors} with errors: {self.counts[Severity.ERROR]} error(s), "
                f"{self.counts[Severity.WARNING]} warning(s), {self.counts[Severity.INFO]} info")


class TextWriter(Writer):
    """``file:line  ID  severity  message  [RFC section]``, a verdict line per message."""

    def write(self, result: LintResult) -> None:
        print(f"{result.source}: {result.verdict}", file=self.out)
        for f in self.shown(result):
            line = f.where.removeprefix("line ") if f.where.startswith("line ") else "1"
            ref = f"  [{f.refs[0]}]" if f.refs else ""
            print(f"{result.source}:{line}  {f.check_id}  {f.severity}  {f.message}{ref}", file=self.out)

    def close(self) -> None:
        print(self.summary(), file=self.out)


class JSONWriter(Writer):
    def __init__(self, out: IO[str], floor: Severity) -> None:
        super().__init__(out, floor)
        self.out.write("[")

    def write(self, result: LintResult) -> None:
        item = {"source": result.source, "kind": result.kind.value, "verdict": result.verdict,
                "findings": [{"check_id": f.check_id, "severity": str(f.severity), "message": f.message,
                              "line": int(f.where.split()[-1]) if f.where.startswith("line ") else None,
                              "refs": list(f.refs)} for f in self.shown(result)],
                "internal_errors": result.internal_errors}
        self.out.write(("\n " if self.messages == 1 else ",\n ") + json.dumps(item))

    def close(self) -> None:
        self.out.write("\n]\n")


class JUnitWriter(Writer):
    """One testcase per message, one <failure> per error finding."""

    def __init__(self, out: IO[str], floor: Severity) -> None:
        super().__init__(out, floor)
        self.spool = tempfile.TemporaryFile("w+", encoding="utf-8")
        self.failed_cases = 0

    def write(self, result: LintResult) -> None:
        case = ET.Element("testcase", name=result.source, classname=f"mta-conformance.lint.{result.kind.value}")
        errors = [f for f in result.findings if f.severity is Severity.ERROR]
        for f in errors:
            failure = ET.SubElement(case, "failure", message=f"{f.check_id}: {f.message}"[:500], type=f.check_id)
            failure.text = f"{f.render()}"
        self.failed_cases += bool(errors)
        others = [f.render() for f in self.shown(result) if f.severity is not Severity.ERROR]
        out = ET.SubElement(case, "system-out")
        out.text = "\n".join([f"verdict: {result.verdict}", *others])
        self.spool.write(ET.tostring(case, encoding="unicode") + "\n")

    def close(self) -> None:
        self.out.write('<?xml version="1.0" encoding="utf-8"?>\n')
        self.out.write(f'<testsuites name="mta-conformance lint" tests="{self.messages}" '
                       f'failures="{self.failed_cases}" errors="0">\n')
        self.out.write(f'<testsuite name="mta-conformance.lint" tests="{self.messages}" '
                       f'failures="{self.failed_cases}" errors="0" skipped="0">\n')
        self.spool.seek(0)
        for line in self.spool:
            self.out.write(line)
        self.out.write("</testsuite>\n</testsuites>\n")
        self.spool.close()


#: the concrete writers by --format name
WRITERS: dict[str, type[TextWriter] | type[JSONWriter] | type[JUnitWriter]] = {
    "text": TextWriter, "json": JSONWriter, "junit": JUnitWriter}
