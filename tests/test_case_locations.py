"""One rule finds case files: `mta-conformance list` / `check-cases` find what pytest collects.

`run --suite FOLDER` hands the folder to pytest, so pytest's collection decides
what runs; the commands that list and validate case files must find the same
files, in the same order, or `list` would show cases `run` never runs.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conformance.cli import main
from conformance.suite.locate import (
    case_files,
    case_files_below,
    is_case_file,
    is_skipped_folder,
    shipped_case_files,
)

CASE = """\
suite: mixed
cases:
  - id: {id}
    title: t
    checks: [SMTP-RPL-001]
    refs: [RFC 5321]
    dialogue: [{{expect: 220}}]
"""
#: file -> collected by pytest's default walk (and so by every command)
LAYOUT = {
    "a.mta.yaml": True,
    ".hidden-file.mta.yaml": True,  # pytest skips hidden folders, not hidden files
    "plain.yaml": False,
    "other.yml": False,
    "UPPER.MTA.YAML": False,
    "sub/b.mta.yaml": True,
    "sub/deeper/c.mta.yaml": True,
    ".hidden/d.mta.yaml": False,
    "build/e.mta.yaml": False,
    "dist/f.mta.yaml": False,
    "node_modules/g.mta.yaml": False,
    "venv/h.mta.yaml": False,
    "pkg.egg/i.mta.yaml": False,
    "__pycache__/j.mta.yaml": False,
    "env/k.mta.yaml": False,  # a virtualenv by its pyvenv.cfg, whatever its name
}


def _make(root: Path) -> Path:
    folder = root / "mixed"
    for number, name in enumerate(LAYOUT):
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(CASE.format(id=f"case-{number}"))
    (folder / "env" / "pyvenv.cfg").write_text("home = /usr/bin\n")
    elsewhere = root / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "l.mta.yaml").write_text(CASE.format(id="linked"))
    (folder / "linked").symlink_to(elsewhere, target_is_directory=True)  # pytest follows it
    return folder


def _expected(folder: Path) -> list[Path]:
    wanted = [folder / name for name, collected in LAYOUT.items() if collected] + [folder / "linked" / "l.mta.yaml"]
    return sorted(wanted, key=lambda p: p.relative_to(folder).parts)


def test_locate_finds_what_pytest_collects_by_default(tmp_path: Path) -> None:
    folder = _make(tmp_path)
    assert case_files_below(folder) == _expected(folder)
    assert case_files([folder]) == _expected(folder)
    assert case_files([folder / ".hidden"]) == [folder / ".hidden" / "d.mta.yaml"]  # a named folder is entered
    assert is_skipped_folder(folder / "env") and is_skipped_folder(folder / ".git")
    assert not is_skipped_folder(folder / "sub")
    assert not is_case_file(folder / "plain.yaml")


def test_list_and_pytest_collection_agree(tmp_path: Path, pytester: pytest.Pytester,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    folder = _make(pytester.path)
    assert main(["list", "--format", "json", str(folder)]) == 0
    listed = [Path(case["file"]) for case in json.loads(capsys.readouterr().out)]
    result = pytester.runpytest("-p", "no:cacheprovider", "--collect-only", "-q", "--mta-host=127.0.0.1",
                                "--mta-local-domain=example.org", str(folder))
    collected = [pytester.path / line.split("::")[0] for line in result.stdout.lines if "::" in line]
    assert collected == listed == _expected(folder)
    assert main(["check-cases", str(folder)]) == 0
    assert f"{len(listed)} cases in {len(listed)} files: 0 error(s)" in capsys.readouterr().out


def test_the_shipped_suites_by_the_same_walk() -> None:
    files = shipped_case_files()
    assert files and all(path.suffix == ".yaml" for path in files)
    assert case_files([]) == files
