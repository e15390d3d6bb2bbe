#!/usr/bin/env python3
"""Benchmark: the linter on hostile inputs, each of which once took seconds or minutes.

Every NDR the harness captures is linted inside the run, so an input that
makes the linter backtrack or recurse lets a target stall the run.  The goal
is that no input under 1 MB takes more than :data:`GOAL` seconds.  Each input
is linted a few times and the median of the process's CPU time is printed;
an input over the goal is flagged, and the worst is named at the end.

    python bench/lint_pathological.py [--repeat 3] [--size 900000]

The tests (tests/test_lint_pathological.py) lint the same inputs and assert
their verdicts, never their times: times belong here.
"""

from __future__ import annotations

import argparse
import base64
import statistics
import sys
import time
from collections.abc import Callable

#: the budget of one input under 1 MB, in seconds
GOAL = 0.2

_HEAD = (b"Date: Mon, 23 Nov 2026 06:00:00 +0000\r\n"
         b"From: MAILER-DAEMON@mx.example.net\r\n"
         b"To: sender@example.org\r\n"
         b"Subject: Undelivered Mail Returned to Sender\r\n"
         b"Message-ID: <20261123060000.1@mx.example.net>\r\n"
         b"Auto-Submitted: auto-replied\r\n"
         b"MIME-Version: 1.0\r\n")
_TYPE = b'Content-Type: multipart/report; report-type=delivery-status; boundary="b1"\r\n'
_TEXT = b"--b1\r\nContent-Type: text/plain\r\n\r\nYour message could not be delivered.\r\n\r\n"
_RECIPIENT = (b"Final-Recipient: rfc822; nobody@example.com\r\nAction: failed\r\nStatus: 5.1.1\r\n"
              b"Diagnostic-Code: smtp; 550 5.1.1 user unknown\r\n")
_RETURNED = b"--b1\r\nContent-Type: text/rfc822-headers\r\n\r\nFrom: sender@example.org\r\n\r\n--b1--\r\n"


def dsn(*, head: bytes = b"", content_type: bytes = _TYPE, per_message: bytes = b"",
        recipients: bytes = _RECIPIENT, returned: bytes = _RETURNED) -> bytes:
    """A DSN with *head* added to its header section and the given parts: the frame of every input."""
    return (_HEAD + head + content_type + b"\r\n" + _TEXT
            + b"--b1\r\nContent-Type: message/delivery-status\r\n\r\n"
            + b"Reporting-MTA: dns; mx.example.net\r\n" + per_message + b"\r\n"
            + recipients + b"\r\n" + returned)


def _nested(depth: int) -> bytes:
    """*depth* multiparts, each inside the one before it."""
    opening = b"".join(b'--n%d\r\nContent-Type: multipart/mixed; boundary="n%d"\r\n\r\n' % (i, i + 1)
                       for i in range(depth))
    closing = b"".join(b"--n%d--\r\n" % i for i in reversed(range(depth + 1)))
    return (_HEAD + b'Content-Type: multipart/mixed; boundary="n0"\r\n\r\n' + opening
            + b"--n%d\r\nContent-Type: text/plain\r\n\r\nx\r\n" % depth + closing)


def _nested_report(depth: int) -> bytes:
    """A DSN's delivery-status part under *depth* levels of multipart/mixed (the walk must stop, not recurse)."""
    opening = b"".join(b'--n%d\r\nContent-Type: multipart/mixed; boundary="n%d"\r\n\r\n' % (i, i + 1)
                       for i in range(depth))
    closing = b"".join(b"--n%d--\r\n" % i for i in reversed(range(depth + 1)))
    return (_HEAD + b'Content-Type: multipart/mixed; boundary="n0"\r\n\r\n' + opening
            + b"--n%d\r\nContent-Type: message/delivery-status\r\n\r\n" % depth
            + b"Reporting-MTA: dns; mx.example.net\r\n\r\n" + _RECIPIENT + closing)


def _enclosed(depth: int) -> bytes:
    """*depth* message/rfc822 parts, each inside the one before it, a delivery-status at the bottom."""
    inner = b"Content-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; x\r\n\r\n" + _RECIPIENT
    for _ in range(depth):
        inner = b"Content-Type: message/rfc822\r\n\r\n" + inner
    return _HEAD + inner


def _many_parts(count: int) -> bytes:
    parts = b"--b1\r\nContent-Type: text/plain\r\n\r\nx\r\n" * count
    return dsn(returned=parts + _RETURNED)


def inputs(size: int = 100_000) -> dict[str, bytes]:
    """The hostile inputs by name, each about *size* bytes (under 1 MB)."""
    return {
        "status with spaces then x": dsn(recipients=_RECIPIENT.replace(
            b"Status: 5.1.1", b"Status: 5.1.1" + b" " * size + b"x")),
        "status with a long comment": dsn(recipients=_RECIPIENT.replace(
            b"Status: 5.1.1", b"Status: 5.1.1 (" + b"(" * size)),
        "date of open parentheses": dsn(head=b"Resent-Date: x\r\n").replace(
            b"Date: Mon, 23 Nov 2026 06:00:00 +0000", b"Date: " + b"(" * size, 1),
        "date of spaces": dsn().replace(b"Date: Mon, 23 Nov 2026 06:00:00 +0000",
                                        b"Date: Mon, 23 Nov 2026" + b" " * size + b"06:00:00 +0000", 1),
        "arrival-date of parentheses": dsn(per_message=b"Arrival-Date: " + b"(" * size + b"\r\n"),
        "content-type of quoted semicolons": dsn(content_type=_TYPE.rstrip(b"\r\n") + b'; x="'
                                                 + b";" * size + b'"\r\n'),
        "content-type of many parameters": dsn(content_type=_TYPE.rstrip(b"\r\n")
                                               + b"; a=b" * (size // 5) + b"\r\n"),
        "content-type of rfc 2231 sections": dsn(content_type=_TYPE.rstrip(b"\r\n") + b"".join(
            b"; x*%d=a" % i for i in range(size // 10)) + b"\r\n"),
        "long header line": dsn(head=b"X-Long: " + b"a" * size + b"\r\n"),
        "long folded field": dsn(head=b"X-Folded: a" + b"\r\n b" * (size // 4) + b"\r\n"),
        "many fields": dsn(head=b"X-F: v\r\n" * (size // 8)),
        "many received fields": dsn(head=b"Received: from a by b; Mon, 23 Nov 2026 06:00:00 +0000\r\n"
                                    * (size // 56)),
        "many recipient blocks": dsn(recipients=(_RECIPIENT + b"\r\n") * (size // len(_RECIPIENT))),
        "long diagnostic-code": dsn(recipients=_RECIPIENT.replace(
            b"550 5.1.1 user unknown", b"550 " + b"5.1.1 " * (size // 6))),
        "remote-mta of spaces": dsn(recipients=_RECIPIENT + b"Remote-MTA: dns;" + b" " * size + b"x\r\n"),
        "final-recipient of spaces": dsn(recipients=_RECIPIENT.replace(
            b"rfc822; nobody", b"rfc822;" + b" " * size + b"nobody")),
        "from of spaces": dsn().replace(b"From: MAILER-DAEMON@mx.example.net",
                                        b"From: " + b" " * size + b"<x", 1),
        "from of quoted strings": dsn().replace(b"From: MAILER-DAEMON@mx.example.net",
                                                b'From: ' + b'"a" ' * (size // 4) + b"x", 1),
        "from of angle brackets": dsn().replace(b"From: MAILER-DAEMON@mx.example.net", b"From: " + b"<" * size, 1),
        "subject of re: prefixes": dsn().replace(b"Subject: Undelivered", b"Subject: " + b"re " * (size // 3), 1),
        "subject re then spaces": dsn().replace(b"Subject: Undelivered", b"Subject: re" + b" " * size + b"x", 1),
        "encoded words in subject": dsn().replace(b"Subject: Undelivered",
                                                  b"Subject:" + b" =?utf-8?q?a?=" * (size // 14), 1),
        "references of many ids": dsn(head=b"References:" + b" <a@b>" * (size // 6) + b"\r\n"),
        "in-reply-to of brackets": dsn(head=b"In-Reply-To: " + b"<" * size + b"\r\n"),
        "auto-submitted of parameters": dsn(head=b"Auto-Submitted: auto-replied" + b"; a=b" * (size // 5) + b"\r\n"),
        "diagnostic-code of spaces": dsn(recipients=_RECIPIENT.replace(b"smtp; 550", b"smtp;" + b" " * size + b"550")),
        "action of spaces": dsn(recipients=_RECIPIENT.replace(b"Action: failed",
                                                              b"Action: failed" + b" " * size + b"x")),
        "many per-message fields": dsn(per_message=b"X-Field: v\r\n" * (size // 12)),
        "nested multiparts": _nested(min(size // 60, 5000)),
        "nested report": _nested_report(min(size // 60, 5000)),
        "enclosed messages": _enclosed(size // 30),
        "many parts": _many_parts(size // 40),
        "huge base64 part": dsn(returned=b"--b1\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: base64"
                                b"\r\n\r\n" + base64.encodebytes(b"x" * size) + b"--b1--\r\n"),
        "lines of white space": dsn(returned=b" \t\r\n" * (size // 4) + _RETURNED),
        "bare carriage returns": dsn(returned=b"\r" * size + _RETURNED),
        "boundary lines without end": dsn(returned=b"--b1x\r\n" * (size // 7) + _RETURNED),
    }


def cpu_seconds(run: Callable[[], object], repeat: int) -> float:
    """The median CPU time of *repeat* runs of *run*."""
    times = []
    for _ in range(repeat):
        start = time.process_time()
        run()
        times.append(time.process_time() - start)
    return statistics.median(times)


def main(argv: list[str] | None = None) -> int:
    from conformance.ndr.lint import lint_bytes

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs per input (the median is printed)")
    parser.add_argument("--size", type=int, default=900_000, help="about how many bytes each input has")
    args = parser.parse_args(argv)
    worst = ("", 0.0)
    slow = 0
    for name, raw in inputs(args.size).items():
        seconds = cpu_seconds(lambda raw=raw: lint_bytes(raw), args.repeat)
        flag = "  OVER" if seconds > GOAL else ""
        slow += bool(flag)
        print(f"{seconds:8.3f} s  {len(raw):>8} bytes  {name}{flag}")
        if seconds > worst[1]:
            worst = (name, seconds)
    print(f"worst: {worst[0]} ({worst[1]:.3f} s); {slow} over {GOAL} s")
    return 1 if slow else 0


if __name__ == "__main__":
    sys.exit(main())
