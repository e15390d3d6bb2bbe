"""Lint output: text for people, JSON and JUnit for machines, all streamed.

Each writer takes one result at a time and keeps no message data, so memory
does not grow with the number of messages; the JUnit writer (report/junit.py's,
as for a run) spools testcases to a temporary file because the suite's counts
must come first.

An input that was not judged ("too large", "not a message", "not an mbox") is
reported like any other verdict (a verdict line, a JSON item, a testcase, as
a failure there since it makes the exit status 1) and counted apart from the
messages in the summary.  When the reader of the output goes away (``| head``),
``add`` and ``close`` raise ``OutputClosed`` instead of a BrokenPipeError.
"""

from __future__ import annotations

import json
import sys
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import IO

from ..findings import Finding, Severity
from ..report.junit import StreamedSuite, junit_case
from .classify import VERDICTS, Kind
from .lint import LintResult


class OutputClosed(Exception):
    """The output went away (a closed pipe): the run ends quietly."""


class Writer(ABC):
    def __init__(self, out: IO[str], floor: Severity) -> None:
        self.out = out
        self.floor = floor
        self.counts = dict.fromkeys(Severity, 0)
        self.messages = 0  #: judged messages
        self.with_errors = 0
        self.unjudged = {k: 0 for k in Kind if k.is_unjudged}
        self.written = 0  #: results written, judged or not
        self.output_closed = False

    @property
    def not_judged(self) -> int:
        return sum(self.unjudged.values())

    def shown(self, result: LintResult) -> list[Finding]:
        return [f for f in result.findings if f.severity >= self.floor]

    def add(self, result: LintResult) -> None:
        if result.kind.is_unjudged:
            self.unjudged[result.kind] += 1
        else:
            self.messages += 1
        self.with_errors += result.has_errors
        for f in self.shown(result):
            self.counts[f.severity] += 1
        for error in result.internal_errors:
            print(f"{result.source}: internal error of the linter: {error}", file=sys.stderr)
        self.written += 1
        self._guarded(self.write, result)

    @abstractmethod
    def write(self, result: LintResult) -> None:
        """Write one message's verdict in this format."""

    def finish(self) -> None:  # noqa: B027 - a hook most writers leave empty, not an abstract method
        """What follows the last result (summary, closing brackets)."""

    def close(self) -> None:
        """Finish the output and flush it (a closed pipe raises OutputClosed)."""
        if not self.output_closed:
            self._guarded(self.finish)
            self._guarded(self.out.flush)

    def _guarded(self, action: Callable[..., object], *args: object) -> None:
        try:
            action(*args)
        except BrokenPipeError:
            self.output_closed = True
            raise OutputClosed from None

    def summary(self) -> str:
        line = (f"{self.messages} message(s), {self.with_errors} with errors: {self.counts[Severity.ERROR]} error(s), "
                f"{self.counts[Severity.WARNING]} warning(s), {self.counts[Severity.INFO]} info")
        if self.not_judged:
            line += "; not judged: " + ", ".join(f"{n} {VERDICTS[k]}" for k, n in self.unjudged.items() if n)
        return line


class TextWriter(Writer):
    """``file:line  ID  severity  message  [RFC section]``, a verdict line per message."""

    def write(self, result: LintResult) -> None:
        print(f"{result.source}: {result.verdict}", file=self.out)
        for f in self.shown(result):
            ref = f"  [{f.refs[0]}]" if f.refs else ""
            print(f"{_place(result.source, f)}  {f.check_id}  {f.severity}  {f.message}{ref}", file=self.out)

    def finish(self) -> None:
        print(self.summary(), file=self.out)


def _place(source: str, f: Finding) -> str:
    """``file:line``, or ``file (SMTP envelope)`` for a finding on what the message's lines do not hold."""
    if f.where.line is None and f.where.detail:
        return f"{source} ({f.where.detail})"
    return f"{source}:{f.where.line or 1}"


class JSONWriter(Writer):
    def __init__(self, out: IO[str], floor: Severity) -> None:
        super().__init__(out, floor)
        self.out.write("[")

    def write(self, result: LintResult) -> None:
        item = {"source": result.source, "kind": result.kind.value, "verdict": result.verdict,
                "findings": [_json_finding(f) for f in self.shown(result)],
                "internal_errors": result.internal_errors}
        self.out.write(("\n " if self.written == 1 else ",\n ") + json.dumps(item))

    def finish(self) -> None:
        self.out.write("\n]\n")


def _json_finding(f: Finding) -> dict[str, object]:
    """A finding as JSON; ``detail`` only for one that has no line of its own (the SMTP envelope)."""
    item: dict[str, object] = {"check_id": f.check_id, "severity": str(f.severity), "message": f.message,
                               "line": f.where.line}
    if f.where.detail:
        item["detail"] = f.where.detail
    item["refs"] = list(f.refs)
    return item


class JUnitWriter(Writer):
    """One testcase per message, one <failure> per error finding (or for an input not judged).

    The XML is report/junit.py's, as for a run's report; it spools the
    testcases, because the suite's counts come first.
    """

    def __init__(self, out: IO[str], floor: Severity) -> None:
        super().__init__(out, floor)
        self.report = StreamedSuite(out, name="mta-conformance lint", suite="mta-conformance.lint")

    def write(self, result: LintResult) -> None:
        others = [f.render() for f in self.shown(result) if f.severity is not Severity.ERROR]
        case = junit_case(result.source, f"mta-conformance.lint.{result.kind.value}",
                        stdout="\n".join([f"verdict: {result.verdict}", *others]))
        for f in result.findings:
            if f.severity is Severity.ERROR:
                case.add_failure_info(message=f"{f.check_id}: {f.message}"[:500], output=f.render(),
                                      failure_type=f.check_id)
        if result.kind.is_unjudged:
            case.add_failure_info(message=result.verdict[:500], output=f"{result.source}: {result.verdict}",
                                  failure_type=result.kind.value)
        self.report.add(case)

    def finish(self) -> None:
        self.report.finish()

    def close(self) -> None:
        try:
            super().close()
        finally:
            self.report.close()


#: the concrete writers by --format name
WRITERS: dict[str, type[TextWriter | JSONWriter | JUnitWriter]] = {
    "text": TextWriter, "json": JSONWriter, "junit": JUnitWriter}
