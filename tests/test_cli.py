"""The command line: list, check-cases, checks, testee, run --testee."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from conformance.cli import main


def test_list_json(capsys) -> None:  # type: ignore[no-untyped-def]
    assert main(["list", "--format", "json"]) == 0
    cases = json.loads(capsys.readouterr().out)
    assert {c["id"] for c in cases} >= {"rcpt.unknown-local-user", "dsn.mail-invalid-values"}


def test_check_cases_reports_file_line(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    bad = tmp_path / "bad.mta.yaml"
    bad.write_text("suite: x\ncases:\n  - id: a\n    title: t\n    checks: [NOPE-001]\n    dialogue: [{expect: 220}]\n")
    assert main(["check-cases", str(bad)]) == 1
    out = capsys.readouterr().out
    assert f"{bad}:5: unknown check id 'NOPE-001'" in out
    assert main(["check-cases"]) == 0


def test_checks_lists_the_registry(capsys) -> None:  # type: ignore[no-untyped-def]
    assert main(["checks"]) == 0
    out = capsys.readouterr().out
    assert "SMTP-REJ-001" in out and "error/warning" in out and out.count("\n") == 162


def test_testee_faults_listed(capsys) -> None:  # type: ignore[no-untyped-def]
    assert main(["testee", "--list-faults"]) == 0
    assert "accept-unknown-recipients" in capsys.readouterr().out
    assert main(["testee", "--fault", "nope"]) == 4


def _run(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "conformance.cli", "run", *args], capture_output=True, text=True,
                          timeout=180, cwd=tmp_path)


def test_run_testee_judges_the_whole_suite(tmp_path: Path) -> None:
    """The README's main job: every shipped case, after acceptance and the slow pair included."""
    # -p no:xdist: as after the README's first command, which installs no pytest-xdist
    proc = _run(tmp_path, "--testee", "--", "-p", "no:cacheprovider", "-p", "no:xdist", "-rs", "-W", "error")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr
    last = proc.stdout.strip().splitlines()[-1]
    assert "45 passed, 1 skipped" in last, last
    # the only skip is one the testee's capabilities exclude, and it says why
    assert "dsn.parameters-without-dsn: for targets without DSN; the target advertises DSN" in proc.stdout
    assert "Warning" not in proc.stderr  # no PytestAssertRewriteWarning, nothing under -W error
    records = json.loads((tmp_path / "reports" / "results.json").read_text())["cases"]
    assert {r["case_id"] for r in records if r["outcome"] == "passed"} >= {
        "dsn-request.delayed-notice", "dsn-request.no-delayed-notice-without-delay", "ndr.next-hop-refuses-rcpt"}


@pytest.mark.parametrize(("fault", "strict", "status", "shown"), [
    ("ndr-to-header-address", False, 1, "LOOP-001 error"),  # an error-level fault
    ("accept-unknown-recipients", False, 1, "SMTP-REJ-001 error"),
    ("wrong-code-unknown-user", False, 0, "rcpt.unknown-local-user: SMTP-REJ-005 warning"),  # warning-level
    ("wrong-code-unknown-user", True, 1, "SMTP-REJ-005 warning"),
    ("no-dsn", True, 0, "CONFORMANT"),  # a conforming variant
])
def test_run_testee_fault_exit_status(tmp_path: Path, fault: str, strict: bool, status: int, shown: str) -> None:
    extra = ["--mta-strict"] if strict else []
    proc = _run(tmp_path, "--testee", "--fault", fault, "--", "-q", "-p", "no:cacheprovider", *extra)
    assert proc.returncode == status, proc.stdout[-3000:] + proc.stderr
    assert shown in proc.stdout


def test_run_exit_status_for_usage_and_could_not_test(tmp_path: Path) -> None:
    assert _run(tmp_path).returncode == 4  # no target
    assert "no target. Give --testee" in _run(tmp_path).stderr
    assert _run(tmp_path, "--no-such-option").returncode == 4
    assert _run(tmp_path, "--suite", "missing.yaml").returncode == 4
    closed = _run(tmp_path, "--", "-p", "no:cacheprovider", "--mta-host=127.0.0.1", "--mta-port=1",
                  "--mta-local-domain=local.test")
    assert closed.returncode == 75, closed.stdout[-2000:]
    assert "COULD NOT TEST" in closed.stdout and "FAILED" not in closed.stdout
    collect = _run(tmp_path, "--testee", "--", "--collect-only", "-q", "--mta-report-dir=collected")
    assert collect.returncode == 0 and not (tmp_path / "collected").exists()  # reports are never overwritten


def test_version_and_quiet_broken_pipes() -> None:
    version = subprocess.run([sys.executable, "-m", "conformance.cli", "--version"], capture_output=True, text=True)
    assert version.returncode == 0 and version.stdout.startswith("mta-conformance ")
    for command in ("checks", "testee --list-faults", "list"):
        proc = subprocess.run(f"{sys.executable} -m conformance.cli {command} | head -1", shell=True,
                              capture_output=True, text=True, timeout=60)
        assert proc.stderr == "", (command, proc.stderr)


def test_standalone_testee_serves_until_sigterm() -> None:
    import re
    import signal
    import socket

    proc = subprocess.Popen([sys.executable, "-m", "conformance.cli", "testee", "--port", "0",
                             "--fault", "accept-unknown-recipients"], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()  # printed once the server accepts connections
        match = re.match(r"testee listening on 127\.0\.0\.1:(\d+) \(faults: accept-unknown-recipients\)", line)
        assert match, line
        with socket.create_connection(("127.0.0.1", int(match.group(1))), timeout=5) as sock:
            assert sock.recv(100).startswith(b"220 ")
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=15) == 0
    finally:
        proc.kill() if proc.poll() is None else None
