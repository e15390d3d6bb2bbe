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

A message with thousands of findings of one check (a base64 bomb, a
recipient list gone wrong) would bury the rest: each format shows the first
``PER_CHECK`` findings of each check and says how many more there are, in one
line; the summary and the JSON counts still count them all.

File names, verdicts and findings' messages quote the input, so every string
is made printable (report/escape.py) where it is written: in the text lines,
in every JSON string, and (by report/junit.py) in the XML.  No control
character, direction override or lone surrogate from a bounce or a file name
reaches the terminal or makes a document unreadable.
"""

from __future__ import annotations

import json
import sys
from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Callable
from typing import IO

from ..findings import Finding, Severity
from ..report.escape import one_line, printable, printable_tree
from ..report.junit import StreamedSuite, junit_case
from .classify import VERDICTS, Kind
from .lint import LintResult

#: findings of one check shown per message; the rest are counted in one line
PER_CHECK = 20


def capped(findings: list[Finding], per_check: int = PER_CHECK) -> tuple[list[Finding], dict[str, int]]:
    """The first *per_check* findings of each check, in order, and how many of each were left out."""
    seen: Counter[str] = Counter()
    kept: list[Finding] = []
    for f in findings:
        seen[f.check_id] += 1
        if seen[f.check_id] <= per_check:
            kept.append(f)
    return kept, {check: n - per_check for check, n in seen.items() if n > per_check}


def more_line(check_id: str, count: int) -> str:
    """The line standing for the findings of *check_id* that are not shown."""
    return f"... and {count} more {check_id} finding{'s' if count != 1 else ''}"


class OutputClosed(Exception):
    """The output went away (a closed pipe): the run ends quietly."""


class Writer(ABC):
    def __init__(self, out: IO[str], floor: Severity, per_check: int = PER_CHECK) -> None:
        self.out = out
        self.floor = floor
        self.per_check = per_check
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

    def shown_capped(self, result: LintResult) -> tuple[list[Finding], dict[str, int]]:
        """The findings shown (``PER_CHECK`` of each check at most) and the count left out of each."""
        return capped(self.shown(result), self.per_check)

    def add(self, result: LintResult) -> None:
        if result.kind.is_unjudged:
            self.unjudged[result.kind] += 1
        else:
            self.messages += 1
        self.with_errors += result.has_errors
        for f in self.shown(result):
            self.counts[f.severity] += 1
        for error in result.internal_errors:
            print(printable(f"{result.source}: internal error of the linter: {error}"), file=sys.stderr)
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
        self._line(f"{result.source}: {result.verdict}")
        kept, omitted = self.shown_capped(result)
        for f in kept:
            ref = f"  [{f.refs[0]}]" if f.refs else ""
            self._line(f"{_place(result.source, f)}  {f.check_id}  {f.severity}  {f.message}{ref}")
        for check_id, count in omitted.items():
            self._line(f"{result.source}: {more_line(check_id, count)}")

    def _line(self, text: str) -> None:
        """One line of output, made printable and kept one line: it quotes the file name and the message."""
        print(one_line(text), file=self.out)

    def finish(self) -> None:
        print(self.summary(), file=self.out)


def _place(source: str, f: Finding) -> str:
    """``file:line``, or ``file (SMTP envelope)`` for a finding on what the message's lines do not hold."""
    if f.where.line is None and f.where.detail:
        return f"{source} ({f.where.detail})"
    return f"{source}:{f.where.line or 1}"


class JSONWriter(Writer):
    def __init__(self, out: IO[str], floor: Severity, per_check: int = PER_CHECK) -> None:
        super().__init__(out, floor, per_check)
        self.out.write("[")

    def write(self, result: LintResult) -> None:
        """One item; ``counts`` has every shown check's total, ``omitted`` what ``findings`` leaves out."""
        shown = self.shown(result)
        kept, omitted = capped(shown, self.per_check)
        item: dict[str, object] = {"source": result.source, "kind": result.kind.value, "verdict": result.verdict,
                                   "findings": [_json_finding(f) for f in kept],
                                   "counts": dict(Counter(f.check_id for f in shown))}
        if omitted:
            item["omitted"] = omitted
        item["internal_errors"] = result.internal_errors
        self.out.write(("\n " if self.written == 1 else ",\n ") + json.dumps(printable_tree(item)))

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

    def __init__(self, out: IO[str], floor: Severity, per_check: int = PER_CHECK) -> None:
        super().__init__(out, floor, per_check)
        self.report = StreamedSuite(out, name="mta-conformance lint", suite="mta-conformance.lint")

    def write(self, result: LintResult) -> None:
        kept, omitted = self.shown_capped(result)
        others = [f.render() for f in kept if f.severity is not Severity.ERROR]
        errors, error_omitted = capped([f for f in result.findings if f.severity is Severity.ERROR], self.per_check)
        others += [more_line(check, n) for check, n in omitted.items() if check not in error_omitted]
        case = junit_case(result.source, f"mta-conformance.lint.{result.kind.value}",
                        stdout="\n".join([f"verdict: {result.verdict}", *others]))
        for f in errors:
            case.add_failure_info(message=f"{f.check_id}: {f.message}"[:500], output=f.render(),
                                  failure_type=f.check_id)
        for check_id, count in error_omitted.items():
            case.add_failure_info(message=more_line(check_id, count), output=f"{result.source}: "
                                  f"{more_line(check_id, count)}", failure_type=check_id)
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
