"""The message a case sends after DATA: small, carrying its token, dot-stuffed."""

from __future__ import annotations

import time
from collections.abc import Callable

from ..suite.model import Step
from .sent import SentEnvelope


def message_bytes(case_id: str, token: str, step: Step, envelope: SentEnvelope, render: Callable[[str], str],
                  padding: int = 0) -> bytes:
    """The message for *step*, ended by CRLF.CRLF; *padding* octets more of body (a SIZE over-limit case).

    The token goes into the Subject, the Message-ID and the body, so an NDR that
    returns the message can be attributed to its case; a case's own headers and
    body (``data:``) replace the defaults.
    """
    headers = [
        ("From", f"<{envelope.mail_from or 'nobody@invalid'}>"),
        ("To", ", ".join(f"<{a}>" for a, _, _ in envelope.accepted()) or "undisclosed-recipients:;"),
        ("Subject", f"mta-conformance {case_id} {token}"),
        ("Date", time.strftime("%a, %d %b %Y %H:%M:%S +0000", time.gmtime())),
        ("Message-ID", f"<{token}@mta-conformance.test>"),
        ("MIME-Version", "1.0"),
        ("Content-Type", "text/plain; charset=us-ascii"),
    ]
    for name, value in step.data_headers:
        headers = [h for h in headers if h[0].lower() != name.lower()] + [(name, render(value))]
    body = render(step.data_body) if step.data_body is not None else (
        f"This message was sent by mta-conformance case {case_id}.\nToken: {token}\n")
    lines = [f"{k}: {v}" for k, v in headers] + [""] + body.splitlines()
    if padding:
        filler = "x" * 76
        lines += [filler] * (padding // 78 + 1)
    stuffed = ["." + line if line.startswith(".") else line for line in lines]
    return ("\r\n".join(stuffed) + "\r\n.\r\n").encode("utf-8")
