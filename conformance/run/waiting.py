"""Waiting for what reaches the harness, shown as progress to the person watching the run.

A wait is also capped by the run's deadline (``--mta-run-deadline``): a wait cut
short by it proves nothing (an NDR may still come, a quiet period is not over),
so it raises :class:`DeadlinePassed` and the case becomes could-not-test, never a
verdict made from a wait that did not last its time.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Protocol

from ..harness.mailbox import Transaction
from ..progress import Progress


class MailSource(Protocol):
    """What the run needs of the harness's captured mail (the harness's Mailbox, or an xdist worker's spool)."""

    def wait_for(self, predicate: Callable[[Transaction], bool], timeout: float, count: int = 1,
                 settle: bool = False) -> list[Transaction]: ...


class DeadlinePassed(Exception):
    """The run's deadline passed during a wait: what the wait was to prove is unknown."""


class WatchedMailbox:
    """A mailbox whose waits are shown as progress (the quiet period, an NDR's deadline).

    *deadline* is the run's deadline on the monotonic clock, or None: no wait lasts past it.
    """

    def __init__(self, mailbox: MailSource, progress: Progress, subject: str, deadline: float | None = None) -> None:
        self.mailbox = mailbox
        self.progress = progress
        self.subject = subject
        self.deadline = deadline

    def wait_for(self, predicate: Callable[[Transaction], bool], timeout: float, count: int = 1,
                 settle: bool = False) -> list[Transaction]:
        what = f"the quiet period of {self.subject}" if settle else f"what {self.subject} sends to the harness"
        left = timeout if self.deadline is None else min(timeout, max(0.0, self.deadline - time.monotonic()))
        with self.progress.waiting(what, left):
            found = self.mailbox.wait_for(predicate, left, count=count, settle=settle)
        if left < timeout and len(found) < count and self.deadline is not None \
                and time.monotonic() >= self.deadline:
            raise DeadlinePassed(what)
        return found
