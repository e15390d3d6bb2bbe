"""The ``mta-conformance lint`` command: arguments, streaming the inputs, exit status.

Kept beside the linter rather than in ``cli.py`` so everything about judging
NDR files offline has one home.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..exitcodes import ExitCode


def run_lint(args: argparse.Namespace) -> int:
    from ..findings import Profile, Severity
    from .envelope import EnvelopeError, load_envelope
    from .lint import lint_bytes
    from .output import WRITERS
    from .sources import SourceError, iter_messages

    try:
        envelope = load_envelope(args.envelope) if args.envelope else None
    except EnvelopeError as exc:
        print(f"mta-conformance lint: {exc}", file=sys.stderr)
        return ExitCode.USAGE
    profile = Profile(args.profile)
    writer = WRITERS[args.format](sys.stdout, Severity.parse(args.min_severity))
    progress = None
    if sys.stderr.isatty() and args.format == "text" and not sys.stdout.isatty() or args.progress:
        from tqdm import tqdm

        progress = tqdm(unit=" msg", file=sys.stderr, disable=False)
    try:
        for source, data in iter_messages(args.paths, mbox=args.mbox):
            writer.add(lint_bytes(data, profile=profile, source=source, envelope=envelope))
            if progress is not None:
                progress.update(1)
    except SourceError as exc:
        print(f"mta-conformance lint: {exc}", file=sys.stderr)
        return ExitCode.USAGE
    finally:
        if progress is not None:
            progress.close()
    writer.close()
    return ExitCode.NON_CONFORMANT if writer.with_errors else ExitCode.CONFORMANT


def add_lint_parser(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    lint = sub.add_parser("lint", help="judge NDR files (RFC 3464/6522/3463/5322) offline")
    lint.add_argument("paths", nargs="+", type=Path, metavar="PATH", help="message file, folder of them, or - for stdin")
    lint.add_argument("--format", choices=("text", "json", "junit"), default="text")
    lint.add_argument("--profile", choices=("anti-backscatter", "strict-rfc"), default="anti-backscatter")
    lint.add_argument("--min-severity", choices=("info", "warning", "error"), default="info")
    lint.add_argument("--mbox", action="store_true", help="the files are mbox files of many messages")
    lint.add_argument("--envelope", type=Path, metavar="FILE.json",
                      help="the original envelope (reverse_path, recipients, envid, ret): enables S+ctx checks")
    lint.add_argument("--progress", action="store_true", help="show a progress bar (default: when stderr is a "
                      "terminal and stdout is not)")
    lint.set_defaults(func=run_lint)
