"""A case's record: what the reports (JUnit, results.json, the terminal summary) say about it.

Records travel as plain dicts on pytest's reports, so that under pytest-xdist
the controller can write one file from all workers' reports; :class:`CaseRecord`
is their typed form on either side.  A record carries its case's captured
messages (``messages``) to that process, which saves them (:mod:`.evidence`);
the reports name the files (``captured``) and never hold the bytes.  Text from
the target or a case file is made printable here (:mod:`.escape`), and each
writer makes sure of it again where it writes.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any

from ..findings import Finding, Outcome
from ..run.result import CaseResult
from ..suite.model import Case
from .escape import printable
from .evidence import captured_files, message_entries
from .render import pointed_at


def finding_record(f: Finding) -> dict[str, Any]:
    """A finding for machine-readable reports: the location both rendered and in its parts."""
    return {"check_id": f.check_id, "severity": str(f.severity), "message": printable(f.message),
            "where": printable(str(f.where)), "location": f.where.as_dict(), "refs": list(f.refs),
            "rendered": printable(f.render())}


@dataclass
class CaseRecord:
    """One case as the reports show it."""

    case_id: str
    suite: str
    #: passed, failed, skipped, inconclusive, could-not-test, or error (a collection or internal error)
    outcome: str
    duration: float = 0.0
    title: str = ""
    checks: list[str] = field(default_factory=list)
    refs: list[str] = field(default_factory=list)
    #: the runner's verdict (an inconclusive case fails under --mta-strict, so it may differ from outcome)
    verdict: str = ""
    findings: list[dict[str, Any]] = field(default_factory=list)
    transcript: str = ""
    token: str = ""
    reason: str = ""
    failure_message: str = ""
    #: the saved NDRs and relayed copies, relative to the report folder (``captured/<case>/1.eml``...)
    captured: list[str] = field(default_factory=list)
    #: the captured messages themselves, on their way to the process that saves them (see evidence.py)
    messages: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def report_dict(self) -> dict[str, Any]:
        """The record as the reports show it: the saved files named, not the bytes."""
        data = self.to_dict()
        data.pop("messages")
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CaseRecord:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


def case_record(case: Case, result: CaseResult | None, pytest_outcome: str, duration: float,
                longrepr: str, skip_reason: str) -> CaseRecord:
    """The record of one case item's call: from the runner's result, or from pytest's report when there is none."""
    outcome = pytest_outcome
    if result is not None and result.outcome in (Outcome.INCONCLUSIVE, Outcome.COULD_NOT_TEST) \
            and pytest_outcome == "skipped":
        outcome = str(result.outcome)
    record = CaseRecord(case_id=printable(case.id), suite=printable(case.suite), outcome=outcome, duration=duration,
                        title=printable(case.title),
                        checks=list(case.checks), refs=list(case.refs),
                        verdict=str(result.outcome) if result is not None else outcome)
    if result is not None:
        record.findings = [finding_record(f) for f in result.findings]
        record.transcript, record.token = printable(result.transcript), result.token
        record.reason = printable(result.reason)
        record.messages = message_entries(case.id, result.messages, result.started, result.transcript)
        record.captured = captured_files(record.messages)
        if outcome == "failed":
            section = pointed_at(case.id, result)
            message = "\n".join([result.summary() or f"{case.id} failed", *([""] + section if section else [])])
            record.failure_message = printable(message)
    elif pytest_outcome == "failed":
        record.outcome, record.failure_message = "error", printable(longrepr)
    if pytest_outcome == "skipped" and not record.reason:
        record.reason = printable(skip_reason)
    return record


def collection_error_record(nodeid: str, longrepr: str) -> CaseRecord:
    """A case file that could not be loaded: an error in the reports, named by its file."""
    return CaseRecord(case_id=printable(nodeid.rsplit("/", 1)[-1]), suite="collection", outcome="error",
                      failure_message=printable(longrepr))
