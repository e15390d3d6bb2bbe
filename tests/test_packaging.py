"""The wheel carries the shipped suites, the case schema and the check registry."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_wheel_contents(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(ROOT)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    wheel = next(tmp_path.glob("mta_conformance-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    shipped = {p.relative_to(ROOT / "suites").as_posix() for p in (ROOT / "suites").rglob("*.yaml")}
    assert {f"conformance/suites/{name}" for name in shipped} <= names
    assert "conformance/suite/case.schema.json" in names
    assert "conformance/ndr/envelope.schema.json" in names
    assert "conformance/checks/catalogue.yaml" in names
    meta = zipfile.ZipFile(wheel).read(next(n for n in names if n.endswith("entry_points.txt"))).decode()
    assert "[pytest11]" in meta and "mta_conformance = conformance.plugin" in meta
    assert "mta-conformance = conformance.cli:main" in meta
