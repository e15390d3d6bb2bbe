"""The package's shape: one home per concern, listed in the README, small, layered.

A newcomer finds the file for a concern from the README's layout section, so the
list must be the tree; and the limits that keep the rooms small (module and
function length, the plugin as wiring only) and the direction of the data flow
(the harness and the testee import nothing of the judge) hold only if a test
holds them.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "conformance"
MAX_MODULE_LINES = 450
MAX_FUNCTION_LINES = 60
MAX_PLUGIN_LINES = 250
#: the judge and everything above it: what the harness and the testee must never import
JUDGE = ("checks", "ndr", "run", "suite", "report", "collect", "plugin", "cli", "target", "findings", "smtp")
#: neutral modules the harness may share with the judge (the testee keeps its own copies on purpose)
SHARED_WITH_HARNESS = ("conformance.smtp.params",)


def modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if p.name != "__init__.py")


def layout_block() -> str:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Layout\n", 1)[1]
    return section.split("```", 2)[1]


def test_the_readme_layout_lists_every_module_and_nothing_else() -> None:
    listed = set(re.findall(r"^(conformance/\S+)", layout_block(), re.MULTILINE))
    present = {str(p.relative_to(ROOT)) for p in modules()} | {"conformance/suite/case.schema.json"}
    assert sorted(present - listed) == [], "modules missing from the README's layout section"
    assert sorted(listed - present) == [], "the README's layout section lists files that do not exist"


@pytest.mark.parametrize("path", modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_modules_and_functions_stay_small(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    lines = len(text.splitlines())
    limit = MAX_PLUGIN_LINES if path.name == "plugin.py" and path.parent == PACKAGE else MAX_MODULE_LINES
    assert lines <= limit, f"{path.name} has {lines} lines (at most {limit})"
    long = [f"{node.name} (line {node.lineno}): {node.end_lineno - node.lineno + 1} lines"
            for node in ast.walk(ast.parse(text))
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
            and node.end_lineno is not None and node.end_lineno - node.lineno + 1 > MAX_FUNCTION_LINES]
    assert long == [], f"functions over {MAX_FUNCTION_LINES} lines"


def imported_modules(path: Path) -> set[str]:
    """Every conformance module *path* imports, as dotted names (relative imports resolved)."""
    package = ".".join(path.relative_to(ROOT).with_suffix("").parts[:-1])
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parent, base] if base else parent)
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return {name for name in found if name.startswith("conformance")}


def within(name: str, packages: tuple[str, ...] | set[str]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in packages)


@pytest.mark.parametrize("folder", ["harness", "testee"])
def test_the_harness_and_the_testee_import_nothing_of_the_judge(folder: str) -> None:
    allowed = SHARED_WITH_HARNESS if folder == "harness" else ()
    judged = {f"conformance.{name}" for name in JUDGE}
    offending = sorted(
        f"{path.name} imports {name}"
        for path in sorted((PACKAGE / folder).glob("*.py"))
        for name in imported_modules(path)
        if not within(name, allowed) and within(name, judged))
    assert offending == []


def test_the_import_check_resolves_relative_imports() -> None:
    """The layering test can fail: ``from ..smtp.params import`` is seen as conformance.smtp.params,
    which only the allowance for shared neutral modules lets the harness import."""
    names = imported_modules(PACKAGE / "harness" / "servers.py")
    assert "conformance.smtp.params" in names
    assert "conformance.harness.mailbox" in names
    assert any(name.startswith("conformance.smtp") for name in names)
