"""The harness's lifetime in a run: started on the first case that needs it, shared, stopped at the end.

The target routes to one fixed address, so there is one harness per run;
in-session runs (no route options) never start it.  Under pytest-xdist only the
controller can listen on that address: it spools what arrives to a folder, and
each worker reads the spool instead (``SpoolMailbox``).  The embedded run hands
over a harness that already listens (``adopted``).
"""

from __future__ import annotations

from pathlib import Path

from .mailbox import Mailbox, SpoolMailbox
from .servers import Harness, HarnessConfig

#: what a case waits on: the harness's own mailbox, or a worker's view of the controller's spool
AnyMailbox = Mailbox | SpoolMailbox


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
