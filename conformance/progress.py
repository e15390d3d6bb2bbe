"""What the run is waiting for, shown to the person watching it.

A run spends most of its time waiting: for the quiet period that proves no NDR
comes, for an NDR's deadline, for a slow target's reply.  Without a word the
terminal looks hung.  On a terminal a live status line says what the run waits
for and how long it may still take; it is drawn after the cursor and erased
again (cursor save/restore), so pytest's own progress line is never broken.
Elsewhere (CI logs) a wait that lasts 10 s gets one line, and no more.  xdist
workers have no terminal and report nothing.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

#: a wait shorter than this is never shown on a terminal (no flicker)
SHOW_AFTER = 1.0
#: outside a terminal, a wait is mentioned once when it has lasted this long
LOG_AFTER = 10.0
#: how often the live line is redrawn
REFRESH = 0.5


class Progress:
    """Tracks the current wait; a background thread shows it. The default reports nothing."""

    def __init__(self, live: Callable[[str], None] | None = None, log: Callable[[str], None] | None = None,
                 ticking: bool = True) -> None:
        self._live = live  #: draws (or, with "", erases) the live status line on a terminal
        self._log = log  #: writes one whole line elsewhere
        self._ticking = ticking  #: run the redraw thread (tests drive ``tick`` themselves)
        self._lock = threading.Lock()
        self._current: tuple[str, float, float] | None = None  #: (what, started, deadline), monotonic
        self._logged = False
        self._shown = False
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def silent(self) -> bool:
        return self._live is None and self._log is None

    @contextmanager
    def waiting(self, what: str, seconds: float) -> Iterator[None]:
        """Mark a wait of at most *seconds* for *what* (a sentence fragment: "an NDR for case X")."""
        if self.silent:
            yield
            return
        now = time.monotonic()
        with self._lock:
            self._current, self._logged = (what, now, now + seconds), False
        self._ensure_thread()
        try:
            yield
        finally:
            with self._lock:
                self._current = None
                shown, self._shown = self._shown, False
            if shown and self._live is not None:
                self._live("")

    def close(self) -> None:
        """Stop the thread (the run is over); erase the live line."""
        thread, self._thread = self._thread, None
        if thread is not None:
            self._wake.set()
            thread.join(timeout=2 * REFRESH)

    def _ensure_thread(self) -> None:
        if self._thread is None and self._ticking:
            self._wake.clear()
            self._thread = threading.Thread(target=self._run, name="mta-conformance-progress", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        while not self._wake.wait(REFRESH):  # a redraw cadence, not synchronisation
            self.tick(time.monotonic())

    def tick(self, now: float) -> None:
        """Show the current wait as it stands at *now* (called by the thread; tests call it directly)."""
        with self._lock:
            if self._current is None:
                return
            what, started, deadline = self._current
            elapsed, left = now - started, max(0.0, deadline - now)
            if self._live is not None and elapsed >= SHOW_AFTER:
                self._shown = True
                self._live(f"waiting up to {left:.0f} s more for {what} ({elapsed:.0f} s so far)")
            elif self._live is None and self._log is not None and elapsed >= LOG_AFTER and not self._logged:
                self._logged = True
                self._log(f"mta-conformance: still waiting for {what} after {elapsed:.0f} s; "
                          f"at most {left:.0f} s more")


#: the no-op default (the runner used outside pytest, xdist workers)
SILENT = Progress()


def terminal_progress(draw: Callable[[str], None], isatty: bool, write_line: Callable[[str], None]) -> Progress:
    """A Progress for a terminal: *draw* shows (or with "" erases) the live line on a TTY;
    elsewhere *write_line* gets one line per long wait."""
    return Progress(live=draw) if isatty else Progress(log=write_line)
