"""lab/install.sh refuses, in one sentence and before doing anything, what it cannot install."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _fake(folder: Path, name: str, script: str) -> None:
    path = folder / name
    path.write_text(f"#!/bin/sh\n{script}\n")
    path.chmod(0o755)


def _install(args: list[str], path: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", str(ROOT / "lab" / "install.sh"), *args], capture_output=True, text=True,
                          timeout=60, env={**os.environ, "PATH": path}, check=False)


def test_haraka_with_an_old_node_stops_with_one_sentence(tmp_path: Path) -> None:
    _fake(tmp_path, "node", 'case "$1" in -v) echo v18.19.0;; -p) echo 18;; esac')
    _fake(tmp_path, "npm", "echo 9.2.0")
    proc = _install(["haraka"], f"{tmp_path}:/usr/bin:/bin")
    assert proc.returncode == 3
    assert proc.stderr.strip().splitlines() == [
        "lab/install.sh: Haraka needs Node.js 20 or newer with npm on PATH (found node v18.19.0), "
        "so nothing was installed."]


def test_an_unknown_mta_is_named() -> None:
    proc = _install(["qmail"], os.environ.get("PATH", "/usr/bin:/bin"))
    assert proc.returncode == 2
    assert "unknown MTA 'qmail'" in proc.stderr and "haraka" in proc.stderr
