#!/usr/bin/env python3
"""Benchmark: lint the bounce corpus against a bare parse of the same bytes, and a peer beside it.

Three contenders run on the same messages in every round: a bare
``email.message_from_bytes`` (the default compat32 policy, the baseline),
``lint_bytes``, and flufl.bounce's ``all_failures`` (the peer: Mailman's bounce
detector, given the message as the email package parses it; install it with
``pip install -e '.[bench]'``).  The CPU may be shared with other work, so
what is measured is the process's CPU time (not the wall clock), what counts
is the ratio to the baseline within each round, and the order of the
contenders turns from round to round.  The figure is the median ratio over
the rounds; the goal is a linter at most 1.7 times the bare parse.

    python bench/lint_corpus.py [--rounds 9] [--repeat 3] [--corpus DIR]
    # default corpus: $MTA_CONFORMANCE_CORPUS or ../shared/corpus
"""

from __future__ import annotations

import argparse
import email
import logging
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

from conformance.ndr.lint import lint_bytes

DEFAULT = Path(os.environ.get("MTA_CONFORMANCE_CORPUS")
               or Path(__file__).resolve().parent.parent.parent / "shared" / "corpus")
#: the linter's goal: at most this many times the bare parse
GOAL = 1.7


def peer() -> Callable[[bytes], object] | None:
    """flufl.bounce's all_failures on the parsed bytes, or None when it is not installed.

    Its detectors log (and survive) their own exceptions on odd messages; the
    log is silenced so the figures stay readable.
    """
    try:
        from flufl.bounce import all_failures
    except ImportError:
        return None
    logging.getLogger("flufl.bounce").setLevel(logging.CRITICAL + 1)

    def detect(raw: bytes) -> object:
        try:
            return all_failures(email.message_from_bytes(raw))
        except Exception:  # noqa: BLE001 - a peer's failure on one message is not the bench's
            return None

    return detect


def timed(func: Callable[[bytes], object], messages: list[bytes]) -> float:
    """CPU seconds of this process spent running *func* on each of *messages*."""
    started = time.process_time()
    for raw in messages:
        func(raw)
    return time.process_time() - started


def measure(contenders: dict[str, Callable[[bytes], object]], messages: list[bytes],
            rounds: int) -> dict[str, list[float]]:
    """CPU seconds per round for each contender; the order turns each round so none always runs first."""
    names = list(contenders)
    seconds: dict[str, list[float]] = {name: [] for name in names}
    for number in range(rounds):
        shift = number % len(names)
        for name in names[shift:] + names[:shift]:
            seconds[name].append(timed(contenders[name], messages))
    return seconds


def report(seconds: dict[str, list[float]], count: int) -> None:
    """Messages per second and the ratio to the bare parse (median over rounds, with its spread)."""
    bare = seconds["bare"]
    labels = {"bare": "bare email.message_from_bytes (baseline)", "lint": "mta-conformance lint_bytes",
              "flufl": "flufl.bounce all_failures (peer)"}
    for name, times in seconds.items():
        median = statistics.median(times)
        line = f"{labels[name]:<42} {count / median:8,.0f} msg/s  {median / count * 1e6:7.0f} µs/msg"
        if name != "bare":
            ratios = [t / b for t, b in zip(times, bare, strict=True)]
            line += (f"  ratio {statistics.median(ratios):.2f} x baseline "
                     f"(rounds: {min(ratios):.2f} to {max(ratios):.2f})")
            if name == "lint":
                verdict = "met" if statistics.median(ratios) <= GOAL else "NOT met"
                line += f"; goal <= {GOAL}: {verdict}"
        print(line)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=DEFAULT)
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--repeat", type=int, default=3, help="passes over the corpus per round")
    args = parser.parse_args()
    files = sorted(args.corpus.glob("*.eml"))
    if not files:
        print(f"no .eml files in {args.corpus}", file=sys.stderr)
        return 2
    messages = [p.read_bytes() for p in files] * args.repeat
    contenders: dict[str, Callable[[bytes], object]] = {"bare": email.message_from_bytes, "lint": lint_bytes}
    detect = peer()
    if detect is not None:
        contenders["flufl"] = detect
    for func in contenders.values():  # warm caches and imports outside the timing
        timed(func, messages[: len(files)])
    size = sum(len(m) for m in messages)
    print(f"corpus: {len(files)} messages x {args.repeat} = {len(messages)} per round, "
          f"{size / 1e6:.1f} MB; {args.rounds} rounds")
    report(measure(contenders, messages, args.rounds), len(messages))
    if detect is None:
        print("flufl.bounce is not installed: pip install -e '.[bench]' to see the peer's figure")
    return 0


if __name__ == "__main__":
    sys.exit(main())
