"""Where the shipped suites are.

In a wheel they are package data (``conformance/suites``); in a source checkout
(editable install, or running from the repository) they are the top-level
``suites/`` folder next to the package.
"""

from __future__ import annotations

from pathlib import Path

import conformance

CASE_FILE_SUFFIX = ".mta.yaml"


def shipped_suites_dir() -> Path:
    package_dir = Path(conformance.__file__).resolve().parent
    for candidate in (package_dir / "suites", package_dir.parent / "suites"):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError("the shipped suites are missing from this installation")


def shipped_case_files() -> list[Path]:
    return sorted(shipped_suites_dir().rglob("*.yaml"))


class NotACaseFile(ValueError):
    """A path given as a case file that is not one (the message names the rule)."""


def case_files(paths: list[Path]) -> list[Path]:
    """The case files that *paths* name, by the rule pytest collects with (``is_case_file``).

    No path: the shipped suites.  A folder: the case files anywhere below it.
    A file: itself, if it is a case file.  Used by ``run --suite``, ``list`` and
    ``check-cases`` so every command agrees with pytest on what a case file is.
    """
    if not paths:
        return shipped_case_files()
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found.extend(sorted(p for p in path.rglob("*") if p.is_file() and is_case_file(p)))
        elif not path.exists():
            raise NotACaseFile(f"{path}: no such file or folder")
        elif is_case_file(path):
            found.append(path)
        else:
            raise NotACaseFile(f"{path}: not a case file (case files are named *{CASE_FILE_SUFFIX})")
    return found


def is_shipped(path: Path) -> bool:
    try:
        path.resolve().relative_to(shipped_suites_dir())
    except (ValueError, FileNotFoundError):
        return False
    return True


def is_case_file(path: Path) -> bool:
    """A user's case file (``*.mta.yaml``) or any YAML file of the shipped suites."""
    return path.name.endswith(CASE_FILE_SUFFIX) or (path.suffix == ".yaml" and is_shipped(path))
