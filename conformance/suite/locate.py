"""Where case files are: the shipped suites, and the one rule for finding case files in a folder.

In a wheel the shipped suites are package data (``conformance/suites``); in a
source checkout (editable install, or running from the repository) they are the
top-level ``suites/`` folder next to the package.

``mta-conformance run`` hands its folders to pytest, so what pytest collects is
what runs.  ``list`` and ``check-cases`` must therefore find exactly those files:
the walk here is pytest's default one (entries sorted by name, symlinked folders
followed, the folders pytest's default ``norecursedirs``, ``__pycache__`` and
virtualenvs skipped below a named folder, a named folder always entered) and the
file rule is :func:`is_case_file`, which the plugin's collection hook calls.
Settings that change pytest's walk (a project's ``norecursedirs``, ``--ignore``,
``collect_ignore``) are pytest's alone and not seen here.
"""

from __future__ import annotations

import fnmatch
import os
from collections.abc import Iterator
from pathlib import Path

import conformance

CASE_FILE_SUFFIX = ".mta.yaml"
#: pytest's default ``norecursedirs`` plus ``__pycache__``, which its own hook skips
SKIPPED_FOLDER_PATTERNS = ("*.egg", ".*", "_darcs", "build", "CVS", "dist", "node_modules", "venv", "{arch}",
                           "__pycache__")


def shipped_suites_dir() -> Path:
    package_dir = Path(conformance.__file__).resolve().parent
    for candidate in (package_dir / "suites", package_dir.parent / "suites"):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError("the shipped suites are missing from this installation")


def shipped_case_files() -> list[Path]:
    return case_files_below(shipped_suites_dir())


class NotACaseFile(ValueError):
    """A path given as a case file that is not one (the message names the rule)."""


def case_files(paths: list[Path]) -> list[Path]:
    """The case files that *paths* name, by the rule pytest collects with.

    No path: the shipped suites.  A folder: the case files below it
    (:func:`case_files_below`).  A file: itself, if it is a case file.  Used by
    ``run --suite``, ``list`` and ``check-cases`` so every command agrees with
    pytest on what a case file is.
    """
    if not paths:
        return shipped_case_files()
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found.extend(case_files_below(path))
        elif not path.exists():
            raise NotACaseFile(f"{path}: no such file or folder")
        elif is_case_file(path):
            found.append(path)
        else:
            raise NotACaseFile(f"{path}: not a case file (case files are named *{CASE_FILE_SUFFIX})")
    return found


def case_files_below(folder: Path) -> list[Path]:
    """The case files in *folder* and the folders below it that pytest enters, in pytest's order."""
    return [path for path in _walk(folder, ()) if is_case_file(path)]


def _walk(folder: Path, ancestors: tuple[str, ...]) -> Iterator[Path]:
    """Files below *folder*, sorted by name at each level as pytest's ``scandir`` does.

    *ancestors* are the real paths of the folders walked into, so a symlink back
    up the tree is not followed round for ever (pytest would, until the OS stops it).
    """
    real = os.path.realpath(folder)
    if real in ancestors:
        return
    try:
        entries = sorted(os.scandir(folder), key=lambda entry: entry.name)
    except OSError:
        return  # unreadable or vanished: pytest skips it too
    for entry in entries:
        path = Path(entry.path)
        try:
            is_dir, is_file = entry.is_dir(), entry.is_file()
        except OSError:
            continue
        if is_dir and not is_skipped_folder(path):
            yield from _walk(path, ancestors + (real,))
        elif is_file:
            yield path


def is_skipped_folder(path: Path) -> bool:
    """Whether pytest's collection, by default, does not enter *path* (a folder below a named one)."""
    if any(fnmatch.fnmatch(path.name, pattern) for pattern in SKIPPED_FOLDER_PATTERNS):
        return True
    try:  # a virtualenv (PEP 405), or a conda environment without pyvenv.cfg, as pytest's _in_venv
        return (path / "pyvenv.cfg").is_file() or (path / "conda-meta" / "history").is_file()
    except OSError:
        return False


def is_shipped(path: Path) -> bool:
    try:
        path.resolve().relative_to(shipped_suites_dir())
    except (ValueError, FileNotFoundError):
        return False
    return True


def is_case_file(path: Path) -> bool:
    """A user's case file (``*.mta.yaml``) or any YAML file of the shipped suites."""
    return path.name.endswith(CASE_FILE_SUFFIX) or (path.suffix == ".yaml" and is_shipped(path))
