"""The command line: list, check-cases, checks, testee, run --testee."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

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


def test_run_testee_end_to_end(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "conformance.cli", "run", "--testee", "--fault",
                           "accept-unknown-recipients", "--", "-q", "-p", "no:cacheprovider",
                           f"--mta-report-dir={tmp_path}"], capture_output=True, text=True, timeout=120,
                          cwd=tmp_path)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    last = proc.stdout.strip().splitlines()[-1]
    assert "2 failed, 20 passed, 24 skipped" in last
    assert (tmp_path / "junit.xml").exists()


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
