"""Case files as pytest collectors, cases as pytest items.

A malformed case file fails its collection with file:line; each case becomes an
item named by its stable id, marked with its suite and the catalogue checks it
judges, so ``-m``, ``-k`` and ``--lf`` select cases as people expect.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .findings import Outcome
from .report.escape import printable
from .report.render import render_failure
from .run import CaseResult, CaseRunner
from .run.result import fails_run
from .suite.loader import CaseFileError, load_suite
from .suite.model import Case
from .target import TargetSettings

runner_key = pytest.StashKey[CaseRunner]()
settings_key = pytest.StashKey[TargetSettings]()
#: set once the after-acceptance cases of this session have been sent together
prepared_key = pytest.StashKey[bool]()


class CaseFailed(Exception):
    def __init__(self, result: CaseResult) -> None:
        super().__init__(result.summary())
        self.result = result


class CaseFile(pytest.File):
    """A YAML case file; a malformed one fails collection with file:line."""

    def collect(self) -> Iterator[pytest.Item]:
        try:
            suite = load_suite(self.path)
        except CaseFileError as exc:
            raise self.CollectError(f"malformed case file: {exc}") from None
        self.config.addinivalue_line("markers", f"{suite.name}: cases of the {suite.name} suite")
        for case in suite.cases:
            item = CaseItem.from_parent(self, name=case.id, case=case)
            item.add_marker("mta")
            item.add_marker(case.suite)
            for check_id in case.checks:
                item.add_marker(check_id)
            yield item


class CaseItem(pytest.Item):
    """One case: one SMTP session against the target."""

    def __init__(self, *, case: Case, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.case = case
        self.result: CaseResult | None = None

    def runtest(self) -> None:
        runner = self.config.stash[runner_key]
        settings = self.config.stash[settings_key]
        if self.case.waits and not settings.sequential and not self.session.stash.get(prepared_key, False):
            # send every selected after-acceptance case first: their NDR waits then overlap
            self.session.stash[prepared_key] = True
            runner.prepare([item.case for item in self.session.items
                            if isinstance(item, CaseItem) and item.case.waits])
        result = runner.run(self.case)
        self.result = result
        # warning findings are not Python warnings (-W error would turn them into bare tracebacks):
        # the run's report lists them in a section of its own (report/terminal.py)
        if fails_run(result.outcome, settings.strict):
            raise CaseFailed(result)
        if result.outcome in (Outcome.SKIPPED, Outcome.COULD_NOT_TEST, Outcome.INCONCLUSIVE):
            # pytest prints the reason as it is (-rs): it may quote the target, so it is made printable
            raise pytest.skip.Exception(printable(f"{self.case.id}: {result.reason}"), _use_item_location=True)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        if isinstance(excinfo.value, CaseFailed):
            return render_failure(self.case, excinfo.value.result)
        return str(super().repr_failure(excinfo))

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.path, self.case.line - 1, f"case {self.case.id}: {self.case.title}"


def check_unique_case_ids(items: list[pytest.Item]) -> None:
    """Two case files defining one id would make reports and --lf ambiguous: a usage error naming both."""
    seen: dict[str, CaseItem] = {}
    for item in items:
        if isinstance(item, CaseItem):
            other = seen.get(item.case.id)
            if other is not None and other.case.path != item.case.path:
                raise pytest.UsageError(
                    f"mta-conformance: case id {item.case.id!r} is defined twice: "
                    f"{other.case.location} and {item.case.location}")
            seen[item.case.id] = item
