"""``mta-conformance``: run the suite, run the reference testee, list cases and checks, lint NDRs.

``run`` is a thin wrapper around pytest (the suite *is* a pytest plugin), so
every pytest option works after ``--``; ``run --testee`` starts the embedded
reference testee and the harness first, which is the one-command demo of the
whole suite on a fresh machine.  Every command shares one exit-code table
(conformance/exitcodes.py).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path
from typing import Any, NoReturn

from .exitcodes import TABLE, ExitCode


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error exits 4 as pytest's do (argparse's 2 is pytest's "interrupted")."""

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(ExitCode.USAGE, f"{self.prog}: error: {message}\n")


class _RunCommand:
    """Marks a pytest session started by ``mta-conformance run``: it must have a target."""

    def pytest_configure(self, config: Any) -> None:
        import pytest

        from .collect import settings_key

        settings = config.stash.get(settings_key, None)
        if settings is not None and not settings.active:
            raise pytest.UsageError(
                "mta-conformance run: no target. Give --testee to test the embedded reference testee, or the MTA "
                "to test: mta-conformance run -- --mta-host=HOST [--mta-port=PORT] --mta-known-recipient=ADDRESS "
                "(or set MTA_HOST)")


def _cmd_run(args: argparse.Namespace) -> int:
    import pytest

    from .suite.locate import NotACaseFile, case_files, shipped_suites_dir

    pytest_args = list(args.pytest_args)
    if pytest_args and pytest_args[0] == "--":
        pytest_args = pytest_args[1:]
    try:
        case_files(list(args.suites))  # the same rule pytest collects with: say at once what is not a case file
    except NotACaseFile as exc:
        print(f"mta-conformance run: {exc}", file=sys.stderr)
        return ExitCode.USAGE
    suites = [str(p) for p in args.suites] or [str(shipped_suites_dir())]
    if not args.testee:
        if args.fault:
            print("mta-conformance run: --fault needs --testee", file=sys.stderr)
            return ExitCode.USAGE
        return int(pytest.main(suites + pytest_args, plugins=[_RunCommand()]))
    from .embedded import embedded_target

    try:
        with embedded_target(frozenset(args.fault)) as target:
            faults = ", ".join(sorted(args.fault)) or "none"
            print(f"reference testee on {target.testee.host}:{target.testee.port}, harness on ports "
                  f"{target.harness.dsn_port} (DSN) and {target.harness.plain_port} (no DSN); faults: {faults}",
                  flush=True)
            return int(pytest.main(suites + target.options() + pytest_args, plugins=[target, _RunCommand()]))
    except ValueError as exc:
        print(f"mta-conformance run: {exc}", file=sys.stderr)
        return ExitCode.USAGE
    except (OSError, RuntimeError, TimeoutError) as exc:
        print(f"mta-conformance run: could not test: the embedded testee or harness cannot listen: {exc}",
              file=sys.stderr)
        return ExitCode.COULD_NOT_TEST


def _load_all(paths: Sequence[Path]) -> tuple[list[Any], list[str]]:
    from .suite.loader import CaseFileError, check_unique_ids, load_suite
    from .suite.locate import NotACaseFile, case_files

    try:
        files = case_files(list(paths))
    except NotACaseFile as exc:
        return [], [str(exc)]
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
    return ExitCode.USAGE if errors else ExitCode.CONFORMANT


def _cmd_check_cases(args: argparse.Namespace) -> int:
    suites, errors = _load_all(args.paths)
    for error in errors:
        print(error)
    count = sum(len(s.cases) for s in suites)
    print(f"{count} cases in {len(suites)} files: {len(errors)} error(s)")
    return ExitCode.NON_CONFORMANT if errors else ExitCode.CONFORMANT


def _cmd_checks(args: argparse.Namespace) -> int:
    from .checks.coverage import coverage
    from .checks.registry import REGISTRY
    from .findings import Profile

    statuses = coverage()
    for check in REGISTRY:
        sev = "/".join(str(check.severity(p)) for p in Profile)
        print(f"{check.id:<14} {sev:<16} {statuses[check.id].status:<11} {check.section:<22} {check.title}")
    return ExitCode.CONFORMANT


def _version() -> str:
    try:
        return metadata.version("mta-conformance")
    except metadata.PackageNotFoundError:
        return "unknown (not installed)"


def build_parser() -> argparse.ArgumentParser:
    formatter = argparse.RawDescriptionHelpFormatter
    parser = _Parser(
        prog="mta-conformance",
        description="Conformance suite for the bounce behaviour of mail servers.",
        epilog=TABLE, formatter_class=formatter,
    )
    parser.add_argument("--version", action="version", version=f"mta-conformance {_version()}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    run = sub.add_parser(
        "run", help="run the suites with pytest (options after -- go to pytest)", formatter_class=formatter,
        description="Run the shipped suites (or --suite PATHs) against a target: the embedded reference testee "
                    "(--testee) or an MTA given after --, e.g. `mta-conformance run -- --mta-host=mx.example "
                    "--mta-known-recipient=alice@example.org`. Everything after -- goes to pytest.",
        epilog=TABLE)
    run.add_argument("--testee", action="store_true",
                     help="start the embedded reference testee and harness and run the whole suite against them")
    run.add_argument("--fault", action="append", default=[], metavar="NAME",
                     help="with --testee: inject this fault (repeatable; see `testee --list-faults`)")
    run.add_argument("--suite", dest="suites", action="append", default=[], type=Path, metavar="PATH",
                     help="case file (*.mta.yaml) or folder of them to run instead of the shipped suites")
    run.add_argument("pytest_args", nargs=argparse.REMAINDER,
                     help="arguments for pytest, e.g. -- --mta-host=mx.example")
    run.set_defaults(func=_cmd_run)

    from .testee.command import add_testee_parser

    add_testee_parser(sub)

    lister = sub.add_parser("list", help="list the cases of the shipped suites (or of PATHs)")
    lister.add_argument("paths", nargs="*", type=Path)
    lister.add_argument("--format", choices=("text", "json"), default="text")
    lister.set_defaults(func=_cmd_list)

    checker = sub.add_parser("check-cases", help="validate case files: schema, unique ids, catalogue ids",
                             epilog="exit status: 0 valid, 1 errors found, 4 usage error")
    checker.add_argument("paths", nargs="*", type=Path)
    checker.set_defaults(func=_cmd_check_cases)

    from .ndr.command import add_lint_parser

    add_lint_parser(sub)

    checks = sub.add_parser("checks", help="list every check of the registry with its severities and where "
                            "it is judged (case, lint, case+lint, not-covered, untestable)")
    checks.set_defaults(func=_cmd_checks)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        return int(args.func(args))
    except KeyboardInterrupt:
        return ExitCode.INTERRUPTED
    except BrokenPipeError:
        # `mta-conformance checks | head`: the reader left; end quietly, and keep Python's
        # exit-time flush of stdout from raising again
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return ExitCode.CONFORMANT


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
