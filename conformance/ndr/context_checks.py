"""Checks that need the original envelope (S+ctx) or the raw captured bytes (C).

Without an envelope they do not run (the CLI says so); the live harness passes
both the envelope it sent and the bytes it received.  For a target that did not
advertise DSN (``dsn_params=False``) the DSN parameters of the envelope (ENVID,
ORCPT, NOTIFY, RET) are not held against the NDR: RFC 3461 binds only a server
that offered them.
"""

from __future__ import annotations

import email.utils
import re
from collections.abc import Iterator

from ..smtp.params import xtext_decode
from .dsn_fields import Block
from .envelope import Envelope, OriginalRecipient
from .hits import Hit, blocks
from .message import NDRMessage

#: how much of each To field is read for the original return path: thousands of addresses
TO_FIELD_LIMIT = 64 * 1024


def envelope_checks(ndr: NDRMessage, env: Envelope, *, dsn_params: bool = True) -> Iterator[Hit]:
    """NDR-HDR-004, DSN-SEM-014, -030 against the envelope; with *dsn_params* DSN-FMT-007, -015, DSN-SEM-019."""
    to = ndr.header("To")
    # bounded: the email package's address parser is not linear in odd input (a To of 900,000 "<" took a second)
    addresses = [a.lower() for _, a in email.utils.getaddresses([h.value[:TO_FIELD_LIMIT] for h in to[:10]])]
    if env.reverse_path and env.reverse_path.lower() not in addresses:
        yield Hit("NDR-HDR-004", f"To does not address the original return path <{env.reverse_path}>",
                  to[0].line if to else 1)
    if ndr.status is None:
        return
    for block in blocks(ndr):
        final = block.first("final-recipient")
        address = final.typed()[1].strip("<> ") if final else ""
        recipient = env.recipient(address) if address else None
        if final is not None and recipient is not None and recipient.address != address:
            yield Hit("DSN-SEM-014", f"Final-Recipient {address!r} is not the recipient as received "
                      f"({recipient.address!r}: case changed)", final.line)
        if final is not None and recipient is None:
            yield Hit("DSN-SEM-030", f"Final-Recipient {address!r} was not a recipient of the original transaction",
                      final.line, "wrong-recipient")
        if dsn_params:
            yield from _parameter_hits(block, recipient)
    yield from _envid_hits(ndr, env, dsn_params=dsn_params)


def _envid_hits(ndr: NDRMessage, env: Envelope, *, dsn_params: bool) -> Iterator[Hit]:
    """DSN-FMT-007: Original-Envelope-Id exactly when MAIL had ENVID, as its decoded value.

    An Original-Envelope-Id the MAIL never gave is wrong whether or not the
    target offered DSN (RFC 3464 §2.2.1 is about the report, not the
    extension; Haraka writes the Message-ID there); only the echo of an ENVID
    needs a target that offered DSN (*dsn_params*).
    """
    assert ndr.status is not None
    original_id = ndr.status.per_message.first("original-envelope-id")
    if env.envid is None and original_id is not None:
        yield Hit("DSN-FMT-007", f"Original-Envelope-Id {original_id.value!r} present although the original MAIL "
                  "had no ENVID", original_id.line)
    elif env.envid is not None and dsn_params:
        wanted = xtext_decode(env.envid)
        if original_id is None:
            yield Hit("DSN-FMT-007", f"no Original-Envelope-Id although MAIL had ENVID={env.envid}",
                      ndr.status.per_message.line)
        elif original_id.value != wanted:
            yield Hit("DSN-FMT-007", f"Original-Envelope-Id {original_id.value!r} is not the xtext-decoded ENVID "
                      f"{wanted!r}", original_id.line)


def _parameter_hits(block: Block, recipient: OriginalRecipient | None) -> Iterator[Hit]:
    """DSN-FMT-015, DSN-SEM-019: one recipient block against its ORCPT and NOTIFY."""
    original = block.first("original-recipient")
    if recipient is not None and recipient.orcpt:
        if original is None:
            yield Hit("DSN-FMT-015", f"ORCPT={recipient.orcpt} was given but Original-Recipient is missing",
                      block.line, "missing-or-altered")
        else:
            kind, value = original.typed()
            o_kind, _, o_value = recipient.orcpt.partition(";")
            if (kind or "").lower() != o_kind.lower() or value not in (o_value, xtext_decode(o_value)):
                yield Hit("DSN-FMT-015", f"Original-Recipient {original.value!r} is not ORCPT {recipient.orcpt!r}",
                          original.line, "missing-or-altered")
    elif original is not None and recipient is not None:
        yield Hit("DSN-FMT-015", "Original-Recipient without an ORCPT parameter", original.line, "without-orcpt")
    action = block.first("action")
    if action is not None and recipient is not None and action.bare.lower() == "relayed" \
            and "SUCCESS" not in recipient.notify_keywords:
        yield Hit("DSN-SEM-019", "Action relayed although no success notification was requested", action.line)


def wire_checks(raw: bytes) -> Iterator[Hit]:
    """C checks on the bytes as transmitted (NDR-HDR-014)."""
    bare = re.search(rb"(?<!\r)\n|\r(?!\n)", raw)
    if bare:
        line = raw.count(b"\n", 0, bare.start()) + 1
        yield Hit("NDR-HDR-014", "a bare CR or LF: the transmitted NDR must use CRLF line endings", line)


def returned_content_checks(ndr: NDRMessage, env: Envelope, *, dsn_params: bool = True) -> Iterator[Hit]:
    """RET-001/002/003: what came back against what RET asked for (RFC 3461 §4.3, §6.2).

    A body counts as returned whatever the part is labelled: a
    text/rfc822-headers part that goes on past the header's blank line carries
    the body too (the label is RET-005's finding, the body these rows').
    Without *dsn_params* RET was never offered, so RET-001 and -002 do not run.
    """
    if len(ndr.parts) < 3 or ndr.status is None:
        return
    third = ndr.parts[2]
    found = _BODY_AFTER_HEADER.search(third.decoded_body().strip(b"\r\n")) \
        if third.content_type in _RETURNED else None
    has_body = found is not None
    label = "" if third.content_type in _WHOLE else f" in a part labelled {third.content_type}"
    if found is not None:
        first = re.split(rb"\r\n|\n|\r", found.string[found.end() - 1:found.end() + 200], maxsplit=1)[0][:60]
        label += f", starting {first.decode('utf-8', 'replace')!r}"
    failures = {(f.bare.lower()) for b in blocks(ndr) for f in b.get("action")} & {"failed"}
    ret = (env.ret or "").upper() if dsn_params else ""
    if ret == "HDRS" and has_body:
        yield Hit("RET-002", f"RET=HDRS asked for the header only, but the message body came back too{label}",
                  third.line, "body-returned")
    if ret == "FULL" and failures and not has_body:
        yield Hit("RET-001", "RET=FULL asked for the whole message, but only its header came back", third.line)
    if not failures and has_body:
        yield Hit("RET-003", f"a DSN without failures returns the message body{label}; it should return the "
                  "header only", third.line)


#: parts that return a whole message; with the header-only ones, every part that may return content
_WHOLE = ("message/rfc822", "message/global")
_RETURNED = (*_WHOLE, "text/rfc822-headers", "message/global-headers")
#: a blank line followed by more text: the header section is over and a body follows
#: (a CRLF is one line end, never a CR and an LF: that would make every header line end a blank line)
_BODY_AFTER_HEADER = re.compile(rb"(?:\r?\n|\r(?!\n))(?:\r?\n|\r(?!\n))\S")
