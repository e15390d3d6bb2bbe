"""The registry held against the catalogue, so no check id is invented or lost.

The markdown is parsed here with a parser of its own (not tools/build_catalogue.py),
so a bug in the generator cannot hide behind the same bug in the test.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from conformance.checks.registry import (
    REGISTRY,
    CatalogueError,
    Check,
    Registry,
    UnknownCheck,
    UnknownCondition,
    finding,
    parse_refs,
    severity_of,
)
from conformance.findings import Finding, Profile, Severity

ROOT = Path(__file__).resolve().parent.parent
CATALOGUE = ROOT / "docs" / "rfc-catalogue.md"
YAML_FILE = ROOT / "conformance" / "checks" / "catalogue.yaml"
#: the catalogue's own count (§13 item 16); also what the tables hold
ROW_COUNT = 162
ROW_ID = re.compile(r"^\|\s*([A-Z0-9]+(?:-[A-Z0-9]+)*-\d{3})\s*\|")


def catalogue_rows() -> list[list[str]]:
    """The catalogue's requirement rows as [id, source, level, requirement, how, sev]."""
    rows = []
    for line in CATALOGUE.read_text(encoding="utf-8").splitlines():
        if ROW_ID.match(line):
            cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
            assert len(cells) == 6, line
            rows.append(cells)
    return rows


ROWS = catalogue_rows()


def sev_parts(text: str) -> list[tuple[str, str | None, str | None]]:
    """The Sev column as (severity, parenthesised text, profile) triples.

    'error (a; b); warning' -> [('error', 'a; b', None), ('warning', None, None)];
    ' / ' separates the two profile alternatives.
    """
    parts: list[str] = []
    depth, current = 0, ""
    pieces = re.split(r"(\(|\)|;| / )", text)
    for piece in pieces:
        if piece == "(":
            depth += 1
        elif piece == ")":
            depth -= 1
        elif depth == 0 and piece in (";", " / "):
            parts.append(current)
            current = ""
            continue
        current += piece
    parts.append(current)
    out: list[tuple[str, str | None, str | None]] = []
    for part in (p.strip() for p in parts if p.strip()):
        m = re.fullmatch(r"(error|warning|info)(?:\s*\((.*)\))?", part)
        assert m, f"unreadable severity {part!r} in {text!r}"
        when = m.group(2)
        profile = {"anti-backscatter profile": "anti-backscatter",
                   "strict-RFC profile": "strict-rfc"}.get(when or "")
        out.append((m.group(1), when, profile))
    return out


def test_the_catalogue_has_the_rows_it_says() -> None:
    assert len(ROWS) == ROW_COUNT
    assert len({r[0] for r in ROWS}) == ROW_COUNT  # no id twice


def test_yaml_has_one_entry_per_row() -> None:
    text = YAML_FILE.read_text(encoding="utf-8")
    data = yaml.safe_load(text)
    assert len(data) == ROW_COUNT
    # safe_load keeps the last of two equal keys; count the top-level lines too
    assert len(re.findall(r"^[A-Z0-9-]+:", text, re.M)) == ROW_COUNT
    assert len(REGISTRY) == ROW_COUNT


def test_same_ids_in_the_same_order() -> None:
    assert REGISTRY.ids() == [r[0] for r in ROWS]
    assert [c.id for c in REGISTRY] == [r[0] for r in ROWS]


@pytest.mark.parametrize("row", ROWS, ids=lambda r: r[0])
def test_row_matches_the_catalogue(row: list[str]) -> None:
    check_id, source, level, _requirement, how, sev = row
    check = REGISTRY[check_id]
    assert check.source == source
    assert check.level == level
    assert [(str(r.severity), r.when, r.profile.value if r.profile else None) for r in check.rules] == sev_parts(sev)
    # the mode's first letter group is what "How to test" starts with
    first = re.match(r"[LCS](?:\+(?:[LCS]|ctx))*", how)
    assert first and check.mode.startswith(first.group(0)), (check.mode, how)
    assert re.fullmatch(r"[LCS](?:\+(?:[LCS]|ctx))*(?:(?:, |; )[LCS](?:\+(?:[LCS]|ctx))*)*", check.mode)
    assert 0 < len(check.title) <= 90


@pytest.mark.parametrize("check", list(REGISTRY), ids=lambda c: c.id)
def test_keys_follow_the_rules(check: Check) -> None:
    keys = check.condition_keys()
    assert len(keys) == len(set(keys))
    for rule in check.rules:
        conditional = rule.when is not None and rule.profile is None
        if conditional:
            assert rule.key and re.fullmatch(r"[a-z0-9]+(?:-[a-z0-9]+)*", rule.key)
            assert check.severity(condition=rule.key) is rule.severity
        else:
            assert rule.key is None


@pytest.mark.parametrize("check", list(REGISTRY), ids=lambda c: c.id)
def test_refs(check: Check) -> None:
    refs = check.refs
    assert refs and all(r.strip() for r in refs)
    assert check.section == refs[0]
    if re.match(r"\d", check.source):
        assert refs[0].startswith("RFC ")
    for ref in refs:
        # every bare RFC number became "RFC nnnn"; nothing is left of dropped remarks
        assert not re.match(r"\d", ref) and "not found" not in ref, ref


def test_refs_examples() -> None:
    assert parse_refs("5321 §3.3, §6.2 ; BP") == ("RFC 5321 §3.3", "RFC 5321 §6.2", "best practice")
    assert parse_refs("3461 §5.2.6(a),(c)") == ("RFC 3461 §5.2.6(a),(c)",)
    assert parse_refs("7505 §4.1 (RFC 7504 text not found)") == ("RFC 7505 §4.1",)
    assert parse_refs("3461 §4.3 vs 6522 §3") == ("RFC 3461 §4.3", "RFC 6522 §3")
    assert parse_refs("3464 §2.3, App. E") == ("RFC 3464 §2.3", "RFC 3464 App. E")
    assert parse_refs("5322 §2.2; 2047; 6532") == ("RFC 5322 §2.2", "RFC 2047", "RFC 6532")
    assert parse_refs("observed practice") == ("observed practice",)
    for odd in ("", "(", ")", "§1", ";;", "((x)", "1234 (", "BP ; §2"):
        assert parse_refs(odd)  # never raises, never empty


def test_profile_and_condition_severities() -> None:
    rej1 = REGISTRY["SMTP-REJ-001"]
    assert rej1.severity(Profile.ANTI_BACKSCATTER) is Severity.ERROR
    assert rej1.severity() is Severity.ERROR  # anti-backscatter is the default profile
    assert rej1.severity(Profile.STRICT_RFC) is Severity.WARNING
    assert rej1.condition_keys() == ()
    dsnx3 = REGISTRY["DSNX-003"]
    assert dsnx3.condition_keys() == ("invalid-value", "duplicate")
    assert dsnx3.severity(condition="invalid-value") is Severity.ERROR
    assert dsnx3.severity(Profile.STRICT_RFC, "duplicate") is Severity.WARNING
    assert dsnx3.severity() is Severity.ERROR  # no unconditional rule: the primary one
    assert REGISTRY["SMTP-REJ-005"].severity(condition="code-551") is Severity.INFO
    assert REGISTRY["SMTP-REJ-010"].severity(condition="552-instead-of-452") is Severity.WARNING
    assert REGISTRY["DSN-SEM-020"].severity() is Severity.WARNING  # the unconditional part
    assert REGISTRY["DSN-SEM-020"].severity(condition="relay-case") is Severity.ERROR
    assert severity_of("LOOP-008", Profile.STRICT_RFC) is Severity.WARNING


def test_unknown_condition() -> None:
    with pytest.raises(UnknownCondition, match="invalid-value, duplicate") as info:
        REGISTRY["DSNX-003"].severity(condition="nonsense")
    assert isinstance(info.value, ValueError) and "DSNX-003" in str(info.value)
    with pytest.raises(UnknownCondition, match="none"):
        REGISTRY["SMTP-REJ-001"].severity(condition="anything")


def test_unknown_check() -> None:
    with pytest.raises(UnknownCheck, match="SMTP-XYZ-001") as info:
        REGISTRY["SMTP-XYZ-001"]
    assert isinstance(info.value, KeyError)
    assert "SMTP-XYZ-001" not in REGISTRY and "SMTP-REJ-001" in REGISTRY
    assert REGISTRY.get("SMTP-XYZ-001") is None
    assert REGISTRY.get("ESC-001") is REGISTRY["ESC-001"]
    with pytest.raises(UnknownCheck):
        severity_of("NOPE-001", Profile.ANTI_BACKSCATTER)


def test_finding_helper() -> None:
    f = finding("DSNX-003", "RET=FOO accepted", profile=Profile.STRICT_RFC, condition="invalid-value", where="step 2")
    assert f == Finding("DSNX-003", Severity.ERROR, "RET=FOO accepted", "step 2", ("RFC 3461 §4.5", "RFC 3461 §5.1(a)"))
    assert finding("SMTP-REJ-001", "x", profile=Profile.STRICT_RFC).severity is Severity.WARNING
    with pytest.raises(UnknownCheck):
        finding("NOPE-001", "x", profile=Profile.ANTI_BACKSCATTER)


GOOD_ENTRY = """\
X-001:
  source: 5321 §1
  level: MUST
  mode: L
  title: t
  severity:
  - {severity: error, when: null, key: null, profile: null}
"""


def test_loading_validates() -> None:
    assert len(Registry.from_yaml(GOOD_ENTRY)) == 1
    bad = {
        "unknown severity 'fatal'": GOOD_ENTRY.replace("severity: error", "severity: fatal"),
        "unknown profile 'lenient'": GOOD_ENTRY.replace("profile: null}", "profile: lenient}"),
        "defined twice": GOOD_ENTRY + GOOD_ENTRY,
        "missing title": GOOD_ENTRY.replace("  title: t\n", ""),
        "kebab-case": GOOD_ENTRY.replace("key: null", "key: Not A Key"),
        "no severity applies under the strict-rfc": GOOD_ENTRY.replace("profile: null}", "profile: anti-backscatter}"),
        "non-empty list": GOOD_ENTRY.split("  severity:")[0] + "  severity: []\n",
    }
    for message, text in bad.items():
        with pytest.raises(CatalogueError, match=message):
            Registry.from_yaml(text)


def test_generator_check_passes() -> None:
    proc = subprocess.run([sys.executable, str(ROOT / "tools" / "build_catalogue.py"), "--check"],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_generator_check_reports_drift(tmp_path: Path) -> None:
    text = YAML_FILE.read_text(encoding="utf-8")
    drifted = text.replace("source: 5321 §7.9\n", "source: 5321 §7.8\n", 1).replace("key: duplicate", "key: invalid-value")
    (tmp_path / "catalogue.yaml").write_text(drifted, encoding="utf-8")
    proc = subprocess.run([sys.executable, str(ROOT / "tools" / "build_catalogue.py"), "--check",
                           "--yaml", str(tmp_path / "catalogue.yaml")], capture_output=True, text=True)
    assert proc.returncode == 1
    assert "@@ SMTP-REJ-006" in proc.stdout and "- source: 5321 §7.9" in proc.stdout
    assert "key 'invalid-value' used twice" in proc.stdout
