"""Progress while waiting: a live line on a terminal, one line per long wait elsewhere.

``tick`` is driven with made-up clock values, so no test waits for real time.
"""

from __future__ import annotations

import time

from conformance.progress import LOG_AFTER, SILENT, Progress, terminal_progress


def test_a_terminal_gets_a_live_line_that_is_erased_after_the_wait() -> None:
    drawn: list[str] = []
    progress = Progress(live=drawn.append, ticking=False)
    with progress.waiting("the quiet period of case x", 15):
        start = time.monotonic()
        progress.tick(start + 0.2)
        assert drawn == []  # short waits never flicker
        progress.tick(start + 3.0)
        assert drawn == ["waiting up to 12 s more for the quiet period of case x (3 s so far)"]
    assert drawn[-1] == ""  # erased when the wait ends
    progress.tick(time.monotonic() + 30)
    assert drawn[-1] == ""  # nothing is shown between waits


def test_elsewhere_one_line_per_wait_longer_than_ten_seconds() -> None:
    lines: list[str] = []
    progress = terminal_progress(lambda _: None, isatty=False, write_line=lines.append)
    progress._ticking = False
    with progress.waiting("an NDR for case y", 60):
        start = time.monotonic()
        progress.tick(start + LOG_AFTER - 1)
        assert lines == []
        progress.tick(start + LOG_AFTER + 1)
        progress.tick(start + LOG_AFTER + 20)
    assert lines == ["mta-conformance: still waiting for an NDR for case y after 11 s; at most 49 s more"]
    with progress.waiting("a short wait", 5):
        progress.tick(time.monotonic() + 4)
    assert len(lines) == 1


def test_the_default_reports_nothing() -> None:
    assert SILENT.silent
    with SILENT.waiting("anything", 100):
        SILENT.tick(time.monotonic() + 50)
