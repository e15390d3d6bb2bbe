"""The ``mta-conformance testee`` command: run the reference testee standalone, list its faults."""

from __future__ import annotations

import argparse
import sys

from ..exitcodes import ExitCode


def run_testee(args: argparse.Namespace) -> int:
    from . import FAULTS, TesteeConfig, serve_forever

    if args.list_faults:
        width = max(len(name) for name in FAULTS)
        for name, description in FAULTS.items():
            print(f"{name:<{width}}  {description}")
        return ExitCode.CONFORMANT
    try:
        config = TesteeConfig(host=args.host, port=args.port, faults=frozenset(args.fault))
    except ValueError as exc:
        print(f"mta-conformance testee: {exc}", file=sys.stderr)
        return ExitCode.USAGE
    serve_forever(config)
    return ExitCode.CONFORMANT


def add_testee_parser(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    testee = sub.add_parser("testee", help="run the reference testee (a well-behaved MTA with optional faults)")
    testee.add_argument("--host", default="127.0.0.1")
    testee.add_argument("--port", type=int, default=2525)
    testee.add_argument("--fault", action="append", default=[], metavar="NAME", help="inject a fault (repeatable)")
    testee.add_argument("--list-faults", action="store_true", help="list the faults and exit")
    testee.set_defaults(func=run_testee)
