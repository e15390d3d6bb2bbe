"""Benchmark: the README's main job, `mta-conformance run --testee`, end to end.

Runs the whole shipped suite against the embedded testee and harness, in
rounds, in each mode: the default (after-acceptance cases sent first, waits
ending when the testee has settled) and the --mta-sequential baseline (each
case judged right after its own dialogue), interleaved so both see the same
machine load.  Prints medians and the ratio.

    python bench/embedded_run.py [--rounds 5]
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

MODES = {"default": [], "sequential": ["--mta-sequential"]}


def one_run(extra: list[str]) -> tuple[float, dict[str, int]]:
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "conformance.cli", "run", "--testee", "--", "-q", "-p",
                        "no:cacheprovider", f"--mta-report-dir={tmp}", *extra],
                       cwd=tmp, capture_output=True, check=False)
        wall = time.perf_counter() - started
        counts: dict[str, int] = {}
        for case in json.loads((Path(tmp) / "results.json").read_text())["cases"]:
            counts[case["outcome"]] = counts.get(case["outcome"], 0) + 1
    return wall, counts


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    walls: dict[str, list[float]] = {mode: [] for mode in MODES}
    counts: dict[str, dict[str, int]] = {}
    for _ in range(args.rounds):
        for mode, extra in MODES.items():
            wall, counts[mode] = one_run(extra)
            walls[mode].append(wall)
    median = {mode: statistics.median(values) for mode, values in walls.items()}
    for mode in MODES:
        shown = ", ".join(f"{n} {k}" for k, n in sorted(counts[mode].items()))
        print(f"{mode:<11} median wall {median[mode]:6.2f} s (min {min(walls[mode]):.2f}, max "
              f"{max(walls[mode]):.2f}) over {args.rounds} rounds, incl. start-up; {shown}")
    print(f"ratio default / sequential: {median['default'] / median['sequential']:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
