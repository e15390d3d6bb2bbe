"""Captured transactions, and waiting for them with deadlines.

Every transaction the harness's servers see (a relayed message at the next
hop, an NDR at the sink) is recorded here: the envelope byte-exact (ORCPT and
ENVID keep their case), the raw message and the server-side transcript.
Cases wait on a condition variable with a deadline, never on sleeps.  With a
spool folder every transaction is also written to disk (JSON + raw bytes), so
pytest-xdist workers can wait on the controller's harness and nothing is lost
if a worker dies.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path


@dataclass
class Recipient:
    address: str
    params: list[str]  #: the parameter words exactly as sent
    reply: str = ""


@dataclass
class Transaction:
    """One MAIL transaction as one of the harness's servers saw it."""

    id: str
    role: str  #: "next-hop" or "sink" (by the recipient domains), "refused" otherwise
    port: int
    dsn_advertised: bool
    peer: str = ""
    helo: str = ""
    mail_from: str = ""  #: the reverse-path without brackets; "" for the null path
    mail_params: list[str] = field(default_factory=list)
    #: the MAIL argument as sent (``FROM:<#@[]> RET=HDRS``), so an odd reverse path is judged as it came
    mail_arg: str = ""
    recipients: list[Recipient] = field(default_factory=list)
    data: bytes | None = None  #: the message as received (dot-unstuffed), None without DATA
    data_reply: str = ""
    transcript: list[str] = field(default_factory=list)
    started: float = field(default_factory=time.time)
    ended: float = 0.0

    @property
    def accepted(self) -> list[Recipient]:
        return [r for r in self.recipients if r.reply.startswith("2")]

    def to_json(self) -> dict[str, object]:
        data = asdict(self)
        data.pop("data")
        data["data_size"] = None if self.data is None else len(self.data)
        return data


class Mailbox:
    """Thread-safe store of finished transactions, with waiting and an optional spool."""

    def __init__(self, spool: Path | None = None, max_transactions: int = 10_000) -> None:
        self._items: list[Transaction] = []
        self._cond = threading.Condition()
        self.spool = spool
        self.max_transactions = max_transactions
        self.dropped = 0
        #: says whether the target has finished all its work (nothing running, nothing scheduled), when
        #: the target can tell (the embedded testee); a quiet wait then ends at once instead of at its deadline
        self.settled: Callable[[], bool] | None = None
        if spool is not None:
            spool.mkdir(parents=True, exist_ok=True)

    def poke(self) -> None:
        """Wake every waiter to look again (the target just settled)."""
        with self._cond:
            self._cond.notify_all()

    @staticmethod
    def new_id() -> str:
        return f"{time.strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:10]}"

    def add(self, tx: Transaction) -> None:
        tx.ended = time.time()
        if self.spool is not None:
            if tx.data is not None:  # written before the .json, which is what readers look for
                (self.spool / f"{tx.id}.eml").write_bytes(tx.data)
            tmp = self.spool / f"{tx.id}.json.tmp"
            tmp.write_text(json.dumps(tx.to_json()), encoding="utf-8")
            tmp.replace(self.spool / f"{tx.id}.json")  # atomic: readers never see half a record
        with self._cond:
            if len(self._items) >= self.max_transactions:
                self._items.pop(0)
                self.dropped += 1
            self._items.append(tx)
            self._cond.notify_all()

    def all(self) -> list[Transaction]:
        with self._cond:
            return list(self._items)

    def matching(self, predicate: Callable[[Transaction], bool]) -> list[Transaction]:
        with self._cond:
            return [tx for tx in self._items if predicate(tx)]

    def wait_for(self, predicate: Callable[[Transaction], bool], timeout: float, count: int = 1,
                 settle: bool = False) -> list[Transaction]:
        """Wait until *count* transactions match (or the deadline passes); return those that match.

        With *settle*, a wait for something that should not come (a quiet period)
        also ends when the target reports it has settled: what it sends arrives
        before it settles, so nothing more can come.
        """
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                found = [tx for tx in self._items if predicate(tx)]
                remaining = deadline - time.monotonic()
                if len(found) >= count or remaining <= 0:
                    return found
                if settle and self.settled is not None and self.settled():
                    return found
                self._cond.wait(remaining)

    def clear(self) -> None:
        with self._cond:
            self._items.clear()


class SpoolMailbox:
    """A pytest-xdist worker's view of the controller's harness: its spool folder.

    Only the controller can listen on the address the target routes to; workers
    see what arrived through the files the harness writes (each made visible by an
    atomic rename).  The folder has no change notification here, so a wait checks
    it every 50 ms until its deadline.
    """

    POLL = 0.05

    def __init__(self, spool: Path) -> None:
        self.spool = spool
        self._loaded: dict[str, Transaction] = {}

    def _refresh(self) -> None:
        for meta in self.spool.glob("*.json"):
            tx_id = meta.name[: -len(".json")]
            if tx_id in self._loaded:
                continue
            try:
                data = json.loads(meta.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                continue
            raw = self.spool / f"{tx_id}.eml"
            data.pop("data_size", None)
            data["recipients"] = [Recipient(**r) for r in data["recipients"]]
            tx = Transaction(**data)
            tx.data = raw.read_bytes() if raw.exists() else None
            self._loaded[tx_id] = tx

    def all(self) -> list[Transaction]:
        self._refresh()
        return list(self._loaded.values())

    def matching(self, predicate: Callable[[Transaction], bool]) -> list[Transaction]:
        return [tx for tx in self.all() if predicate(tx)]

    def wait_for(self, predicate: Callable[[Transaction], bool], timeout: float, count: int = 1,
                 settle: bool = False) -> list[Transaction]:
        """As Mailbox.wait_for; a worker cannot see the target settle, so *settle* has no effect here."""
        deadline = time.monotonic() + timeout
        while True:
            found = self.matching(predicate)
            remaining = deadline - time.monotonic()
            if len(found) >= count or remaining <= 0:
                return found
            time.sleep(min(self.POLL, remaining))  # the spool gives no event to wait on; bounded by the deadline
