"""The ``mta-conformance lint`` command: arguments, streaming the inputs, exit status.

Kept beside the linter rather than in ``cli.py`` so everything about judging
NDR files offline has one home.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from ..exitcodes import ExitCode
from .sources import DEFAULT_MAX_MESSAGE_SIZE, format_size, parse_size

EPILOG = f"""\
Every input gets a verdict line: a kind of DSN, a non-DSN bounce or delay notice,
a feedback report, read receipt, auto-reply, "not a bounce", or one of
  too large      over --max-message-size (default {format_size(DEFAULT_MAX_MESSAGE_SIZE, short=True)}); not read further
                 (with --mbox: skipped to the next message)
  not a message  the first non-empty line is not a header field or a "From " line
  not an mbox    (--mbox) no "From " line in the first --max-message-size bytes
A folder lints its mail files only: *.eml, *.mbox, maildir cur/ and new/ entries, and
files that start like a message; a file named here is always linted.

exit status:
  0   no error finding
  1   error findings, or an input too large, not a message or not an mbox, or a
      folder without mail files
  4   usage error (a bad option, a missing path, a bad --envelope file) or an
      unreadable input (4 wins over 1)"""


def _size(text: str) -> int:
    try:
        return parse_size(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _silence_stdout() -> None:
    """The reader of stdout went away: what is still buffered goes nowhere, quietly."""
    try:
        fd = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, fd)
    finally:
        os.close(devnull)


def run_lint(args: argparse.Namespace) -> int:
    from ..findings import Profile, Severity
    from .envelope import EnvelopeError, load_envelope
    from .lint import LintResult, lint_bytes
    from .output import WRITERS, OutputClosed
    from .sources import SourceError, Trouble, Unread, check_paths, iter_messages

    try:
        envelope = load_envelope(args.envelope) if args.envelope else None
        check_paths(args.paths)
    except (EnvelopeError, SourceError) as exc:
        print(f"mta-conformance lint: {exc}", file=sys.stderr)
        return ExitCode.USAGE
    profile = Profile(args.profile)
    max_size = getattr(args, "max_message_size", DEFAULT_MAX_MESSAGE_SIZE)
    writer = WRITERS[args.format](sys.stdout, Severity.parse(args.min_severity))
    unreadable = no_mail = False
    progress = None
    if sys.stderr.isatty() and args.format == "text" and not sys.stdout.isatty() or args.progress:
        from tqdm import tqdm

        progress = tqdm(unit=" msg", file=sys.stderr, disable=False)
    try:
        for source, payload in iter_messages(args.paths, mbox=args.mbox, max_size=max_size):
            if isinstance(payload, Trouble):
                print(f"mta-conformance lint: {payload.reason}", file=sys.stderr)
                unreadable = unreadable or payload.unreadable
                no_mail = no_mail or not payload.unreadable
                continue
            if isinstance(payload, Unread):
                writer.add(LintResult(source, payload.kind, detail=payload.detail))
            else:
                writer.add(lint_bytes(payload, profile=profile, source=source, envelope=envelope))
            if progress is not None:
                progress.update(1)
        writer.close()
    except OutputClosed:
        writer.close()  # only lets go of what it holds
        _silence_stdout()  # ends quietly, the status says what was judged before
    finally:
        if progress is not None:
            progress.close()
    if unreadable:
        return ExitCode.USAGE
    if writer.with_errors or writer.not_judged or no_mail:
        return ExitCode.NON_CONFORMANT
    return ExitCode.CONFORMANT


def add_lint_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    lint = sub.add_parser("lint", help="judge NDR files (RFC 3464/6522/3463/5322) offline",
                          description="Judge NDR files (RFC 3464/6522/3463/5322) offline.", epilog=EPILOG,
                          formatter_class=argparse.RawDescriptionHelpFormatter)
    lint.add_argument("paths", nargs="+", type=Path, metavar="PATH", help="message file, folder of them, or - for stdin")
    lint.add_argument("--format", choices=("text", "json", "junit"), default="text")
    lint.add_argument("--profile", choices=("anti-backscatter", "strict-rfc"), default="anti-backscatter")
    lint.add_argument("--min-severity", choices=("info", "warning", "error"), default="info")
    lint.add_argument("--mbox", action="store_true", help="the files are mbox files of many messages")
    lint.add_argument("--max-message-size", type=_size, default=DEFAULT_MAX_MESSAGE_SIZE, metavar="BYTES",
                      help="the largest message read, in bytes or with K, M, G (binary: 64K, 32M); a larger one "
                      f"is \"too large\" (default {format_size(DEFAULT_MAX_MESSAGE_SIZE, short=True)})")
    lint.add_argument("--envelope", type=Path, metavar="FILE.json",
                      help="the original envelope (reverse_path, recipients, envid, ret): enables S+ctx checks")
    lint.add_argument("--progress", action="store_true", help="show a progress bar (default: when stderr is a "
                      "terminal and stdout is not)")
    lint.set_defaults(func=run_lint)
