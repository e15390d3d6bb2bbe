#!/usr/bin/env python3
"""Benchmark: after-acceptance cases wait together.

Runs the after-acceptance trial cases (tests/data/trial.mta.yaml) through pytest
against the reference testee, which relays to the harness and bounces to its
sink, and prints the run's wall time next to its slowest case's time, measured in
the same run: with overlapping waits the run takes little more than its slowest
case, not the sum of the quiet periods.  Median of several rounds.

    python bench/after_acceptance.py [--rounds 3] [--quiet-period 4]
"""

from __future__ import annotations

import argparse
import json
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from conformance.testee import Testee, TesteeConfig

CASES = Path(__file__).resolve().parent.parent / "tests" / "data" / "trial.mta.yaml"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def one_round(quiet: float, sequential: bool = False) -> tuple[float, float, float, int]:
    port = free_port()
    routes = {"relay.test": ("127.0.0.1", port), "sender.test": ("127.0.0.1", port)}
    with Testee(TesteeConfig(routes=routes)) as testee, tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        (work / "trial.mta.yaml").write_text(CASES.read_text())
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "trial.mta.yaml",
                        "-k", "trial", f"--mta-host={testee.host}", f"--mta-port={testee.port}",
                        "--mta-known-recipient=alice@local.test", "--mta-sender-domain=sender.test",
                        "--mta-relay-domain=relay.test", f"--mta-harness-listen=127.0.0.1:{port}",
                        f"--mta-quiet-period={quiet}", "--mta-ndr-timeout=30", f"--mta-report-dir={work}",
                        *(["--mta-sequential"] if sequential else [])],
                       cwd=work, capture_output=True, check=False)
        wall = time.perf_counter() - started
        cases = json.loads((work / "results.json").read_text())["cases"]
    durations = [c["duration"] for c in cases]
    return wall, max(durations), sum(durations), sum(c["outcome"] == "passed" for c in cases)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--quiet-period", type=float, default=4.0)
    args = parser.parse_args()
    together, sequential = [], []
    for _ in range(args.rounds):  # interleaved, so both modes see the same machine load
        together.append(one_round(args.quiet_period))
        sequential.append(one_round(args.quiet_period, sequential=True))
    wall = statistics.median(r[0] for r in together)
    base = statistics.median(r[0] for r in sequential)
    slowest = statistics.median(r[1] for r in sequential)
    print(f"{args.rounds} rounds, 4 trial cases (2 wait a {args.quiet_period:g} s quiet period); passed: "
          f"{together[0][3]} together, {sequential[0][3]} sequential")
    print(f"waiting together (default):  median wall {wall:.2f} s (incl. pytest start-up)")
    print(f"--mta-sequential (baseline): median wall {base:.2f} s")
    print(f"slowest single case (sequential run): median {slowest:.2f} s")
    print(f"ratio together / sequential: {wall / base:.2f}; together / slowest case: {wall / slowest:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
