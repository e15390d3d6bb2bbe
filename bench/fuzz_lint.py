#!/usr/bin/env python3
"""Benchmark: the linter on a million mutated bounces, for speed, stalls and failures inside.

Every NDR a target sends is linted inside the run, so the linter must never
fail inside (``LintResult.internal_errors``) nor let an exception escape
``lint_bytes``, and no input may stall it.  Real bounces are mutated
(bench/fuzz_mutations.py: flipped bytes, truncation, duplicated or deleted
lines, control bytes and long runs, swapped header values, changed types and
boundaries, nesting, base64/QP parts, RFC 2047 words, RFC 2231 sections, long
lines) and each mutation is linted once; only ``lint_bytes`` is timed.

Input *i* of a run with ``--seed S`` is built from ``random.Random(S * 2**32 + i)``
alone, so the seed printed beside a slow or failing input rebuilds it:
``--replay SEED [--save-dir DIR]``.  The exit status is 1 when any input
failed inside the linter.

    python bench/fuzz_lint.py [--count 1000000] [--jobs N] [--seed 0] [--slow-threshold 0.2]
                              [--save-dir DIR] [--corpus DIR]
    # default corpus: $MTA_CONFORMANCE_CORPUS or ../shared/corpus, read in place
"""

from __future__ import annotations

import argparse
import heapq
import importlib.util
import multiprocessing
import os
import random
import sys
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fuzz_mutations import mutate  # noqa: E402

from conformance.ndr.lint import lint_bytes  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
DEFAULT = Path(os.environ.get("MTA_CONFORMANCE_CORPUS") or ROOT.parent / "shared" / "corpus")
FIXTURES = ROOT / "tests" / "data" / "lab-ndrs"
#: a corpus message larger than this is left out (the mutations grow inputs; the linter's own cap is tested elsewhere)
MAX_BASE = 1_000_000
CHUNK = 500
SHOWN = 10
#: how many slow inputs a worker keeps per chunk, beyond the slowest SHOWN
KEPT_SLOW = 200

Base = tuple[str, bytes]


@dataclass
class Outcome:
    """One mutated input linted: what it came from, how long ``lint_bytes`` took, and what failed inside."""

    seed: int
    base: str
    mutations: list[str]
    size: int
    seconds: float
    errors: list[str] = field(default_factory=list)

    def describe(self) -> str:
        return f"{self.base}; " + "; then ".join(self.mutations)


@dataclass
class Tally:
    """What a chunk (or the whole run) found: counts, the slowest inputs, every failure."""

    inputs: int = 0
    lint_seconds: float = 0.0
    slowest: list[tuple[float, int, Outcome]] = field(default_factory=list)
    slow: int = 0
    failures: list[Outcome] = field(default_factory=list)

    def add(self, outcome: Outcome, threshold: float) -> None:
        self.inputs += 1
        self.lint_seconds += outcome.seconds
        if outcome.seconds > threshold:
            self.slow += 1
        entry = (outcome.seconds, outcome.seed, outcome)
        if len(self.slowest) < KEPT_SLOW:
            heapq.heappush(self.slowest, entry)
        elif entry[:2] > self.slowest[0][:2]:
            heapq.heapreplace(self.slowest, entry)
        if outcome.errors:
            self.failures.append(outcome)

    def merge(self, other: Tally) -> None:
        self.inputs += other.inputs
        self.lint_seconds += other.lint_seconds
        self.slow += other.slow
        self.failures.extend(other.failures)
        for entry in other.slowest:
            if len(self.slowest) < KEPT_SLOW:
                heapq.heappush(self.slowest, entry)
            elif entry[:2] > self.slowest[0][:2]:
                heapq.heapreplace(self.slowest, entry)


def input_seed(run_seed: int, index: int) -> int:
    return run_seed * 2**32 + index


def build(bases: list[Base], seed: int) -> tuple[bytes, str, list[str]]:
    """The input *seed* names: a base drawn from *bases*, then its mutations, all from ``Random(seed)``."""
    rng = random.Random(seed)
    name, data = bases[rng.randrange(len(bases))]
    mutated, said = mutate(data, rng)
    return mutated, name, said


def fuzz_one(bases: list[Base], seed: int) -> Outcome:
    """Build input *seed*, lint it once, and say what failed inside (an escaped exception counts)."""
    data, name, said = build(bases, seed)
    errors: list[str] = []
    start = time.perf_counter()
    try:
        result = lint_bytes(data, source=f"seed {seed}")
    except Exception as exc:  # noqa: BLE001 - the bench reports what the linter let escape
        seconds = time.perf_counter() - start
        where = traceback.extract_tb(exc.__traceback__)[-1]
        errors.append(f"escaped lint_bytes: {type(exc).__name__}: {exc} "
                      f"({Path(where.filename).name}:{where.lineno})")
    else:
        seconds = time.perf_counter() - start
        errors.extend(f"internal error: {e}" for e in result.internal_errors)
    return Outcome(seed, name, said, len(data), seconds, errors)


def load_bases(corpus: Path) -> tuple[list[Base], str]:
    """The messages to mutate and a line saying where they came from (the corpus, else our fixtures)."""
    if corpus.is_dir():
        files = sorted(p for p in corpus.rglob("*.eml") if p.is_file() and p.stat().st_size <= MAX_BASE)
        if files:
            return ([(str(p.relative_to(corpus)), p.read_bytes()) for p in files],
                    f"{len(files)} messages of the corpus at {corpus}")
    bases = [(str(p.relative_to(ROOT)), p.read_bytes()) for p in sorted(FIXTURES.rglob("*.eml"))]
    spec = importlib.util.spec_from_file_location("lint_pathological", ROOT / "bench" / "lint_pathological.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    bases += [(f"pathological: {name}", raw) for name, raw in module.inputs(20_000).items()]
    return bases, (f"no corpus at {corpus}: {len(bases)} messages of tests/data/lab-ndrs and "
                   "bench/lint_pathological.py instead")


_BASES: list[Base] = []
_THRESHOLD = 0.2


def _init(bases: list[Base], threshold: float) -> None:
    global _THRESHOLD
    _BASES[:] = bases
    _THRESHOLD = threshold


def run_chunk(span: tuple[int, int, int]) -> Tally:
    """Inputs *first* to *last* (excluded) of a run with seed *run_seed*, in a worker."""
    run_seed, first, last = span
    tally = Tally()
    for index in range(first, last):
        tally.add(fuzz_one(_BASES, input_seed(run_seed, index)), _THRESHOLD)
    return tally


def run(bases: list[Base], args: argparse.Namespace) -> tuple[Tally, float]:
    """Lint ``args.count`` inputs on ``args.jobs`` processes, a progress line on stderr every few seconds."""
    spans = [(args.seed, first, min(first + CHUNK, args.count)) for first in range(0, args.count, CHUNK)]
    total = Tally()
    start = last_said = time.perf_counter()
    with multiprocessing.Pool(args.jobs, initializer=_init, initargs=(bases, args.slow_threshold)) as pool:
        for tally in pool.imap_unordered(run_chunk, spans):
            total.merge(tally)
            now = time.perf_counter()
            if now - last_said >= 5:
                last_said = now
                print(f"{total.inputs:,}/{args.count:,} inputs, {total.inputs / (now - start):,.0f}/s, "
                      f"{total.slow} slow, {len(total.failures)} failed inside", file=sys.stderr, flush=True)
    return total, time.perf_counter() - start


def save(bases: list[Base], directory: Path, outcomes: list[tuple[str, Outcome]]) -> None:
    """Write each input named by *outcomes* (rebuilt from its seed) as an .eml file in *directory*."""
    directory.mkdir(parents=True, exist_ok=True)
    for label, outcome in outcomes:
        data, _, _ = build(bases, outcome.seed)
        (directory / f"{label}-seed-{outcome.seed}.eml").write_bytes(data)


def summary(total: Tally, wall: float, threshold: float) -> list[str]:
    """The lines a person reads at the end: figures, the slowest inputs, every failure inside."""
    lines = [f"inputs:           {total.inputs:,}",
             f"wall time:        {wall:,.1f} s",
             f"inputs/s:         {total.inputs / wall:,.0f} (wall clock, all jobs)" if wall else "inputs/s: -",
             f"lint time:        {total.lint_seconds:,.1f} s in lint_bytes, "
             f"{total.lint_seconds / max(1, total.inputs) * 1e3:.2f} ms per input",
             f"slow (> {threshold} s): {total.slow:,}",
             f"internal errors:  {len(total.failures)} input(s) (must be 0)",
             f"slowest {SHOWN}:"]
    for seconds, _, outcome in heapq.nlargest(SHOWN, total.slowest):
        lines.append(f"  {seconds:8.3f} s  seed {outcome.seed}  {outcome.size:,} bytes  {outcome.describe()}")
    for outcome in sorted(total.failures, key=lambda o: o.seed):
        lines.append(f"FAILED INSIDE  seed {outcome.seed}  {outcome.describe()}")
        lines.extend(f"    {error}" for error in outcome.errors)
    return lines


def replay(bases: list[Base], seed: int, save_dir: Path | None) -> int:
    """Rebuild and lint the one input *seed* names, print what it is and what happened."""
    outcome = fuzz_one(bases, seed)
    print(f"seed {seed}: {outcome.describe()}\n{outcome.size:,} bytes linted in {outcome.seconds:.3f} s")
    for error in outcome.errors:
        print(f"    {error}")
    if save_dir is not None:
        save(bases, save_dir, [("replay", outcome)])
    return 1 if outcome.errors else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=1_000_000, help="inputs to lint (default 1,000,000)")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="worker processes")
    parser.add_argument("--seed", type=int, default=0, help="the run's seed (default 0)")
    parser.add_argument("--slow-threshold", type=float, default=0.2, help="seconds that make an input slow")
    parser.add_argument("--save-dir", type=Path, help="write slow and failing inputs there as .eml files")
    parser.add_argument("--corpus", type=Path, default=DEFAULT, help=f"bounces to mutate (default {DEFAULT})")
    parser.add_argument("--replay", type=int, metavar="SEED", help="lint only the input this seed names")
    args = parser.parse_args(argv)
    if args.count < 1 or args.jobs < 1:
        parser.error("--count and --jobs must be at least 1")
    bases, origin = load_bases(args.corpus)
    print(f"bases: {origin}", file=sys.stderr)
    if args.replay is not None:
        return replay(bases, args.replay, args.save_dir)
    total, wall = run(bases, args)
    print("\n".join(summary(total, wall, args.slow_threshold)))
    if args.save_dir is not None:
        slow = [("slow", o) for s, _, o in total.slowest if s > args.slow_threshold]
        save(bases, args.save_dir, slow + [("failed", o) for o in total.failures])
        print(f"saved {len(slow) + len(total.failures)} input(s) in {args.save_dir}")
    return 1 if total.failures else 0


if __name__ == "__main__":
    sys.exit(main())
