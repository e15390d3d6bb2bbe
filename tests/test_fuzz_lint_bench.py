"""bench/fuzz_lint.py's mutate-and-lint step, run in-process on the lab's NDRs: no failure inside.

The bench runs a million inputs on the corpus and prints their times; this
smoke test runs a few hundred from the project's own fixtures with a fixed
seed, so a mutation that breaks the bench, or an input that makes the linter
fail inside, shows up in the suite.  Times are never asserted here.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

from conformance.ndr.message import _sub_parts
from conformance.ndr.nested import split_parts

BENCH = Path(__file__).resolve().parent.parent / "bench" / "fuzz_lint.py"
_SPEC = importlib.util.spec_from_file_location("fuzz_lint", BENCH)
assert _SPEC is not None and _SPEC.loader is not None
fuzz_lint = importlib.util.module_from_spec(_SPEC)
sys.modules["fuzz_lint"] = fuzz_lint
_SPEC.loader.exec_module(fuzz_lint)

FIXTURES = sorted((Path(__file__).resolve().parent / "data" / "lab-ndrs").rglob("*.eml"))


def test_300_mutated_lab_ndrs_lint_without_failing_inside() -> None:
    bases = [(p.name, p.read_bytes()) for p in FIXTURES]
    assert bases
    outcomes = [fuzz_lint.fuzz_one(bases, fuzz_lint.input_seed(7, i)) for i in range(300)]
    failed = [(o.seed, o.describe(), o.errors) for o in outcomes if o.errors]
    assert failed == []
    assert {o.mutations[0].split(":")[0] for o in outcomes} >= {"flip", "nest", "split_param", "encode_part"}


def test_a_seed_rebuilds_the_same_input() -> None:
    bases = [(p.name, p.read_bytes()) for p in FIXTURES]
    assert fuzz_lint.build(bases, 12345) == fuzz_lint.build(bases, 12345)


def test_a_multipart_body_without_its_boundary_has_no_parts() -> None:
    """Found by the bench: a body naming a boundary it never uses made split_parts fail inside."""
    assert split_parts(b"no delimiter here\r\n--other--\r\n", "b1", 1) == []
    assert _sub_parts(b"no delimiter here\r\n--other--\r\n", "b1") == []
