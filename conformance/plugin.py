"""pytest plugin: the wiring between pytest and the suite.

Inert unless ``--mta-host`` (or ``MTA_HOST`` / ini ``mta_host``) is set, so
installing the package never changes somebody's ordinary pytest run.  With a
host, the shipped suites are collected along with any ``*.mta.yaml`` files.

Each concern has its own home; this module only hooks them into pytest:
options and settings (``target.py``), items (``collect.py``), the harness's
lifetime (``harness/holder.py``), running cases (``run/``), records, reports
and the exit status (``report/``).  State lives in ``config.stash`` under typed
keys, as pytest's own plugins do.
"""

from __future__ import annotations

import json
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from .checks.registry import REGISTRY
from .collect import CaseFile, CaseItem, check_unique_case_ids, runner_key, settings_key
from .report.records import case_record
from .run import CaseRunner, ProbeResult
from .suite.locate import is_case_file, shipped_suites_dir
from .target import OPTIONS, SettingError, TargetSettings, resolve

if TYPE_CHECKING:
    from .harness.holder import HarnessHolder
    from .harness.servers import Harness

harness_key = pytest.StashKey["HarnessHolder"]()


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
    try:
        return resolve(cli, ini)
    except SettingError as exc:
        raise pytest.UsageError(f"mta-conformance: {exc}") from None


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    settings = _settings_from(config)
    config.stash[settings_key] = settings
    config.addinivalue_line("markers", "mta: a case of the mta-conformance suites")
    if not settings.active:
        return
    for check in REGISTRY:
        config.addinivalue_line("markers", f"{check.id}: cases judging catalogue check {check.id} ({check.section})")
    for suite_dir in sorted(p for p in shipped_suites_dir().iterdir() if p.is_dir()):
        config.addinivalue_line("markers", f"{suite_dir.name}: cases of the shipped {suite_dir.name} suite")
    holder = _harness_holder(config, settings)
    config.stash[harness_key] = holder
    settings = config.stash[settings_key] = _bound_ports(config, holder, settings)
    workerinput = getattr(config, "workerinput", None)
    runner = CaseRunner(settings, mailbox=holder.source)
    if workerinput is None:
        from .report.recorder import RunRecorder

        config.pluginmanager.register(RunRecorder(config, settings, runner, holder.spool), "mta-conformance-recorder")
    elif "mta_probe" in workerinput:  # one probe per run: the controller's, handed to every worker
        runner.adopt_probe(ProbeResult(**json.loads(workerinput["mta_probe"])))
    if workerinput is not None and workerinput.get("mta_deadline_left") is not None:
        runner.adopt_deadline(float(workerinput["mta_deadline_left"]))  # the controller's deadline, not a later one
    config.stash[runner_key] = runner
    if config.args_source is not pytest.Config.ArgsSource.ARGS:
        # no path on the command line: the shipped suites only, never whatever testpaths or the
        # current folder hold (a clone of this repository would collect its own tests)
        config.args[:] = [str(shipped_suites_dir())]


def _harness_holder(config: pytest.Config, settings: TargetSettings) -> HarnessHolder:
    """The harness for this process: the embedded run's, a worker's view of the spool, or one started on demand."""
    from .harness.holder import HarnessHolder, HarnessUnavailable
    from .harness.servers import HarnessConfig

    s = settings
    harness_config = None if s.harness_listen is None else HarnessConfig(
        host=s.harness_listen[0], dsn_port=s.harness_listen[1],
        plain_port=s.harness_plain_listen[1] if s.harness_plain_listen else 0,
        plain_host=s.harness_plain_listen[0] if s.harness_plain_listen else None,
        sender_domain=s.sender_domain or "sender.invalid", relay_domain=s.relay_domain or "relay.invalid",
        plain_relay_domain=s.plain_relay_domain or "plain-relay.invalid")
    worker_spool = getattr(config, "workerinput", {}).get("mta_harness_spool")
    holder = HarnessHolder(harness_config, missing="no harness address: set --mta-harness-listen",
                           worker_spool=Path(worker_spool) if worker_spool else None,
                           adopted=_embedded_harness(config))
    if not hasattr(config, "workerinput") and settings.harness_listen and getattr(config.option, "numprocesses",
                                                                                  None):
        # under pytest-xdist the controller owns the one harness the target routes to
        holder.spool = Path(tempfile.mkdtemp(prefix="mta-conformance-spool-"))
        try:
            holder.mailbox()
        except HarnessUnavailable:
            pass  # every case that needs it will say why
    return holder


def _bound_ports(config: pytest.Config, holder: HarnessHolder, settings: TargetSettings) -> TargetSettings:
    """With port 0 asked, the harness starts now: the header and the route control name the port it bound.

    An xdist worker takes its controller's ports.
    """
    bound = getattr(config, "workerinput", {}).get("mta_harness_bound")
    if bound:
        return settings.with_bound_ports(*json.loads(bound))
    if hasattr(config, "workerinput") or config.option.collectonly or not settings.binds_free_port:
        return settings
    listening = holder.start_now()
    return settings.with_bound_ports(*listening) if listening else settings


def _embedded_harness(config: pytest.Config) -> Harness | None:
    """The in-process harness of ``mta-conformance run --testee``, if this is that run.

    Only that run imports conformance.embedded; any other run must not pay for importing the testee.
    """
    embedded = sys.modules.get("conformance.embedded")
    if embedded is None:
        return None
    target = next((p for p in config.pluginmanager.get_plugins() if isinstance(p, embedded.EmbeddedTarget)), None)
    return target.harness if target is not None else None


@pytest.hookimpl(hookwrapper=True)
def pytest_sessionfinish(session: pytest.Session) -> Iterator[None]:
    """Before the reports are written: what reached the harness that no case claims, as the run's findings."""
    recorder = session.config.pluginmanager.get_plugin("mta-conformance-recorder")
    if recorder is not None and not recorder.collect_only:
        from .run.unclaimed import harness_findings

        holder = session.config.stash.get(harness_key, None)
        recorder.run_findings.extend(harness_findings(holder, [r.token for r in recorder.records]))
    yield


def pytest_unconfigure(config: pytest.Config) -> None:
    holder = config.stash.get(harness_key, None)
    if holder is not None:
        holder.stop()


def pytest_report_header(config: pytest.Config) -> list[str]:
    settings = config.stash.get(settings_key, None)
    if settings is None or not settings.active:
        return []
    lines = ["mta-conformance target settings:", *settings.header_lines()]
    if not settings.known_recipient and settings.control_recipient:
        lines.append(f"  control probe: <{settings.control_recipient}> (no --mta-known-recipient: postmaster must "
                     f"be accepted, RFC 5321 §4.5.1; cases that deliver a message are skipped)")
    return lines


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    settings = parent.config.stash.get(settings_key, None)
    if settings is None or not settings.active or not is_case_file(file_path):
        return None
    return CaseFile.from_parent(parent, path=file_path)


def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    check_unique_case_ids(items)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[Any]:
    holder = item.config.stash.get(harness_key, None)
    if isinstance(item, CaseItem) and call.when == "call" and item.result is not None and holder is not None:
        item.result.messages = holder.claim(item.result.token)  # before the failure page that shows them
    outcome: Any = yield
    report: pytest.TestReport = outcome.get_result()
    if isinstance(item, CaseItem) and report.when == "call":
        longrepr = report.longrepr
        skip_reason = longrepr[2] if isinstance(longrepr, tuple) else str(longrepr)
        record = case_record(item.case, item.result, report.outcome, report.duration, str(longrepr), skip_reason)
        report.mta_case = record.to_dict()  # type: ignore[attr-defined]


def pytest_report_teststatus(report: pytest.TestReport, config: pytest.Config) -> tuple[str, str, Any] | None:
    record = getattr(report, "mta_case", None)
    if record and report.when == "call":
        if record.get("outcome") == "inconclusive":
            return "inconclusive", "I", ("INCONCLUSIVE", {"yellow": True})
        if record.get("outcome") == "could-not-test":
            return "could-not-test", "C", ("COULD NOT TEST", {"yellow": True})
    return None
