"""The whole shipped suite against the five lab MTAs, strict and backscatter listener each.

Each MTA listens on a strict port (unknown users refused at RCPT) and a
backscatter port (accepted and bounced later), and routes the harness's domains
to the harness (relay.test to its DSN port, plain-relay.test to its port
without DSN, sender.test to its sink).  The suites run in a separate pytest
process exactly as a user runs them, and every case's verdict (outcome and the
ids of its error and warning findings) is asserted against
``lab/<mta>/expected-<listener>.yaml``, which says why for each verdict that is
not a clean pass; the README's verdict table is made from the same files.
The waits are set from each MTA's measured bounce latency (realmta.Timing).
"""

from __future__ import annotations

import importlib.util
import json
import os
import socket
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest
from conftest import Lab
from realmta import KINDS, KNOWN_RECIPIENT, RealMTA, new_ports

pytestmark = pytest.mark.realmta
ROOT = Path(__file__).resolve().parent.parent


def _tool() -> ModuleType:
    spec = importlib.util.spec_from_file_location("lab_verdicts", ROOT / "tools" / "lab_verdicts.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["lab_verdicts"] = module
    spec.loader.exec_module(module)
    return module


lab_verdicts = _tool()
LISTENERS = [(name, mode) for name in KINDS for mode in ("strict", "backscatter")]


def route_options(mta: RealMTA) -> list[str]:
    """Where the MTA routes the harness's domains, and waits set from its bounce latency."""
    ports, timing = mta.ports, mta.timing
    return ["--mta-sender-domain=sender.test", "--mta-relay-domain=relay.test",
            "--mta-plain-relay-domain=plain-relay.test", f"--mta-harness-listen=127.0.0.1:{ports.relay}",
            f"--mta-harness-plain-listen=127.0.0.1:{ports.plain_relay}",
            f"--mta-ndr-timeout={timing.ndr_timeout:g}", f"--mta-quiet-period={timing.quiet_period:g}"]


def run_suite(port: int, report_dir: Path, *extra: str) -> dict[str, dict]:
    """Run the shipped suites against 127.0.0.1:*port*; return case id -> record."""
    cmd = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q",
           "--mta-host=127.0.0.1", f"--mta-port={port}", f"--mta-known-recipient={KNOWN_RECIPIENT}",
           f"--mta-report-dir={report_dir}", "--mta-timeout=10", *extra]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=report_dir, timeout=600,
                          env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"})
    assert proc.returncode in (0, 1), proc.stdout[-3000:] + proc.stderr[-3000:]
    data = json.loads((report_dir / "results.json").read_text())
    return {record["case_id"]: record for record in data["cases"]}


def _differences(expected: dict, observed: dict) -> list[str]:
    lines = []
    for case_id in sorted(set(expected) | set(observed)):
        want, got = expected.get(case_id), observed.get(case_id)
        if want is None:
            lines.append(f"{case_id}: ran ({got.short()}) but has no expected verdict")
        elif got is None:
            lines.append(f"{case_id}: expected {want.short()} but the case did not run")
        elif want.key() != got.key():
            lines.append(f"{case_id}: expected {want.short()}, got {got.short()}")
    return lines


@pytest.mark.parametrize(("name", "mode"), LISTENERS, ids=[f"{n}-{m}" for n, m in LISTENERS])
def test_verdicts(lab: Lab, name: str, mode: str, tmp_path: Path) -> None:
    mta = lab.get(name)
    port = mta.strict_port if mode == "strict" else mta.backscatter_port
    # the opt-in slow pair on the strict listener only: its delay timeout lies between the
    # MTA's first delay notice and its queue lifetime
    slow = [f"--mta-delay-timeout={mta.timing.delay_timeout:g}"] if mode == "strict" else []
    records = run_suite(port, tmp_path, *route_options(mta), *slow)
    expected = lab_verdicts.load(mta.install_name, mode)
    observed = lab_verdicts.observed({"cases": list(records.values())})
    assert lab_verdicts.missing_reasons(expected) == []
    differences = _differences(expected.cases, observed)
    assert not differences, (f"{len(differences)} verdicts differ from {expected.path.relative_to(ROOT)} "
                             f"(results kept in {tmp_path}):\n" + "\n".join(differences))
    # the junit report names every case
    junit = (tmp_path / "junit.xml").read_text()
    for case_id in records:
        assert f'name="{case_id}"' in junit


def test_readme_verdict_table_is_made_from_the_expected_files() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert readme == lab_verdicts.readme_with_table(readme), "run: python tools/lab_verdicts.py --write"


def test_every_listener_has_an_expected_file_with_reasons() -> None:
    for name, mode in LISTENERS:
        expected = lab_verdicts.load(KINDS[name].install_name, mode)
        assert len(expected.cases) >= 46, expected.path
        assert lab_verdicts.missing_reasons(expected) == [], expected.path


def test_backscatter_failure_names_the_check_and_shows_the_transcript(postfix_mta: RealMTA, tmp_path: Path) -> None:
    records = run_suite(postfix_mta.backscatter_port, tmp_path, "-k", "rcpt.unknown-local-user and not repeated")
    record = records["rcpt.unknown-local-user"]
    assert record["outcome"] == "failed"
    assert record["failure_message"].startswith("SMTP-REJ-001 error:")
    assert "RFC 5321 §3.3" in record["failure_message"]
    assert "<- 250 2.1.5 Ok" in record["transcript"]


@pytest.mark.parametrize("name", list(KINDS))
def test_stop_by_pid_leaves_nothing_listening(name: str) -> None:
    mta = KINDS[name](new_ports())
    ok, reason = mta.available()
    if not ok:
        pytest.fail(reason) if os.environ.get("CI") == "true" else pytest.skip(reason)
    mta.start()
    pid = mta.pid
    assert pid is not None
    mta.stop()
    mta.cleanup()
    assert not Path(f"/proc/{pid}").exists()
    for port in (mta.ports.strict, mta.ports.backscatter):
        with pytest.raises(OSError):
            socket.create_connection(("127.0.0.1", port), timeout=2).close()
