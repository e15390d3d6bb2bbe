"""The ``mta-conformance lint`` command: arguments, streaming the inputs, exit status.

Kept beside the linter rather than in ``cli.py`` so everything about judging
NDR files offline has one home.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..exitcodes import ExitCode
from .sources import DEFAULT_MAX_MESSAGE_SIZE, format_size, parse_size

if TYPE_CHECKING:
    from ..findings import Profile
    from .envelope import Envelope
    from .lint import LintResult
    from .sources import Trouble
    from .spooled import SpooledTransaction

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
  1   error findings, or an input too large, not a message or not an mbox, a
      folder without mail files, or a message that could not be fully judged
      (its verdict says "could not be fully judged" and why)
  4   usage error (a bad option, a missing path, a bad --envelope or --transaction
      file) or an unreadable input (4 wins over 1)

--transaction SPOOL/ID.json judges a transaction the harness spooled: ID.eml beside
it as the bytes received, and the NDR's own envelope and Date.  Without --envelope
the checks against the original transaction are not run (said once on stderr).

--dsn-advertised / --no-dsn-advertised say whether the target offered DSN in its
EHLO reply (or the envelope file's "dsn_advertised": true|false; the flag wins):
  advertised      an NDR that is not a top-level multipart/report is an MPR-001
                  error under every profile (RFC 3461 §6.2); a report nested in a
                  forwarded message stays a warning
  not advertised  MPR-001 as when unknown; the envelope's ENVID, ORCPT, NOTIFY and
                  RET are not held against the NDR (not run: DSN-FMT-007, DSN-FMT-015,
                  DSN-SEM-019, RET-001, RET-002)
  neither given   unknown: MPR-001 is an error under anti-backscatter, a warning
                  under strict-rfc, and the envelope's parameters are all checked"""


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
    """Lint every input named, write the verdicts in the chosen format, return the exit status."""
    from ..findings import Profile, Severity
    from ..report.escape import one_line
    from .envelope import EnvelopeError, load_envelope
    from .output import WRITERS, OutputClosed
    from .sources import SourceError, Trouble, check_paths
    from .spooled import SpoolError, load_transaction

    transactions = getattr(args, "transaction", None) or []
    try:
        envelope = load_envelope(args.envelope) if args.envelope else None
        check_paths(args.paths)
        spooled = [load_transaction(path) for path in transactions]
    except (EnvelopeError, SourceError, SpoolError) as exc:
        print(f"mta-conformance lint: {one_line(str(exc))}", file=sys.stderr)
        return ExitCode.USAGE
    if not args.paths and not spooled:
        print("mta-conformance lint: error: nothing to lint: name a PATH or --transaction SPOOL/ID.json",
              file=sys.stderr)
        return ExitCode.USAGE
    if spooled and envelope is None:
        print(f"mta-conformance lint: {NO_ORIGINAL}", file=sys.stderr)
    profile = Profile(args.profile)
    writer = WRITERS[args.format](sys.stdout, Severity.parse(args.min_severity))
    unreadable = no_mail = partial = False
    progress = None
    if sys.stderr.isatty() and args.format == "text" and not sys.stdout.isatty() or args.progress:
        from tqdm import tqdm

        progress = tqdm(unit=" msg", file=sys.stderr, disable=False)
    try:
        for item in _results(args, profile, envelope, spooled):
            if isinstance(item, Trouble):
                print(f"mta-conformance lint: {one_line(item.reason)}", file=sys.stderr)
                unreadable = unreadable or item.unreadable
                no_mail = no_mail or not item.unreadable
                continue
            writer.add(item)
            partial = partial or not item.fully_judged
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
    if writer.with_errors or writer.not_judged or no_mail or partial:  # 1, not 75: retrying changes nothing
        return ExitCode.NON_CONFORMANT
    return ExitCode.CONFORMANT


#: said once when spooled transactions are judged without the original envelope
NO_ORIGINAL = ("without --envelope, the checks against the original transaction are not run "
               "(NDR-ENV-002, NDR-ENV-005 and the S+ctx checks)")


def _results(args: argparse.Namespace, profile: Profile, envelope: Envelope | None,
             spooled: list[SpooledTransaction]) -> Iterator[LintResult | Trouble]:
    """A verdict per input, one at a time (files, folders, mbox messages, then spooled transactions)."""
    from .lint import LintResult, lint_bytes
    from .sources import Unread, iter_messages
    from .spooled import lint_transaction

    max_size = getattr(args, "max_message_size", DEFAULT_MAX_MESSAGE_SIZE)
    advertised: bool | None = getattr(args, "dsn_advertised", None)  # None: the envelope's key, else unknown
    for source, payload in iter_messages(args.paths, mbox=args.mbox, max_size=max_size):
        if isinstance(payload, Unread):
            yield LintResult(source, payload.kind, detail=payload.detail)
        elif isinstance(payload, bytes):
            yield lint_bytes(payload, profile=profile, source=source, envelope=envelope, dsn_advertised=advertised)
        else:
            yield payload
    for tx in spooled:
        yield lint_transaction(tx, profile=profile, original=envelope, max_size=max_size, dsn_advertised=advertised)


def add_lint_parser(sub: argparse._SubParsersAction[Any]) -> None:
    lint = sub.add_parser("lint", help="judge NDR files (RFC 3464/6522/3463/5322) offline",
                          description="Judge NDR files (RFC 3464/6522/3463/5322) offline.", epilog=EPILOG,
                          formatter_class=argparse.RawDescriptionHelpFormatter)
    lint.add_argument("paths", nargs="*", type=Path, metavar="PATH",
                      help="message file, folder of them, or - for stdin")
    lint.add_argument("--format", choices=("text", "json", "junit"), default="text")
    lint.add_argument("--profile", choices=("anti-backscatter", "strict-rfc"), default="anti-backscatter")
    lint.add_argument("--min-severity", choices=("info", "warning", "error"), default="info")
    lint.add_argument("--mbox", action="store_true", help="the files are mbox files of many messages")
    lint.add_argument("--max-message-size", type=_size, default=DEFAULT_MAX_MESSAGE_SIZE, metavar="BYTES",
                      help="the largest message read, in bytes or with K, M, G (binary: 64K, 32M); a larger one "
                      f"is \"too large\" (default {format_size(DEFAULT_MAX_MESSAGE_SIZE, short=True)})")
    lint.add_argument("--envelope", type=Path, metavar="FILE.json",
                      help="the original envelope (reverse_path, recipients, envid, ret, dsn_advertised): "
                      "enables S+ctx checks")
    lint.add_argument("--transaction", action="append", type=Path, metavar="SPOOL/ID.json",
                      help="a transaction the harness spooled: the message beside it (ID.eml) as received, and "
                      "the NDR's own envelope and Date (NDR-ENV-*, NDR-HDR-003); repeatable")
    lint.add_argument("--dsn-advertised", action=argparse.BooleanOptionalAction, default=None,
                      help="the target did (or, with --no-dsn-advertised, did not) advertise DSN in its EHLO reply: "
                      "decides MPR-001's severity and whether the envelope's DSN parameters are checked (default: "
                      "the envelope's dsn_advertised, else unknown; see below)")
    lint.add_argument("--progress", action="store_true", help="show a progress bar (default: when stderr is a "
                      "terminal and stdout is not)")
    lint.set_defaults(func=run_lint)
