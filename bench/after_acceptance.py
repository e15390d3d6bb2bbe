#!/usr/bin/env python3
"""Benchmark: after-acceptance cases wait together.

Runs the shipped after-acceptance suite (pytest -m after-acceptance) against a
target that relays to the harness and bounces to its sink: the reference testee,
or real Postfix or Exim from lab/ (as root, like the tests).  Prints the run's
wall time waiting together (the default), with pytest -n 4, and with
--mta-sequential (the baseline), next to the slowest case's own time, all
measured in the same rounds: with overlapping waits the run takes little more
than its slowest case, not the sum of the waits.  Medians of several rounds.

    python bench/after_acceptance.py [--target testee|postfix|exim] [--rounds 3] [--quiet-period 4]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from conformance.serving import free_port
from conformance.testee import Testee, TesteeConfig

TESTS = Path(__file__).resolve().parent.parent / "tests"


class Target:
    """Where the suite runs: host, port and the harness ports the target routes to."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.mta = None
        if kind == "testee":
            # the harness listens in each pytest run, on ports the testee must route to from the start
            self.dsn, self.plain = free_port(), free_port()
            routes = {"relay.test": ("127.0.0.1", self.dsn), "sender.test": ("127.0.0.1", self.dsn),
                      "plain-relay.test": ("127.0.0.1", self.plain)}
            self.testee = Testee(TesteeConfig(routes=routes))
            self.testee.start()
            self.host, self.port = self.testee.host, self.testee.port
        else:
            sys.path.insert(0, str(TESTS))
            from realmta import EximInstance, PostfixInstance, new_ports

            self.mta = (PostfixInstance if kind == "postfix" else EximInstance)(new_ports())
            self.mta.start()
            ports = self.mta.ports
            self.host, self.port, self.dsn, self.plain = "127.0.0.1", ports.strict, ports.relay, ports.plain_relay

    def close(self) -> None:
        if self.mta is not None:
            self.mta.stop()
            self.mta.cleanup()
        else:
            self.testee.stop()


def one_round(target: Target, quiet: float, mode: str) -> tuple[float, float, int, int]:
    extra = {"together": [], "sequential": ["--mta-sequential"], "xdist": ["-n", "4"]}[mode]
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-m", "after-acceptance",
                        f"--mta-host={target.host}", f"--mta-port={target.port}",
                        "--mta-known-recipient=alice@local.test", "--mta-sender-domain=sender.test",
                        "--mta-relay-domain=relay.test", "--mta-plain-relay-domain=plain-relay.test",
                        f"--mta-harness-listen=127.0.0.1:{target.dsn}",
                        f"--mta-harness-plain-listen=127.0.0.1:{target.plain}",
                        f"--mta-quiet-period={quiet}", "--mta-ndr-timeout=30", f"--mta-report-dir={work}", *extra],
                       cwd=work, capture_output=True, check=False)
        wall = time.perf_counter() - started
        cases = json.loads((work / "results.json").read_text())["cases"]
    durations = [c["duration"] for c in cases]
    return wall, max(durations), sum(c["outcome"] == "passed" for c in cases), len(cases)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--quiet-period", type=float, default=4.0)
    parser.add_argument("--target", choices=("testee", "postfix", "exim"), default="testee")
    args = parser.parse_args()
    target = Target(args.target)
    runs: dict[str, list[tuple[float, float, int, int]]] = {"together": [], "xdist": [], "sequential": []}
    try:
        for _ in range(args.rounds):  # interleaved, so every mode sees the same machine load
            for mode, results in runs.items():
                results.append(one_round(target, args.quiet_period, mode))
    finally:
        target.close()
    wall = {mode: statistics.median(r[0] for r in results) for mode, results in runs.items()}
    slowest = statistics.median(r[1] for r in runs["sequential"])
    first = runs["together"][0]
    print(f"{args.target}: {args.rounds} rounds, {first[3]} after-acceptance cases, quiet period "
          f"{args.quiet_period:g} s; passed: " + ", ".join(f"{m} {r[0][2]}" for m, r in runs.items()))
    print(f"waiting together (default):  median wall {wall['together']:.2f} s (incl. pytest start-up)")
    print(f"pytest -n 4:                 median wall {wall['xdist']:.2f} s")
    print(f"--mta-sequential (baseline): median wall {wall['sequential']:.2f} s")
    print(f"slowest single case (sequential run): median {slowest:.2f} s")
    print(f"ratios: together / sequential {wall['together'] / wall['sequential']:.2f}, "
          f"together / slowest case {wall['together'] / slowest:.2f}, -n 4 / slowest case "
          f"{wall['xdist'] / slowest:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
