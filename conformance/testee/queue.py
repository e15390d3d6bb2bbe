"""The testee's delivery queue: retries, delay warnings and expiry, as a real MTA keeps them.

A message the testee answered 250 at the end of data enters the queue at once
(before the 250 is written, so the testee never looks idle while it owes work).
Its first delivery attempt starts immediately, in a thread of its own: routed
recipients are relayed to their next hop, and one DSN is written for those that
failed (or were relayed to a next hop without DSN and asked for SUCCESS).  A
recipient the next hop answers 4yz (or whose next hop cannot be reached) is
*deferred* and stays queued:

* every ``retry_interval`` seconds it is tried again;
* once it has been queued ``delay_warning`` seconds, it gets one "delayed" DSN
  (RFC 3461 §4.1, §5.2.5: when NOTIFY is absent or contains DELAY);
* once it has been queued ``queue_lifetime`` seconds, a last attempt is made and,
  still deferred, it fails: a "failed" DSN (when NOTIFY allows) quoting the last
  4yz reply, with that reply's own 4.x.x status, or 4.4.7 "delivery time expired"
  (RFC 3463 §3.5) when the reply carried no enhanced code.  A 4.x.x status under
  Action failed is what RFC 3463 calls a persistent transient failure.

Timers are deadlines on ``time.monotonic()`` kept in a heap; one scheduler
thread waits on a condition variable until the earliest one and hands due
entries to a worker thread.  Nothing sleeps.  NDRs are sent synchronously by the
worker (smtplib), so when an entry leaves the queue its NDRs were accepted by
the next hop.  ``close`` discards everything scheduled, aborts open SMTP
connections and joins the threads with a bounded wait.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import smtplib
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace

from .config import TesteeConfig
from .dsn import send_ndr
from .relay import SMTP_TIMEOUT, DeliveryResult, Message, relay

log = logging.getLogger(__name__)

#: RFC 3463 X.4.7: delivery time expired
EXPIRED = "4.4.7"
#: how long ``close`` waits for threads in all (they are daemons: a stuck one is left behind)
CLOSE_TIMEOUT = 2.0


@dataclass
class _Entry:
    id: int
    message: Message
    #: unknown local users accepted in-session (accept-then-bounce faults): they fail at the first attempt
    unknown_local: list[tuple[str, list[tuple[str, str | None]]]]
    arrived: float  #: time.monotonic() at acceptance
    deferred: dict[str, DeliveryResult] = field(default_factory=dict)  #: address -> its last 4yz result
    attempts: int = 0
    warned: bool = False
    next_retry: float = 0.0


class DeliveryQueue:
    """Queued messages and their timers; idle when nothing runs and nothing is scheduled."""

    def __init__(self, config: TesteeConfig, clock: Callable[[], float] = time.monotonic) -> None:
        self.config = config
        self._clock = clock
        self._cond = threading.Condition()
        self._ids = itertools.count(1)
        self._entries: dict[int, _Entry] = {}  #: every entry with work left, running or scheduled
        self._heap: list[tuple[float, int]] = []  #: (deadline, entry id) of the scheduled entries
        self._threads: set[threading.Thread] = set()  #: delivery workers still running
        self._clients: set[smtplib.SMTP] = set()  #: open SMTP connections (aborted by close)
        self._callbacks: list[Callable[[], None]] = []
        self._scheduler: threading.Thread | None = None
        self._closed = False

    # -- the public side --------------------------------------------------------------
    def submit(self, message: Message, unknown_local: list[tuple[str, list[tuple[str, str | None]]]]) -> None:
        """Queue an accepted message; its first attempt starts now.  Busy from this call on."""
        with self._cond:
            if self._closed:
                return
            entry = _Entry(next(self._ids), message, unknown_local, self._clock())
            self._entries[entry.id] = entry
            self._start(entry)

    def busy(self) -> bool:
        with self._cond:
            return bool(self._entries)

    def wait_idle(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._entries:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._cond.wait(remaining)
            return True

    def on_idle(self, callback: Callable[[], None]) -> Callable[[], None]:
        with self._cond:
            self._callbacks.append(callback)

        def remove() -> None:
            with self._cond:
                if callback in self._callbacks:
                    self._callbacks.remove(callback)

        return remove

    def open(self) -> None:
        with self._cond:
            self._closed = False

    def close(self, timeout: float = CLOSE_TIMEOUT) -> None:
        """Discard all queued work, abort open connections, join the threads (at most *timeout* s in all)."""
        with self._cond:
            self._closed = True
            was_busy = bool(self._entries)
            self._entries.clear()
            self._heap.clear()
            threads = list(self._threads)
            scheduler, self._scheduler = self._scheduler, None
            clients = list(self._clients)
            self._cond.notify_all()
        for client in clients:
            _abort(client)
        deadline = time.monotonic() + timeout
        for thread in threads + ([scheduler] if scheduler is not None else []):
            if thread is not threading.current_thread():
                thread.join(max(0.0, deadline - time.monotonic()))
        if was_busy:
            self._idle()

    # -- scheduling ------------------------------------------------------------------------
    def _start(self, entry: _Entry) -> None:
        """Run one round of *entry* in a worker thread (the lock is held)."""
        thread = threading.Thread(target=self._work, args=(entry,), name=f"testee-delivery-{entry.id}", daemon=True)
        self._threads.add(thread)
        thread.start()

    def _schedule(self, entry: _Entry) -> None:
        """Put *entry* back under its next deadline (the lock is held)."""
        heapq.heappush(self._heap, (self._next_event(entry), entry.id))
        if self._scheduler is None:
            self._scheduler = threading.Thread(target=self._run_scheduler, name="testee-queue", daemon=True)
            self._scheduler.start()
        self._cond.notify_all()

    def _next_event(self, entry: _Entry) -> float:
        cfg = self.config
        times = [entry.next_retry, entry.arrived + cfg.queue_lifetime]
        if not entry.warned and cfg.delay_warning < cfg.queue_lifetime:
            times.append(entry.arrived + cfg.delay_warning)
        return min(times)

    def _run_scheduler(self) -> None:
        with self._cond:
            while not self._closed:
                now = self._clock()
                while self._heap and self._heap[0][0] <= now:
                    _, entry_id = heapq.heappop(self._heap)
                    entry = self._entries.get(entry_id)
                    if entry is not None:
                        self._start(entry)
                self._cond.wait(self._heap[0][0] - now if self._heap else None)

    def _work(self, entry: _Entry) -> None:
        try:
            self._round(entry)
        except Exception:  # a bug must not leave the testee busy for ever
            log.exception("delivery of queued message %s failed", entry.id)
            entry.deferred.clear()
        finally:
            with self._cond:
                self._threads.discard(threading.current_thread())
                idle = False
                if entry.id in self._entries:
                    if entry.deferred and not self._closed:
                        self._schedule(entry)
                    else:
                        del self._entries[entry.id]
                        idle = not self._entries
                        self._cond.notify_all()
            if idle:
                self._idle()

    def _idle(self) -> None:
        with self._cond:
            callbacks = list(self._callbacks)
        for callback in callbacks:  # outside the lock: a callback may call wait_idle or take its own locks
            try:
                callback()
            except Exception:
                log.exception("on_idle callback %r failed", callback)

    # -- one round of delivery work ------------------------------------------------------------
    def _round(self, entry: _Entry) -> None:
        """An attempt (when one is due), then the delay warning or the expiry (when due)."""
        cfg = self.config
        message = entry.message
        expired = self._clock() >= entry.arrived + cfg.queue_lifetime
        if entry.attempts == 0 or self._clock() >= entry.next_retry or expired:
            first = entry.attempts == 0
            rcpts = message.rcpts if first else [(o.address, o.params) for o in entry.deferred.values()]
            results = relay(message, cfg.routes, cfg.hostname, cfg.faults, rcpts=rcpts, connect=self._connect)
            if first:  # accept-then-bounce: unknown local users accepted in-session fail now
                results += [DeliveryResult(a, p, "failed", "5.1.1", "") for a, p in entry.unknown_local]
            entry.attempts += 1
            entry.next_retry = self._clock() + cfg.retry_interval
            entry.deferred = {r.address: r for r in results if r.action == "delayed"}
            final = [r for r in results if r.action != "delayed"]
            if final:
                self._send_dsn(message, final)
        if not entry.deferred:
            return
        age = self._clock() - entry.arrived
        if age >= cfg.queue_lifetime:
            failed = [replace(o, action="failed", status=_final_status(o.status),
                              note=f"delivery time expired: still deferred after {cfg.queue_lifetime:g} s in the queue")
                      for o in entry.deferred.values()]
            entry.deferred = {}
            self._send_dsn(message, failed)
        elif not entry.warned and age >= cfg.delay_warning:
            entry.warned = True
            until = message.received + cfg.queue_lifetime
            self._send_dsn(message, [replace(o, retry_until=until) for o in entry.deferred.values()])

    def _send_dsn(self, message: Message, results: list[DeliveryResult]) -> None:
        if self._closed:
            return
        cfg = self.config
        send_ndr(message, results, cfg.routes, cfg.hostname, cfg.faults, cfg.postmaster_notices,
                 connect=self._connect)

    @contextmanager
    def _connect(self, host: str, port: int) -> Iterator[smtplib.SMTP]:
        """An SMTP connection that ``close`` can abort."""
        client = smtplib.SMTP(timeout=SMTP_TIMEOUT)
        with self._cond:
            if self._closed:
                raise OSError("the testee is stopping")
            self._clients.add(client)
        try:
            code, reply = client.connect(host, port)
            if code != 220:
                client.close()
                raise smtplib.SMTPConnectError(code, reply)
            with client:
                yield client
        finally:
            with self._cond:
                self._clients.discard(client)


def _final_status(status: str) -> str:
    """The Status of a recipient that expired: its last reply's own 4.x.x, else 4.4.7."""
    if status.startswith("4.") and status != "4.0.0":
        return status
    return EXPIRED


def _abort(client: smtplib.SMTP) -> None:
    sock = getattr(client, "sock", None)
    if sock is None:
        return
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
