"""The harness's lifetime in a run: started on the first case that needs it, shared, stopped at the end.

The target routes to one fixed address, so there is one harness per run;
in-session runs (no route options) never start it.  Under pytest-xdist only the
controller can listen on that address: it spools what arrives to a folder, and
each worker reads the spool instead (``SpoolMailbox``).  The embedded run hands
over a harness that already listens (``adopted``).

A listen address with port 0 binds a free port: the harness then starts with
the run (not on demand), so the report header and the route control name the
port it bound (:meth:`HarnessHolder.start_now`).  Every transaction a case's waits
returned is kept until the case's report claims it (:meth:`HarnessHolder.claim`),
so the report can save what was judged.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from .mailbox import Mailbox, SpoolMailbox, Transaction
from .servers import Harness, HarnessConfig

#: what a case waits on: the harness's own mailbox, or a worker's view of the controller's spool
AnyMailbox = Mailbox | SpoolMailbox
#: a listen address as the settings hold it
Listen = tuple[str, int]


def carries(tx: Transaction, token: str) -> bool:
    """Whether *tx* belongs to the case run with *token* (in its reverse path, a recipient, or its bytes)."""
    lowered = token.lower()
    return (lowered in tx.mail_from.lower() or any(lowered in r.address.lower() for r in tx.recipients)
            or (tx.data is not None and token.encode() in tx.data))


class RecordingSource:
    """The mailbox as cases wait on it, keeping every transaction a wait returned (what the judges saw)."""

    def __init__(self, mailbox: AnyMailbox, seen: dict[str, Transaction]) -> None:
        self.mailbox = mailbox
        self.seen = seen

    def wait_for(self, predicate: Callable[[Transaction], bool], timeout: float, count: int = 1,
                 settle: bool = False) -> list[Transaction]:
        found = self.mailbox.wait_for(predicate, timeout, count=count, settle=settle)
        for tx in found:
            self.seen.setdefault(tx.id, tx)
        return found


class HarnessUnavailable(RuntimeError):
    """The harness cannot run (no address, or it could not listen); the message says why."""


class HarnessHolder:
    """Starts the harness once, on demand, and says why not when it cannot.

    *config* is None when the settings give no harness address; *missing* then
    says which option to set.
    """

    def __init__(self, config: HarnessConfig | None, missing: str = "", worker_spool: Path | None = None,
                 adopted: Harness | None = None) -> None:
        self.config = config
        self.missing = missing
        self.harness: Harness | None = None
        self.error: str | None = None
        self.spool: Path | None = None  #: the controller writes captured transactions here for xdist workers
        self.worker_spool = worker_spool  #: a worker reads the controller's spool instead of listening
        self.adopted = adopted  #: a harness already listening (the embedded run's), used instead of starting one
        self._spooled: SpoolMailbox | None = None
        self._seen: dict[str, Transaction] = {}  #: what waits returned, until a case's report claims it

    def source(self) -> RecordingSource:
        """The mailbox for the runner: as :meth:`mailbox`, and what its waits return is kept for the reports."""
        return RecordingSource(self.mailbox(), self._seen)

    def claim(self, token: str) -> list[Transaction]:
        """What the waits of the case run with *token* returned (its NDRs and relayed copies), by arrival.

        Handed over once: the holder forgets them, so a long run does not keep every message twice.
        """
        if not token:
            return []
        mine = [tx for tx in self._seen.values() if carries(tx, token)]
        for tx in mine:
            del self._seen[tx.id]
        return sorted(mine, key=lambda tx: tx.started)

    def start_now(self) -> tuple[Listen, Listen] | None:
        """Start the harness now (not on first need); where it listens, or None when it cannot (cases say why)."""
        try:
            self.mailbox()
        except HarnessUnavailable:
            return None
        return self.listening()

    def listening(self) -> tuple[Listen, Listen] | None:
        """Where the running harness listens: (host, port) with DSN and without; None when none runs here."""
        harness = self.adopted or self.harness
        if harness is None or not harness.running:
            return None
        return (harness.config.host, harness.dsn_port), (harness.plain_host, harness.plain_port)

    def mailbox(self) -> AnyMailbox:
        """The mailbox cases wait on; raises HarnessUnavailable with the reason when there is none."""
        if self.worker_spool is not None:
            if self._spooled is None:
                self._spooled = SpoolMailbox(self.worker_spool)
            return self._spooled
        if self.adopted is not None:
            if self.spool is not None and self.adopted.mailbox.spool is None:
                self.spool.mkdir(parents=True, exist_ok=True)
                self.adopted.mailbox.spool = self.spool
            return self.adopted.mailbox
        if self.harness is None and self.error is None:
            self.harness = self._start()
        if self.harness is None:
            raise HarnessUnavailable(self.error or "no harness")
        return self.harness.mailbox

    def _start(self) -> Harness | None:
        if self.config is None:
            self.error = self.missing or "no harness address"
            return None
        config = self.config
        config.spool = self.spool
        harness = Harness(config)
        try:
            harness.start()
        except Exception as exc:  # noqa: BLE001 - a clear message, not a traceback
            harness.stop()
            self.error = f"cannot start the harness on {config.host}:{config.dsn_port}: {exc}"
            return None
        return harness

    def stop(self) -> None:
        if self.harness is not None:
            self.harness.stop()
        self.harness = None

