"""The ``mta-conformance testee`` command: run the reference testee standalone, list its faults."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from ..exitcodes import ExitCode


def list_faults() -> list[str]:
    """The ``--list-faults`` table: what each kind means for the exit status, then one row per fault."""
    from .faults import CATALOGUE, KINDS

    kind_width = max(len(kind) for kind in KINDS)
    lines = [f"{'KIND':<{kind_width}}  EXIT STATUS OF `mta-conformance run --testee --fault NAME`"]
    lines += [f"{kind:<{kind_width}}  {meaning}" for kind, meaning in KINDS.items()]
    width = max(len(f.name) for f in CATALOGUE)
    lines += ["", f"{'FAULT':<{width}}  {'KIND':<{kind_width}}  DESCRIPTION"]
    lines += [f"{f.name:<{width}}  {f.kind:<{kind_width}}  {f.description}" for f in CATALOGUE]
    return lines


def run_testee(args: argparse.Namespace) -> int:
    from .config import TesteeConfig
    from .server import Testee, serve_started

    if args.list_faults:
        try:
            for line in list_faults():
                print(line)
            sys.stdout.flush()
        except BrokenPipeError:
            # `testee --list-faults | head -1`: the reader left; end quietly, and keep Python's
            # exit-time flush of stdout from raising again
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        return ExitCode.CONFORMANT
    try:
        config = TesteeConfig(host=args.host, port=args.port, faults=frozenset(args.fault))
    except ValueError as exc:
        print(f"mta-conformance testee: {exc}", file=sys.stderr)
        return ExitCode.USAGE
    testee = Testee(config)
    try:
        testee.start()
    except OSError as exc:  # the address is taken or cannot be bound (a TimeoutError is one too)
        reason = exc.strerror or str(exc) or type(exc).__name__
        print(f"mta-conformance testee: cannot listen on {args.host}:{args.port}: {reason[:1].lower()}{reason[1:]}",
              file=sys.stderr)
        return ExitCode.COULD_NOT_TEST
    serve_started(testee)
    return ExitCode.CONFORMANT


def add_testee_parser(sub: argparse._SubParsersAction[Any]) -> None:
    testee = sub.add_parser("testee", help="run the reference testee (a well-behaved MTA with optional faults)")
    testee.add_argument("--host", default="127.0.0.1")
    testee.add_argument("--port", type=int, default=2525, help="0 lets the kernel choose a free port")
    testee.add_argument("--fault", action="append", default=[], metavar="NAME", help="inject a fault (repeatable)")
    testee.add_argument("--list-faults", action="store_true", help="list the faults with their kinds and exit")
    testee.set_defaults(func=run_testee)
