"""``mta-conformance``: run the suite, run the reference testee, list cases and checks.

``run`` is a thin wrapper around pytest (the suite *is* a pytest plugin), so
every pytest option works after ``--``; ``run --testee`` starts the embedded
reference testee first, which is the one-command demo on a fresh machine.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Sequence

EXIT_OK, EXIT_FINDINGS, EXIT_USAGE = 0, 1, 2


def _cmd_run(args: argparse.Namespace) -> int:
    import pytest

    from .suite.locate import shipped_suites_dir

    pytest_args = list(args.pytest_args)
    if pytest_args and pytest_args[0] == "--":
        pytest_args = pytest_args[1:]
    suites = [str(p) for p in args.suites] or [str(shipped_suites_dir())]
    if not args.testee:
        return int(pytest.main(suites + pytest_args))
    from .testee import Testee, TesteeConfig

    try:
        config = TesteeConfig(faults=frozenset(args.fault))
    except ValueError as exc:
        print(f"mta-conformance: {exc}", file=sys.stderr)
        return EXIT_USAGE
    with Testee(config) as testee:
        print(f"reference testee on {testee.host}:{testee.port}"
              f" (faults: {', '.join(sorted(config.faults)) or 'none'})", flush=True)
        target = ["--mta-host", testee.host, "--mta-port", str(testee.port),
                  "--mta-known-recipient", f"alice@{config.local_domain}"]
        return int(pytest.main(suites + target + pytest_args))


def _load_all(paths: Sequence[Path]) -> tuple[list, list[str]]:
    from .suite.loader import CaseFileError, check_unique_ids, load_suite
    from .suite.locate import shipped_case_files

    files: list[Path] = []
    for path in paths or [None]:  # type: ignore[list-item]
        if path is None:
            files.extend(shipped_case_files())
        elif path.is_dir():
            files.extend(sorted(p for p in path.rglob("*.yaml")))
        else:
            files.append(path)
    suites, errors = [], []
    for file in files:
        try:
            suites.append(load_suite(file))
        except CaseFileError as exc:
            errors.append(str(exc))
    if not errors:
        try:
            check_unique_ids(suites)
        except CaseFileError as exc:
            errors.append(str(exc))
    return suites, errors


def _cmd_list(args: argparse.Namespace) -> int:
    suites, errors = _load_all(args.paths)
    for error in errors:
        print(error, file=sys.stderr)
    cases = [case for suite in suites for case in suite.cases]
    if args.format == "json":
        print(json.dumps([{"id": c.id, "suite": c.suite, "title": c.title, "checks": list(c.checks),
                           "refs": list(c.refs), "requires": list(c.requires), "file": str(c.path),
                           "line": c.line} for c in cases], indent=1))
    else:
        for case in cases:
            print(f"{case.id:<40} {', '.join(case.checks):<40} {case.title}")
    return EXIT_USAGE if errors else EXIT_OK


def _cmd_check_cases(args: argparse.Namespace) -> int:
    suites, errors = _load_all(args.paths)
    for error in errors:
        print(error)
    count = sum(len(s.cases) for s in suites)
    print(f"{count} cases in {len(suites)} files: {len(errors)} error(s)")
    return EXIT_FINDINGS if errors else EXIT_OK


def _cmd_checks(args: argparse.Namespace) -> int:
    from .checks.registry import REGISTRY
    from .findings import Profile

    for check in REGISTRY:
        sev = "/".join(str(check.severity(p)) for p in Profile)
        print(f"{check.id:<14} {sev:<16} {check.section:<22} {check.title}")
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mta-conformance",
        description="Conformance suite for the bounce behaviour of mail servers.",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="run the suites with pytest (options after -- go to pytest)")
    run.add_argument("--testee", action="store_true", help="start the embedded reference testee and test it")
    run.add_argument("--fault", action="append", default=[], metavar="NAME",
                     help="with --testee: inject this fault (repeatable; see `testee --list-faults`)")
    run.add_argument("--suite", dest="suites", action="append", default=[], type=Path, metavar="PATH",
                     help="case file or folder to run instead of the shipped suites")
    run.add_argument("pytest_args", nargs=argparse.REMAINDER, help="arguments for pytest, e.g. -- --mta-host=mx.example")
    run.set_defaults(func=_cmd_run)

    from .testee.command import add_testee_parser

    add_testee_parser(sub)

    lister = sub.add_parser("list", help="list the cases of the shipped suites (or of PATHs)")
    lister.add_argument("paths", nargs="*", type=Path)
    lister.add_argument("--format", choices=("text", "json"), default="text")
    lister.set_defaults(func=_cmd_list)

    checker = sub.add_parser("check-cases", help="validate case files: schema, unique ids, catalogue ids")
    checker.add_argument("paths", nargs="*", type=Path)
    checker.set_defaults(func=_cmd_check_cases)

    from .ndr.command import add_lint_parser

    add_lint_parser(sub)

    checks = sub.add_parser("checks", help="list every check of the registry with its severities")
    checks.set_defaults(func=_cmd_checks)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
