#!/usr/bin/env python3
"""Benchmark: lint the bounce corpus repeatedly against a bare parse of the same bytes.

Prints messages per second for ``lint_bytes`` and for ``email.message_from_bytes``
(the default compat32 policy), measured in the same run, and their ratio: the
median of several rounds.  The goal is a linter at most 1.5 times the bare parse.

    python bench/lint_corpus.py [--rounds 7] [--corpus DIR]   # default: $MTA_CONFORMANCE_CORPUS or ../shared/corpus
"""

from __future__ import annotations

import argparse
import email
import os
import statistics
import sys
import time
from pathlib import Path

from conformance.ndr.lint import lint_bytes

DEFAULT = Path(os.environ.get("MTA_CONFORMANCE_CORPUS")
               or Path(__file__).resolve().parent.parent.parent / "shared" / "corpus")


def timed(func, messages: list[bytes]) -> float:  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    for raw in messages:
        func(raw)
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=DEFAULT)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--repeat", type=int, default=5, help="passes over the corpus per round")
    args = parser.parse_args()
    files = sorted(args.corpus.glob("*.eml"))
    if not files:
        print(f"no .eml files in {args.corpus}", file=sys.stderr)
        return 2
    messages = [p.read_bytes() for p in files] * args.repeat
    size = sum(len(m) for m in messages)
    bare, lint, ratios = [], [], []
    for _ in range(args.rounds):
        b = timed(email.message_from_bytes, messages)
        lt = timed(lint_bytes, messages)
        bare.append(b)
        lint.append(lt)
        ratios.append(lt / b)
    n = len(messages)
    print(f"corpus: {len(files)} messages x {args.repeat} = {n} per round, {size / 1e6:.1f} MB; {args.rounds} rounds")
    print(f"bare email.message_from_bytes (compat32): median {n / statistics.median(bare):8.0f} msg/s")
    print(f"mta-conformance lint_bytes:              median {n / statistics.median(lint):8.0f} msg/s")
    print(f"ratio lint / bare parse: median {statistics.median(ratios):.2f} "
          f"(min {min(ratios):.2f}, max {max(ratios):.2f}; goal <= 1.5)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
