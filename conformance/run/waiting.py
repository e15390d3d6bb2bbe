"""Waiting for what reaches the harness, shown as progress to the person watching the run."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from ..harness.mailbox import Transaction
from ..progress import Progress


class MailSource(Protocol):
    """What the run needs of the harness's captured mail (the harness's Mailbox, or an xdist worker's spool)."""

    def wait_for(self, predicate: Callable[[Transaction], bool], timeout: float, count: int = 1,
                 settle: bool = False) -> list[Transaction]: ...


class WatchedMailbox:
    """A mailbox whose waits are shown as progress (the quiet period, an NDR's deadline)."""

    def __init__(self, mailbox: MailSource, progress: Progress, subject: str) -> None:
        self.mailbox = mailbox
        self.progress = progress
        self.subject = subject

    def wait_for(self, predicate: Callable[[Transaction], bool], timeout: float, count: int = 1,
                 settle: bool = False) -> list[Transaction]:
        what = f"the quiet period of {self.subject}" if settle else f"what {self.subject} sends to the harness"
        with self.progress.waiting(what, timeout):
            return self.mailbox.wait_for(predicate, timeout, count=count, settle=settle)
