"""The registry held against the catalogue, so no check id is invented or lost."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from conformance.checks.registry import REGISTRY, UnknownCheck, UnknownCondition
from conformance.findings import Profile, Severity

ROOT = Path(__file__).resolve().parent.parent
CATALOGUE = ROOT / "docs" / "rfc-catalogue.md"


def catalogue_rows() -> list[list[str]]:
    """The catalogue's table rows, parsed independently of tools/build_catalogue.py."""
    rows = []
    for line in CATALOGUE.read_text(encoding="utf-8").splitlines():
        if re.match(r"^\|\s*[A-Z0-9]+(-[A-Z0-9]+)*-\d{3}\s*\|", line):
            rows.append([cell.strip() for cell in line.strip().strip("|").split("|")])
    return rows


def severities(text: str) -> list[tuple[str, str | None]]:
    """'error (x; y); warning' -> [('error', 'x; y'), ('warning', None)], ' / ' also splits."""
    parts, depth, current = [], 0, ""
    for i, ch in enumerate(text):
        depth += ch == "("
        depth -= ch == ")"
        if depth == 0 and (ch == ";" or text[i:i + 3] == " / "):
            parts.append(current)
            current = ""
            continue
        if depth == 0 and text[i - 2:i + 1] == " / ":
            continue
        current += ch
    parts.append(current)
    out = []
    for part in (p.strip(" /") for p in parts if p.strip(" /")):
        m = re.match(r"^(error|warning|info)\s*(?:\((.*)\))?$", part, re.S)
        assert m, part
        out.append((m.group(1), m.group(2)))
    return out


def test_same_ids_in_the_same_order() -> None:
    rows = catalogue_rows()
    assert len(rows) == 162  # the catalogue's own count (§13)
    assert [r[0] for r in rows] == REGISTRY.ids()


@pytest.mark.parametrize("row", catalogue_rows(), ids=lambda r: r[0])
def test_row_matches(row: list[str]) -> None:
    check = REGISTRY[row[0]]
    assert check.source == row[1]
    assert check.level == row[2]
    assert [(str(r.severity), r.when) for r in check.rules] == severities(row[5])
    keys = check.condition_keys()
    assert len(keys) == len(set(keys))
    assert check.refs and all(r for r in check.refs)
    if re.match(r"^\d{4}", row[1]):
        assert check.refs[0].startswith("RFC ")


def test_profile_and_condition_severities() -> None:
    assert REGISTRY["SMTP-REJ-001"].severity(Profile.ANTI_BACKSCATTER) is Severity.ERROR
    assert REGISTRY["SMTP-REJ-001"].severity(Profile.STRICT_RFC) is Severity.WARNING
    assert REGISTRY["DSNX-003"].severity(condition="invalid-value") is Severity.ERROR
    assert REGISTRY["DSNX-003"].severity(condition="duplicate") is Severity.WARNING
    assert REGISTRY["DSN-SEM-020"].severity() is Severity.WARNING
    assert REGISTRY["DSN-SEM-020"].severity(condition="relay-case") is Severity.ERROR
    with pytest.raises(UnknownCondition, match="invalid-value, duplicate"):
        REGISTRY["DSNX-003"].severity(condition="nonsense")
    with pytest.raises(UnknownCheck, match="SMTP-XYZ-001"):
        REGISTRY["SMTP-XYZ-001"]


def test_generated_data_is_current() -> None:
    proc = subprocess.run([sys.executable, str(ROOT / "tools" / "build_catalogue.py"), "--check"],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
