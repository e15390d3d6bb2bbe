"""The run's records, its reports and its exit status; on the xdist controller (or the only process).

Every case's record arrives here from its report (all xdist workers' too); at
the end of the session the JUnit file and results.json are written and the
exit status is decided: 1 when a case failed, else 75 when nothing could be
judged, else 0.

A run stopped by Ctrl-C (SIGINT) or SIGTERM still writes its reports, with the
cases judged so far and a top-level ``"interrupted"`` naming the signal: SIGTERM
is turned into pytest's own KeyboardInterrupt path (exit status 2), so a CI job
killed at its time limit leaves what it had judged.  Only this process (the
xdist controller, or the only one) handles it; workers are stopped by it.
"""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from dataclasses import asdict
from typing import Any

import pytest

from ..exitcodes import ExitCode
from ..findings import Finding
from ..run import CaseRunner
from ..target import TargetSettings
from . import evidence
from .escape import printable, printable_tree
from .junit import write_report
from .records import CaseRecord, collection_error_record, finding_record
from .terminal import terminal_progress_for, write_summary

_NOT_STARTED = " before this case started"  #: the end of a could-not-test reason of the run's deadline
#: which exit status wins when several apply
PRECEDENCE = [ExitCode.CONFORMANT, ExitCode.COULD_NOT_TEST, ExitCode.NON_CONFORMANT]


def run_verdict(records: list[CaseRecord], could_not_test: str | None) -> tuple[ExitCode, str]:
    """The run's exit status and the sentence that explains it."""
    failed = sum(r.outcome in ("failed", "error") for r in records)
    judged = sum(r.outcome in ("passed", "failed") for r in records)
    reason = could_not_test or next(
        (r.reason.removeprefix("could not test: ") for r in records if r.outcome == "could-not-test"), None)
    if reason and reason.endswith(_NOT_STARTED):  # the run's deadline: say how many cases it left out
        late = sum(r.reason.endswith(_NOT_STARTED) for r in records)
        reason = f"{reason.removesuffix(_NOT_STARTED)} before {late} case(s) started"
    if failed:
        return ExitCode.NON_CONFORMANT, f"NON-CONFORMANT: {failed} case(s) failed"
    if reason:
        return ExitCode.COULD_NOT_TEST, f"COULD NOT TEST: {reason}"
    if not judged:
        return ExitCode.COULD_NOT_TEST, ("COULD NOT TEST: no selected case could be judged "
                                         "(each was skipped, inconclusive or could not test; reasons above)")
    return ExitCode.CONFORMANT, f"CONFORMANT: {judged} case(s) judged, none failed"


class RunRecorder:
    """Probes the target once per run, collects the records, writes the reports, decides the exit status."""

    def __init__(self, config: pytest.Config, settings: TargetSettings, runner: CaseRunner,
                 spool: Any = None) -> None:
        self.config = config
        self.settings = settings
        self.runner = runner
        self.spool = spool  #: the harness spool handed to xdist workers (a Path), if any
        self.records: list[CaseRecord] = []
        #: findings about the run, not about one case (what reached the harness that no case claims); never a failure
        self.run_findings: list[Finding] = []
        self.started = time.time()
        #: the signal that stopped the run ("SIGINT", "SIGTERM"), or None
        self.interrupted: str | None = None
        self._old_sigterm: Any = None

    @property
    def collect_only(self) -> bool:
        return bool(self.config.option.collectonly)

    def reporter(self) -> Any:
        return self.config.pluginmanager.get_plugin("terminalreporter")

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionstart(self, session: pytest.Session) -> None:
        if self.collect_only:
            return
        if self.reporter() is not None:
            self.runner.progress = terminal_progress_for(self.reporter())
        self.catch_sigterm()
        self.runner.probe()  # one probe session per run, before any case and before xdist starts its workers

    def catch_sigterm(self) -> None:
        """Turn SIGTERM into an orderly stop: pytest's KeyboardInterrupt path, which ends with the reports.

        A second SIGTERM is not caught: it ends the process as usual.  Only the main
        thread may set a handler (a run embedded in another program's thread keeps its own).
        """
        if threading.current_thread() is not threading.main_thread():
            return

        def stop(signum: int, frame: Any) -> None:
            signal.signal(signal.SIGTERM, self._old_sigterm)
            self._old_sigterm = None
            self.interrupted = "SIGTERM"
            raise KeyboardInterrupt("SIGTERM")

        self._old_sigterm = signal.signal(signal.SIGTERM, stop)

    def pytest_keyboard_interrupt(self, excinfo: pytest.ExceptionInfo[BaseException]) -> None:
        if self.interrupted is None:
            self.interrupted = "SIGINT"

    def pytest_unconfigure(self, config: pytest.Config) -> None:
        if self._old_sigterm is not None:
            signal.signal(signal.SIGTERM, self._old_sigterm)
            self._old_sigterm = None

    @pytest.hookimpl(tryfirst=True)
    def pytest_collection(self, session: pytest.Session) -> None:
        """Say first, in one line, when the target cannot be tested (after pytest's header, even under -q)."""
        reason, reporter = self.could_not_test(), self.reporter()
        if reason and reporter is not None:
            reporter.ensure_newline()
            reporter.write_line(printable(f"mta-conformance: COULD NOT TEST {self.settings.host}:"
                                          f"{self.settings.port}: {reason}"), yellow=True, bold=True)

    @pytest.hookimpl(optionalhook=True)  # a pytest-xdist hook: without xdist installed it is never called
    def pytest_configure_node(self, node: Any) -> None:
        """Hand each xdist worker the controller's probe, harness spool and harness addresses (ports bound)."""
        probe = self.runner.probed
        if probe is not None:
            node.workerinput["mta_probe"] = json.dumps(asdict(probe))
        left = self.runner.deadline_left()
        if left is not None:
            node.workerinput["mta_deadline_left"] = left
        if self.spool is not None:
            node.workerinput["mta_harness_spool"] = str(self.spool)
            node.workerinput["mta_harness_bound"] = json.dumps([self.settings.harness_listen,
                                                                self.settings.harness_plain_listen])

    def could_not_test(self) -> str | None:
        """Why nothing about the target could be judged (the probe failed), or None."""
        probe = self.runner.probed
        return printable(probe.error) if probe is not None and probe.error else None

    @pytest.hookimpl(tryfirst=True)  # kept before the terminal shows it: a stop right after still reports it
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        record = getattr(report, "mta_case", None)
        if record is not None:
            self.records.append(CaseRecord.from_dict(record))

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if report.failed and report.nodeid.endswith(".yaml"):
            self.records.append(collection_error_record(report.nodeid, str(report.longrepr)))

    def properties(self) -> dict[str, str]:
        s = self.settings
        props = {"target": f"{s.host}:{s.port}", "profile": str(s.profile), "strict": str(s.strict).lower(),
                 "starttls": str(s.starttls), "helo": s.helo, "sender": s.sender,
                 "known_recipient": s.known_recipient or "", "control_recipient": s.control_recipient or "",
                 "local_domain": s.local_domain or ""}
        probe = self.runner.probed
        if probe is not None:
            props["greeting"] = printable(probe.greeting)  # the target's words, escaped
            props["ehlo_capabilities"] = printable(" ".join(sorted(probe.capabilities)))
            error = self.could_not_test()
            if error:
                props["run_error"] = error
                props["could_not_test"] = error
        return props

    def verdict(self) -> tuple[ExitCode, str]:
        return run_verdict(self.records, self.could_not_test())

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        self.runner.progress.close()
        if self.collect_only or not (self.records or self.interrupted):
            return  # nothing was run: the reports of an earlier run stay as they were
        self.write_reports()
        status = int(session.exitstatus)
        if status in (ExitCode.CONFORMANT, ExitCode.NON_CONFORMANT):
            # pytest says 1 for any failed test (the user's own too); the suite adds 75 and keeps 1 over it
            code, _ = self.verdict()
            session.exitstatus = max(ExitCode(status), code, key=PRECEDENCE.index)

    def write_reports(self) -> None:
        report_dir = self.settings.report_dir
        properties = self.properties()
        properties["verdict"] = self.verdict()[1]
        report_dir.mkdir(parents=True, exist_ok=True)
        evidence.clear(report_dir)
        for record in self.records:
            evidence.write_captured(report_dir, record.messages)
        cases = [record.report_dict() for record in self.records]
        if self.interrupted:
            properties["interrupted"] = self.interrupted
            properties["verdict"] = (f"INTERRUPTED by {self.interrupted}: only the cases that ended before it are "
                                     f"here (so far: {properties['verdict']})")
        junit_part = report_dir / "junit.xml.part"
        write_report(junit_part, cases, properties, self.started, time.time() - self.started)
        results: dict[str, Any] = {"properties": properties, "cases": cases,
                                   "run_findings": [finding_record(f) for f in self.run_findings]}
        if self.interrupted:
            results["interrupted"] = self.interrupted
        # every string made printable once more: no raw control character or lone surrogate in the file
        results_part = report_dir / "results.json.part"
        results_part.write_text(json.dumps(printable_tree(results), indent=1), encoding="utf-8")
        # each report appears whole or not at all: a second signal while writing leaves the old one
        os.replace(junit_part, report_dir / "junit.xml")
        os.replace(results_part, report_dir / "results.json")

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if not self.collect_only:
            write_summary(terminalreporter, self.settings, self.records, self.verdict() if self.records else None,
                          self.interrupted)
