"""The row-status map (conformance/checks/coverage.yaml) against the registry, the suites and the code.

Every catalogue row has one status; a row said to be judged by cases is emitted by
some shipped case, a row said to be judged by the linter or the reply rules is
emitted by their code, and a row said to be not covered or untestable is emitted
by nothing (else the map is out of date).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from conformance.checks.coverage import STATUSES, CoverageError, _row, coverage
from conformance.checks.registry import REGISTRY
from conformance.suite.loader import load_suite
from conformance.suite.locate import shipped_case_files
from conformance.suite.model import Case

PACKAGE = Path(__file__).resolve().parent.parent / "conformance"
#: the code that emits findings by literal check id: the NDR judge, the live judge, the reply rules
EMITTING_CODE = [*sorted((PACKAGE / "ndr").glob("*.py")), *sorted((PACKAGE / "run").glob("*.py")),
                 PACKAGE / "smtp" / "rules.py"]
CHECK_ID = re.compile(r'"([A-Z0-9]+(?:-[A-Z]+)?-\d{3})"')


def emitted_by(case: Case) -> set[str]:
    """The check ids a case can emit: its expectations', NDR, report and relay specs' checks."""
    out: set[str] = set()
    for step in case.steps:
        out.update(e.check for e in step.expectations if e.check)
        if step.disconnect_allowed:
            out.add(step.disconnect_check or "SMTP-REJ-013")
    if case.ndr is not None:
        out.update({case.ndr.check, case.ndr.extra_check, *(r.check for r in case.ndr.reports)})
    if case.relayed is not None:
        out.add(case.relayed.check)
    return out


@pytest.fixture(scope="module")
def by_cases() -> set[str]:
    return {check for path in shipped_case_files() for case in load_suite(path).cases for check in emitted_by(case)}


@pytest.fixture(scope="module")
def by_code() -> set[str]:
    return {check for path in EMITTING_CODE for check in CHECK_ID.findall(path.read_text(encoding="utf-8"))}


def test_every_row_has_one_status() -> None:
    assert list(coverage()) == [check.id for check in REGISTRY]


def test_rows_judged_by_cases_are_emitted_by_a_case(by_cases: set[str]) -> None:
    assert sorted(r.check_id for r in coverage().values() if r.by_case and r.check_id not in by_cases) == []


def test_rows_judged_by_code_are_emitted_by_it(by_code: set[str]) -> None:
    assert sorted(r.check_id for r in coverage().values() if r.by_code and r.check_id not in by_code) == []


def test_rows_said_uncovered_are_emitted_by_nothing(by_cases: set[str], by_code: set[str]) -> None:
    stale = sorted(r.check_id for r in coverage().values()
                   if r.status in ("not-covered", "untestable") and r.check_id in by_cases | by_code)
    assert stale == [], "these rows are judged now: give them their status"


def test_uncovered_rows_say_why() -> None:
    assert all(r.reason for r in coverage().values() if r.status in ("not-covered", "untestable"))
    assert coverage()["DSN-FMT-009"].status == "lint"  # the live judge holds it to the EHLO name


@pytest.mark.parametrize(("raw", "message"), [
    ({"status": "judged"}, "a status is one of " + ", ".join(STATUSES)),
    ({"status": "not-covered"}, "X-001: a row that is not-covered says what is missing"),
    ({"status": "untestable"}, "X-001: a row that is untestable says why"),
    ("case", "a status is one of"),
])
def test_a_malformed_row_is_named(raw: object, message: str) -> None:
    with pytest.raises(CoverageError, match=re.escape(message)):
        _row("X-001", raw)
