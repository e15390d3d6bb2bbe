#!/usr/bin/env python3
"""Benchmark: each lab MTA's bounce latency, from which the real-MTA tests set their waits.

Starts each lab MTA (as root, like the tests), sends messages its backscatter
listener accepts for an unknown local user, and its strict listener for a
recipient the next hop refuses, and times each from the end of DATA (the 250)
to the NDR at a sink on the MTA's bounce route.  Prints the median and maximum
of the rounds per MTA and scenario next to the quiet period tests/realmta sets
(three times the assumed latency, at least 5 s): a quiet period below a
target's latency lets a backscatter NDR arrive after its verdict.

    python bench/bounce_latency.py [--rounds 5] [MTA ...]
"""

from __future__ import annotations

import argparse
import smtplib
import statistics
import sys
import threading
import time
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
import realmta  # noqa: E402


class Sink:
    """Next hop and bounce sink in one: refuses rej-rcpt.* at RCPT, records when each NDR arrives."""

    def __init__(self) -> None:
        self.arrived: dict[str, float] = {}
        self.event = threading.Condition()

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: list[str]) -> str:
        if address.startswith("rej-rcpt"):
            return "550 5.1.1 no such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if envelope.mail_from in ("", "<>"):
            with self.event:
                for rcpt in envelope.rcpt_tos:
                    self.arrived[rcpt.lower()] = time.monotonic()
                self.event.notify_all()
        return "250 OK"

    def wait(self, sender: str, deadline: float) -> float | None:
        with self.event:
            while sender not in self.arrived:
                left = deadline - time.monotonic()
                if left <= 0 or not self.event.wait(left):
                    return self.arrived.get(sender)
            return self.arrived[sender]


def one(mta: realmta.RealMTA, sink: Sink, port: int, rcpt: str, n: int) -> float | None:
    sender = f"lat{n}-{time.monotonic_ns()}@sender.test"
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
        client.ehlo("bench.test")
        client.sendmail(sender, [rcpt], f"Subject: latency {n}\r\n\r\nbody\r\n")
        accepted = time.monotonic()  # DATA's 250 (before QUIT, which an NDR may beat)
    arrived = sink.wait(sender, accepted + 60)
    return None if arrived is None else arrived - accepted


def measure(name: str, rounds: int) -> None:
    ports = realmta.new_ports()
    sink = Sink()
    servers = [Controller(sink, hostname="127.0.0.1", port=p) for p in (ports.relay, ports.plain_relay)]
    for server in servers:
        server.start()
    mta = realmta.KINDS[name](ports)
    try:
        mta.start()
        for label, port, rcpt in (("unknown local user", ports.backscatter, "nosuch@local.test"),
                                  ("next hop refuses", ports.strict, "rej-rcpt.x@relay.test")):
            times = [one(mta, sink, port, rcpt, n) for n in range(rounds)]
            got = [t for t in times if t is not None]
            lost = len(times) - len(got)
            figures = (f"median {statistics.median(got):5.2f} s, max {max(got):5.2f} s" if got else "no NDR")
            print(f"{mta.label:10} {label:19} {figures}{f', {lost} lost' if lost else ''}  "
                  f"(tests assume {mta.timing.bounce_latency:g} s: quiet period {mta.timing.quiet_period:g} s)",
                  flush=True)
    finally:
        mta.stop()
        mta.cleanup()
        for server in servers:
            server.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("mtas", nargs="*", metavar="MTA", help=f"any of {', '.join(realmta.KINDS)} (default: all)")
    args = parser.parse_args()
    unknown = [name for name in args.mtas if name not in realmta.KINDS]
    if unknown:
        parser.error(f"unknown MTA {unknown[0]!r}: choose from {', '.join(realmta.KINDS)}")
    args.mtas = args.mtas or list(realmta.KINDS)
    try:
        for name in args.mtas:
            measure(name, args.rounds)
    finally:
        realmta.remove_state_base()
    return 0


if __name__ == "__main__":
    sys.exit(main())
