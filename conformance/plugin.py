"""pytest plugin: options, YAML case collection, case items, reporting.

Inert unless ``--mta-host`` (or ``MTA_HOST`` / ini ``mta_host``) is set, so
installing the package never changes somebody's ordinary pytest run.  With a
host, the shipped suites are collected along with any ``*.mta.yaml`` files.

State lives in ``config.stash`` under typed keys, as pytest's own plugins do.
"""

from __future__ import annotations

import contextlib
import json
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any, Iterator

import pytest

from .checks.registry import REGISTRY
from .exitcodes import ExitCode
from .findings import Outcome
from .progress import Progress, terminal_progress
from .report.junit import write_report
from .runner import CaseResult, CaseRunner, ProbeResult
from .suite.loader import CaseFileError, load_suite
from .suite.locate import is_case_file, shipped_suites_dir
from .suite.model import Case
from .target import OPTIONS, SettingError, TargetSettings, resolve

settings_key = pytest.StashKey[TargetSettings]()
harness_key = pytest.StashKey["HarnessHolder"]()
prepared_key = pytest.StashKey[bool]()
runner_key = pytest.StashKey[CaseRunner]()


class CaseFailed(Exception):
    def __init__(self, result: CaseResult) -> None:
        super().__init__(result.summary())
        self.result = result


# -- options ------------------------------------------------------------------

def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("mta-conformance", "MTA bounce-behaviour conformance (exit status: 0 conformant, "
                            "1 non-conformant, 4 usage error, 5 nothing selected, 75 could not test)")
    for spec in OPTIONS:
        env_note = f" [env {spec.env}, ini {spec.name}]"
        if spec.flag:
            group.addoption(spec.option, action="store_true", default=None, dest=spec.name,
                            help=spec.help + env_note)
        else:
            group.addoption(spec.option, action="store", default=None, dest=spec.name,
                            metavar=spec.metavar, help=spec.help + env_note)
        parser.addini(spec.name, spec.help, default="")


def _settings_from(config: pytest.Config) -> TargetSettings:
    cli = {spec.name: config.getoption(spec.name) for spec in OPTIONS}
    ini = {spec.name: config.getini(spec.name) for spec in OPTIONS}
    return resolve(cli, ini)


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    try:
        settings = _settings_from(config)
    except SettingError as exc:
        raise pytest.UsageError(f"mta-conformance: {exc}") from None
    config.stash[settings_key] = settings
    config.addinivalue_line("markers", "mta: a case of the mta-conformance suites")
    if not settings.active:
        return
    for check in REGISTRY:
        config.addinivalue_line("markers", f"{check.id}: cases judging catalogue check {check.id} ({check.section})")
    for suite_dir in sorted(p for p in shipped_suites_dir().iterdir() if p.is_dir()):
        config.addinivalue_line("markers", f"{suite_dir.name}: cases of the shipped {suite_dir.name} suite")
    workerinput = getattr(config, "workerinput", {})
    worker_spool = workerinput.get("mta_harness_spool")
    embedded = _embedded_target(config)
    holder = HarnessHolder(settings, worker_spool=Path(worker_spool) if worker_spool else None,
                           adopted=embedded.harness if embedded is not None else None)
    if not _is_worker(config) and settings.harness_listen and getattr(config.option, "numprocesses", None):
        # under pytest-xdist the controller owns the one harness the target routes to
        import tempfile

        holder.spool = Path(tempfile.mkdtemp(prefix="mta-conformance-spool-"))
        try:
            holder.mailbox()
        except HarnessUnavailable:
            pass  # every case that needs it will say why
    config.stash[harness_key] = holder
    runner = CaseRunner(settings, mailbox=holder.mailbox)
    if "mta_probe" in workerinput:  # one probe per run: the controller's, handed to every worker
        runner._probe = ProbeResult(**json.loads(workerinput["mta_probe"]))
    config.stash[runner_key] = runner
    if not _is_worker(config):
        config.pluginmanager.register(RunRecorder(config, settings), "mta-conformance-recorder")
    if config.args_source is not pytest.Config.ArgsSource.ARGS:
        # no path on the command line: the shipped suites only, never whatever testpaths or the
        # current folder hold (a clone of this repository would collect its own tests)
        config.args[:] = [str(shipped_suites_dir())]


def _embedded_target(config: pytest.Config) -> Any:
    """The in-process testee and harness of ``mta-conformance run --testee``, if this is that run.

    Only that run imports conformance.embedded; any other run must not pay for importing the testee.
    """
    embedded = sys.modules.get("conformance.embedded")
    if embedded is None:
        return None
    return next((p for p in config.pluginmanager.get_plugins() if isinstance(p, embedded.EmbeddedTarget)), None)


class HarnessUnavailable(RuntimeError):
    pass


class HarnessHolder:
    """The harness's servers, started on the first case that needs them.

    The target routes to one fixed address, so there is one harness per run;
    in-session runs (no route options) never start it.
    """

    def __init__(self, settings: TargetSettings, spool: Path | None = None, worker_spool: Path | None = None,
                 adopted: Any = None) -> None:
        self.settings = settings
        self.harness: Any = None
        self.error: str | None = None
        self.spool = spool  #: the controller writes captured transactions here for xdist workers
        self.worker_spool = worker_spool  #: a worker reads the controller's spool instead of listening
        self.adopted = adopted  #: a harness already listening (the embedded run's), used instead of starting one

    def mailbox(self) -> Any:
        if self.worker_spool is not None:
            from .harness.mailbox import SpoolMailbox

            if self.harness is None:
                self.harness = SpoolMailbox(self.worker_spool)
            return self.harness
        if self.adopted is not None:
            if self.spool is not None and self.adopted.mailbox.spool is None:
                self.spool.mkdir(parents=True, exist_ok=True)
                self.adopted.mailbox.spool = self.spool
            return self.adopted.mailbox
        if self.harness is None and self.error is None:
            from .harness.servers import Harness, HarnessConfig

            s = self.settings
            if s.harness_listen is None:
                self.error = "no harness address: set --mta-harness-listen"
            else:
                config = HarnessConfig(
                    host=s.harness_listen[0], dsn_port=s.harness_listen[1],
                    plain_port=s.harness_plain_listen[1] if s.harness_plain_listen else 0,
                    sender_domain=s.sender_domain or "sender.invalid",
                    relay_domain=s.relay_domain or "relay.invalid",
                    plain_relay_domain=s.plain_relay_domain or "plain-relay.invalid", spool=self.spool)
                harness = Harness(config)
                try:
                    harness.start()
                    self.harness = harness
                except Exception as exc:  # noqa: BLE001 - a clear message, not a traceback
                    harness.stop()
                    self.error = f"cannot start the harness on {s.harness_listen[0]}:{s.harness_listen[1]}: {exc}"
        if self.error:
            raise HarnessUnavailable(self.error)
        return self.harness.mailbox

    def stop(self) -> None:
        if self.harness is not None and self.worker_spool is None:
            self.harness.stop()
        self.harness = None


def pytest_unconfigure(config: pytest.Config) -> None:
    holder = config.stash.get(harness_key, None)
    if holder is not None:
        holder.stop()


def pytest_report_header(config: pytest.Config) -> list[str]:
    settings = config.stash.get(settings_key, None)
    if settings is None or not settings.active:
        return []
    lines = ["mta-conformance target settings:"]
    lines += settings.header_lines()
    if not settings.known_recipient and settings.control_recipient:
        lines.append(f"  control probe: <{settings.control_recipient}> (no --mta-known-recipient: postmaster must "
                     f"be accepted, RFC 5321 §4.5.1; cases that deliver a message are skipped)")
    return lines


# -- collection ---------------------------------------------------------------

def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    settings = parent.config.stash.get(settings_key, None)
    if settings is None or not settings.active:
        return None
    if is_case_file(file_path):
        return CaseFile.from_parent(parent, path=file_path)
    return None


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
        # the run's report lists them in a section of its own (RunRecorder.pytest_terminal_summary)
        if result.outcome in (Outcome.SKIPPED, Outcome.COULD_NOT_TEST):
            raise pytest.skip.Exception(f"{self.case.id}: {result.reason}", _use_item_location=True)
        if result.outcome is Outcome.FAILED:
            raise CaseFailed(result)
        if result.outcome is Outcome.INCONCLUSIVE:
            if settings.strict:
                raise CaseFailed(result)  # --mta-strict: no verdict is not good enough
            raise pytest.skip.Exception(f"{self.case.id}: {result.reason}", _use_item_location=True)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        if isinstance(excinfo.value, CaseFailed):
            return render_failure(self.case, excinfo.value.result)
        return str(super().repr_failure(excinfo))

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.path, self.case.line - 1, f"case {self.case.id}: {self.case.title}"


def render_failure(case: Case, result: CaseResult) -> str:
    lines = [f"{case.id}: {case.title}", f"  defined at {case.location}"]
    if case.refs:
        lines.append(f"  refs: {', '.join(case.refs)}")
    lines.append("")
    for error in result.errors:
        lines.append(f"  ERROR {error}")
    for f in sorted(result.findings, key=lambda f: -f.severity):
        lines.append(f"  {f.render()}")
    if result.reason:
        lines.append(f"  {result.reason}")
    if result.transcript:
        lines += ["", "SMTP transcript (-> sent, <- received, === harness note):", result.transcript]
    return "\n".join(lines)


# -- reporting ----------------------------------------------------------------

def _record(item: CaseItem, report: pytest.TestReport) -> dict[str, Any]:
    result = item.result
    outcome: str = report.outcome
    if result is not None and result.outcome in (Outcome.INCONCLUSIVE, Outcome.COULD_NOT_TEST) and report.skipped:
        outcome = str(result.outcome)
    record: dict[str, Any] = {
        "case_id": item.case.id,
        "suite": item.case.suite,
        "title": item.case.title,
        "checks": list(item.case.checks),
        "refs": list(item.case.refs),
        "outcome": outcome,
        #: the runner's verdict (an inconclusive case fails under --mta-strict)
        "verdict": str(result.outcome) if result is not None else outcome,
        "duration": report.duration,
    }
    if result is not None:
        record.update(
            findings=[{"check_id": f.check_id, "severity": str(f.severity), "message": f.message,
                       "where": str(f.where), "location": f.where.as_dict(), "refs": list(f.refs), "rendered": f.render()} for f in result.findings],
            transcript=result.transcript,
            token=result.token,
            reason=result.reason,
        )
        if outcome == "failed":
            record["failure_message"] = _failure_message(item.case, result)
    elif report.failed:
        record["outcome"] = "error"
        record["failure_message"] = str(report.longrepr)
    if report.skipped and "reason" not in record or (report.skipped and not record.get("reason")):
        longrepr = report.longrepr
        record["reason"] = longrepr[2] if isinstance(longrepr, tuple) else str(longrepr)
    return record


def _failure_message(case: Case, result: CaseResult) -> str:
    settings_strict = False  # the runner already applied strictness to the outcome
    parts = list(result.errors)
    for f in result.failing_findings(settings_strict) or result.findings:
        parts.append(f.render())
    if result.reason:
        parts.append(result.reason)
    return "\n".join(parts) or f"{case.id} failed"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[Any]:
    outcome: Any = yield
    report: pytest.TestReport = outcome.get_result()
    if isinstance(item, CaseItem) and report.when == "call":
        report.mta_case = _record(item, report)  # type: ignore[attr-defined]


def pytest_report_teststatus(report: pytest.TestReport, config: pytest.Config) -> tuple[str, str, Any] | None:
    record = getattr(report, "mta_case", None)
    if record and report.when == "call":
        if record.get("outcome") == "inconclusive":
            return "inconclusive", "I", ("INCONCLUSIVE", {"yellow": True})
        if record.get("outcome") == "could-not-test":
            return "could-not-test", "C", ("COULD NOT TEST", {"yellow": True})
    return None


def _is_worker(config: pytest.Config) -> bool:
    return hasattr(config, "workerinput")


class RunRecorder:
    """Collects case records from every report (all xdist workers' too), probes the target once
    per run, writes the run's reports and decides its exit status; registered on the controller only."""

    def __init__(self, config: pytest.Config, settings: TargetSettings) -> None:
        self.config = config
        self.settings = settings
        self.records: list[dict[str, Any]] = []
        self.started = time.time()

    @property
    def runner(self) -> CaseRunner:
        return self.config.stash[runner_key]

    @property
    def collect_only(self) -> bool:
        return bool(self.config.option.collectonly)

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionstart(self, session: pytest.Session) -> None:
        reporter = self.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None and not self.collect_only:
            self.runner.progress = _terminal_progress(reporter)
        # one probe session per run, before any case and before xdist starts its workers
        if not self.collect_only:
            self.runner.probe()

    @pytest.hookimpl(tryfirst=True)
    def pytest_collection(self, session: pytest.Session) -> None:
        """Say first, in one line, when the target cannot be tested (after pytest's header, even under -q)."""
        reason = self.could_not_test()
        reporter = self.config.pluginmanager.get_plugin("terminalreporter")
        if reason and reporter is not None:
            s = self.settings
            reporter.ensure_newline()
            reporter.write_line(f"mta-conformance: COULD NOT TEST {s.host}:{s.port}: {reason}", yellow=True,
                                bold=True)

    @pytest.hookimpl(optionalhook=True)  # a pytest-xdist hook: without xdist installed it is never called
    def pytest_configure_node(self, node: Any) -> None:
        """Hand each xdist worker the controller's probe and harness spool."""
        probe = self.runner.probed
        if probe is not None:
            node.workerinput["mta_probe"] = json.dumps(asdict(probe))
        holder = self.config.stash[harness_key]
        if holder.spool is not None:
            node.workerinput["mta_harness_spool"] = str(holder.spool)

    def could_not_test(self) -> str | None:
        """Why nothing about the target could be judged (the probe failed), or None."""
        probe = self.runner.probed
        return probe.error if probe is not None else None

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        record = getattr(report, "mta_case", None)
        if record is not None:
            self.records.append(record)

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if report.failed and report.nodeid.endswith(".yaml"):
            self.records.append({
                "case_id": report.nodeid.rsplit("/", 1)[-1],
                "suite": "collection",
                "outcome": "error",
                "failure_message": str(report.longrepr),
                "duration": 0.0,
            })

    def properties(self) -> dict[str, str]:
        s = self.settings
        props = {
            "target": f"{s.host}:{s.port}",
            "profile": str(s.profile),
            "strict": str(s.strict).lower(),
            "starttls": str(s.starttls),
            "helo": s.helo,
            "sender": s.sender,
            "known_recipient": s.known_recipient or "",
            "control_recipient": s.control_recipient or "",
            "local_domain": s.local_domain or "",
        }
        probe = self.runner.probed
        if probe is not None:
            props["greeting"] = probe.greeting
            props["ehlo_capabilities"] = " ".join(sorted(probe.capabilities))
            if probe.error:
                props["run_error"] = probe.error
                props["could_not_test"] = probe.error
        return props

    def verdict(self) -> tuple[ExitCode, str]:
        """The run's exit status and the sentence that explains it."""
        outcomes = [record["outcome"] for record in self.records]
        failed = sum(o in ("failed", "error") for o in outcomes)
        judged = sum(o in ("passed", "failed") for o in outcomes)
        reason = self.could_not_test() or next(
            (record["reason"].removeprefix("could not test: ") for record in self.records
             if record["outcome"] == "could-not-test"), None)
        if failed:
            return ExitCode.NON_CONFORMANT, f"NON-CONFORMANT: {failed} case(s) failed"
        if reason:
            return ExitCode.COULD_NOT_TEST, f"COULD NOT TEST: {reason}"
        if not judged:
            return ExitCode.COULD_NOT_TEST, ("COULD NOT TEST: no selected case could be judged "
                                             "(each was skipped, inconclusive or could not test; reasons above)")
        return ExitCode.CONFORMANT, f"CONFORMANT: {judged} case(s) judged, none failed"

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        self.runner.progress.close()
        if self.collect_only or not self.records:
            return  # nothing was run: the reports of an earlier run stay as they were
        report_dir = self.settings.report_dir
        properties = self.properties()
        properties["verdict"] = self.verdict()[1]
        report_dir.mkdir(parents=True, exist_ok=True)
        write_report(report_dir / "junit.xml", self.records, properties, self.started,
                     time.time() - self.started)
        (report_dir / "results.json").write_text(
            json.dumps({"properties": properties, "cases": self.records}, indent=1), encoding="utf-8")
        status = int(session.exitstatus)
        if status in (ExitCode.CONFORMANT, ExitCode.NON_CONFORMANT):
            # pytest says 1 for any failed test (the user's own too); the suite adds 75 and keeps 1 over it
            code, _ = self.verdict()
            session.exitstatus = max(ExitCode(status), code, key=_PRECEDENCE.index)

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if self.collect_only:
            return
        s = self.settings
        warned = [(record["case_id"], f) for record in self.records for f in record.get("findings", [])
                  if f["severity"] == "warning"]
        if warned and not s.strict:
            terminalreporter.write_sep("-", "mta-conformance warnings (they fail a case only under --mta-strict)")
            for case_id, f in warned:
                terminalreporter.write_line(f"{case_id}: {f['rendered']}")
        undecided = [record for record in self.records if record["outcome"] == "inconclusive"]
        if undecided:
            terminalreporter.write_sep("-", "mta-conformance inconclusive (a failure under --mta-strict)")
            for record in undecided:
                terminalreporter.write_line(f"INCONCLUSIVE {record['case_id']}: {record.get('reason', '')}")
        counts: dict[str, int] = {}
        for record in self.records:
            counts[record["outcome"]] = counts.get(record["outcome"], 0) + 1
        shown = ", ".join(f"{n} {k}" for k, n in sorted(counts.items())) or "no cases ran"
        terminalreporter.write_sep("-", "mta-conformance")
        terminalreporter.write_line(f"target {s.host}:{s.port}, profile {s.profile}"
                                    f"{', strict' if s.strict else ''}: {shown}")
        if self.records:
            code, sentence = self.verdict()
            terminalreporter.write_line(f"{sentence} (exit status {int(code)})",
                                        red=code is ExitCode.NON_CONFORMANT,
                                        yellow=code is ExitCode.COULD_NOT_TEST, green=code is ExitCode.CONFORMANT)
            terminalreporter.write_line(f"reports: {s.report_dir / 'junit.xml'}, {s.report_dir / 'results.json'}")


def _terminal_progress(reporter: Any) -> Progress:
    """A live status line on a terminal, one line per long wait elsewhere (never from xdist workers)."""
    writer = reporter._tw  # pytest's TerminalWriter
    capture = reporter.config.pluginmanager.getplugin("capturemanager")

    def uncaptured() -> Any:
        """Waits happen inside a test call, where pytest captures the output: step outside it."""
        return capture.global_and_fixture_disabled() if capture is not None else contextlib.nullcontext()

    def draw(status: str) -> None:
        # ESC 7 / ESC 8 save and restore the cursor: the status sits after pytest's progress dots, is
        # erased (ESC [K) in place, and is cut to the room left so it never wraps onto another line
        with uncaptured():  # (the terminal's width, too, is known only outside the capture)
            room = writer.fullwidth - writer.width_of_current_line - 5
            shown = f"  [{status[:room]}]" if status and room > 10 else ""
            writer._file.write(f"\x1b7\x1b[K{shown}\x1b8")
            writer._file.flush()

    def write_line(text: str) -> None:
        with uncaptured():
            reporter.ensure_newline()
            reporter.write_line(text)

    return terminal_progress(draw, writer.hasmarkup and writer._file.isatty(), write_line)


#: which exit status wins when several apply
_PRECEDENCE = [ExitCode.CONFORMANT, ExitCode.COULD_NOT_TEST, ExitCode.NON_CONFORMANT]


def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    seen: dict[str, CaseItem] = {}
    for item in items:
        if isinstance(item, CaseItem):
            other = seen.get(item.case.id)
            if other is not None and other.case.path != item.case.path:
                raise pytest.UsageError(
                    f"mta-conformance: case id {item.case.id!r} is defined twice: "
                    f"{other.case.location} and {item.case.location}"
                )
            seen[item.case.id] = item
