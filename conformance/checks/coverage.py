"""Where each catalogue row is judged: one status per row, in one place (``coverage.yaml``).

A row is judged by shipped cases (``case``), by a check of the NDR linter or the
reply rules (``lint``), by both (``case+lint``), is not covered yet (``not-covered``,
with what is missing) or cannot be judged from outside (``untestable``, with why).
``tests/test_coverage_map.py`` holds the map to the registry and to the code: a
row without a status, or a status that names cases or code that do not emit the
row, fails.  Which cases judge a row is computed from the suites, never written
here twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import yaml

#: the statuses a row may have; the last two need a reason
STATUSES = ("case", "lint", "case+lint", "not-covered", "untestable")


class CoverageError(ValueError):
    """coverage.yaml is malformed; the message names the row at fault."""


@dataclass(frozen=True)
class RowStatus:
    check_id: str
    status: str
    #: what is missing (not-covered) or why it cannot be judged from outside (untestable)
    reason: str = ""

    @property
    def by_case(self) -> bool:
        return self.status in ("case", "case+lint")

    @property
    def by_code(self) -> bool:
        return self.status in ("lint", "case+lint")


def _row(check_id: str, raw: Any) -> RowStatus:
    if not isinstance(raw, dict) or raw.get("status") not in STATUSES:
        raise CoverageError(f"{check_id}: a status is one of {', '.join(STATUSES)}")
    status, reason = raw["status"], raw.get("missing") or raw.get("why") or ""
    if status in ("not-covered", "untestable") and not reason:
        what = "what is missing" if status == "not-covered" else "why"
        raise CoverageError(f"{check_id}: a row that is {status} says {what}")
    return RowStatus(check_id, status, str(reason))


@cache
def coverage() -> dict[str, RowStatus]:
    """Every row's status, in the catalogue's order."""
    text = resources.files("conformance.checks").joinpath("coverage.yaml").read_text(encoding="utf-8")
    data = yaml.safe_load(text)
    if not isinstance(data, dict):
        raise CoverageError("coverage.yaml maps check ids to their status")
    return {str(check_id): _row(str(check_id), raw) for check_id, raw in data.items()}
