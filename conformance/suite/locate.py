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


def is_shipped(path: Path) -> bool:
    try:
        path.resolve().relative_to(shipped_suites_dir())
    except (ValueError, FileNotFoundError):
        return False
    return True


def is_case_file(path: Path) -> bool:
    """A user's case file (``*.mta.yaml``) or any YAML file of the shipped suites."""
    return path.name.endswith(CASE_FILE_SUFFIX) or (path.suffix == ".yaml" and is_shipped(path))
