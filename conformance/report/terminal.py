"""What the person at the terminal sees: the live wait line, and the run's summary at the end.

Both name cases and quote the target (reasons, findings): every line is made
printable (:mod:`.escape`) as it is written, so no byte from outside reaches
the terminal as a control sequence.
"""

from __future__ import annotations

import contextlib
from typing import Any

from ..exitcodes import ExitCode
from ..progress import Progress, terminal_progress
from ..target import TargetSettings
from .escape import printable
from .records import CaseRecord


def terminal_progress_for(reporter: Any) -> Progress:
    """A live status line on a terminal, one line per long wait elsewhere (never from xdist workers)."""
    writer = reporter._tw  # pytest's TerminalWriter
    capture = reporter.config.pluginmanager.getplugin("capturemanager")

    def uncaptured() -> Any:
        """Waits happen inside a test call, where pytest captures the output: step outside it."""
        return capture.global_and_fixture_disabled() if capture is not None else contextlib.nullcontext()

    def draw(status: str) -> None:
        # ESC 7 / ESC 8 save and restore the cursor: the status sits after pytest's progress dots, is
        # erased (ESC [K) in place, and is cut to the room left so it never wraps onto another line
        with uncaptured():  # (the terminal's width, too, is known only outside the capture)
            room = writer.fullwidth - writer.width_of_current_line - 5
            shown = f"  [{printable(status)[:room]}]" if status and room > 10 else ""
            writer._file.write(f"\x1b7\x1b[K{shown}\x1b8")
            writer._file.flush()

    def write_line(text: str) -> None:
        with uncaptured():
            reporter.ensure_newline()
            reporter.write_line(printable(text))

    return terminal_progress(draw, writer.hasmarkup and writer._file.isatty(), write_line)


def write_summary(reporter: Any, settings: TargetSettings, records: list[CaseRecord],
                  verdict: tuple[ExitCode, str] | None, interrupted: str | None = None) -> None:
    """Warnings and inconclusive cases in sections of their own, the counts, the verdict, the report paths."""
    s = settings

    def write_line(text: str, **markup: bool) -> None:
        reporter.write_line(printable(text), **markup)

    warned = [(record.case_id, f) for record in records for f in record.findings if f["severity"] == "warning"]
    if warned and not s.strict:
        reporter.write_sep("-", "mta-conformance warnings (they fail a case only under --mta-strict)")
        for case_id, f in warned:
            write_line(f"{case_id}: {f['rendered']}")
    undecided = [record for record in records if record.outcome == "inconclusive"]
    if undecided:
        reporter.write_sep("-", "mta-conformance inconclusive (a failure under --mta-strict)")
        for record in undecided:
            write_line(f"INCONCLUSIVE {record.case_id}: {record.reason}")
    counts: dict[str, int] = {}
    for record in records:
        counts[record.outcome] = counts.get(record.outcome, 0) + 1
    shown = ", ".join(f"{n} {k}" for k, n in sorted(counts.items())) or "no cases ran"
    reporter.write_sep("-", "mta-conformance")
    write_line(f"target {s.host}:{s.port}, profile {s.profile}{', strict' if s.strict else ''}: {shown}")
    if interrupted:
        write_line(f"INTERRUPTED by {interrupted}: the run stopped; the reports hold the {len(records)} case(s) "
                   f"that ended before it, and say so (exit status {int(ExitCode.INTERRUPTED)})", yellow=True,
                   bold=True)
    elif verdict is not None:
        code, sentence = verdict
        write_line(f"{sentence} (exit status {int(code)})", red=code is ExitCode.NON_CONFORMANT,
                   yellow=code is ExitCode.COULD_NOT_TEST, green=code is ExitCode.CONFORMANT)
    if verdict is not None or interrupted:
        saved = sum(len(record.captured) for record in records)
        captured = f", {s.report_dir / 'captured'}/ ({saved} files captured from the target)" if saved else ""
        write_line(f"reports: {s.report_dir / 'junit.xml'}, {s.report_dir / 'results.json'}{captured}")
